// Package postgres is LitEngine's server store: PostgreSQL through pgx and its
// connection pool, for several engines sharing one database.
//
// Every batch is one transaction that locks the rows it needs in one fixed
// order, reads the facts under those locks, judges them in Go with the
// domain's rules and applies them only when all of the request holds: two
// round trips, BEGIN travelling with the locks and reads, COMMIT with the
// writes (see loan.go). Simple changes are one statement or one pipeline.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/litengine/litengine"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tune the store. The zero value is usable.
type Options struct {
	// Policies are the library's circulation rules: due dates, renewals, the
	// loan limit, late fees (default litengine.DefaultPolicies()).
	Policies *litengine.Policies
	// Now is the clock, injected so that tests can set it (default time.Now).
	Now func() time.Time
	// MaxConns and MinConns size the connection pool (defaults: max(4, 4 x CPUs) and 0).
	MaxConns, MinConns int32
	// MaxConnLifetime and MaxConnIdleTime recycle connections (defaults 1h and 30m).
	MaxConnLifetime, MaxConnIdleTime time.Duration
	// AcquireTimeout is how long a request waits for a pooled connection
	// (default 5s); then it fails with litengine.EUNAVAILABLE, so that an
	// overloaded engine sheds load instead of queueing without end.
	AcquireTimeout time.Duration
	// MaxRetries caps the transparent retries of a request that lost a
	// serialization conflict or a deadlock (default 5).
	MaxRetries int
}

// DB is the PostgreSQL store.
type DB struct {
	pool           *pgxpool.Pool
	policies       *litengine.Policies
	now            func() time.Time
	acquireTimeout time.Duration
	maxRetries     int
	retries        atomic.Int64
}

var (
	_ litengine.Store         = (*DB)(nil)
	_ litengine.StatsReporter = (*DB)(nil)
)

// Open connects to the database at dsn (a postgres:// URL or a key=value
// string), applies the migrations and returns the store.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	cfg.MaxConns = opts.MaxConns
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = int32(max(4, 4*runtime.NumCPU()))
	}
	cfg.MinConns = min(max(opts.MinConns, 0), cfg.MaxConns)
	cfg.MaxConnLifetime = cmpOr(opts.MaxConnLifetime, time.Hour)
	cfg.MaxConnIdleTime = cmpOr(opts.MaxConnIdleTime, 30*time.Minute)

	db := &DB{
		policies:       opts.Policies,
		now:            opts.Now,
		acquireTimeout: cmpOr(opts.AcquireTimeout, 5*time.Second),
		maxRetries:     opts.MaxRetries,
	}
	if db.now == nil {
		db.now = time.Now
	}
	if db.policies == nil {
		db.policies = litengine.DefaultPolicies()
	}
	if db.maxRetries <= 0 {
		db.maxRetries = 5
	}

	// Migrations run before the pool opens, so that no pooled connection has
	// prepared a statement against an older schema.
	if err := migrate(ctx, cfg.ConnConfig.Copy()); err != nil {
		return nil, err
	}
	if db.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	var other string
	err = db.pool.QueryRow(ctx, `SELECT currency FROM fees WHERE currency <> $1 LIMIT 1`, db.policies.Currency).Scan(&other)
	if err == nil {
		err = litengine.CurrencyMismatch(other, db.policies.Currency)
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		db.pool.Close()
		return nil, err
	}
	return db, nil
}

func cmpOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// migrate applies the embedded migrations through goose. The session locker
// holds a PostgreSQL advisory lock while goose reads the version table and
// migrates, so engines that start together apply each migration exactly once:
// the others wait, then find nothing left to do.
func migrate(ctx context.Context, cfg *pgx.ConnConfig) error {
	sqlDB := stdlib.OpenDB(*cfg)
	defer sqlDB.Close()
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	// Poll for the lock every second (goose's default is every 5s) for at most 5 minutes.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, sub,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// Close closes the connection pool, waiting for connections in use.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping checks that the database answers, with a connection from the pool, so
// that readiness also fails while the pool is exhausted.
func (db *DB) Ping(ctx context.Context) error {
	conn, err := db.acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	return classify(conn.Ping(ctx))
}

// Stat returns the pool's statistics, for metrics.
func (db *DB) Stat() *pgxpool.Stat { return db.pool.Stat() }

// PoolStats describes the pool for monitoring (litengine.StatsReporter).
func (db *DB) PoolStats() litengine.PoolStats {
	s := db.pool.Stat()
	return litengine.PoolStats{
		MaxConns:     int64(s.MaxConns()),
		OpenConns:    int64(s.TotalConns()),
		InUseConns:   int64(s.AcquiredConns()),
		IdleConns:    int64(s.IdleConns()),
		WaitCount:    s.EmptyAcquireCount(),
		WaitDuration: s.EmptyAcquireWaitTime(),
		TxRetries:    db.Retries(),
	}
}

// Retries returns how many times a request was retried after a serialization
// failure, a deadlock or a dead pooled connection since the store opened.
func (db *DB) Retries() int64 { return db.retries.Load() }

// acquire takes a connection from the pool, waiting at most acquireTimeout.
func (db *DB) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	actx, cancel := context.WithTimeout(ctx, db.acquireTimeout)
	defer cancel()
	conn, err := db.pool.Acquire(actx)
	if err != nil {
		if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
			return nil, &litengine.Error{Code: litengine.EUNAVAILABLE,
				Message: "Every database connection is busy; retry shortly."}
		}
		return nil, classify(err)
	}
	return conn, nil
}

// run calls fn with a pooled connection and the current time, and calls it
// again, after a short jittered pause, when PostgreSQL aborted it for a
// serialization failure or a deadlock: fn must change nothing unless it
// succeeds, which every statement, pipeline and transaction guarantees.
//
// When the connection dies, what fn did is unknown unless nothing reached
// PostgreSQL (pgconn.SafeToRetry) or fn says that its transaction had not
// sent COMMIT yet (uncommitted): then PostgreSQL rolled it back and run tries
// again on a fresh connection. Otherwise the request may have committed, and
// run answers lostInFlight instead of repeating a change blindly. An
// *litengine.Error from fn is a decision taken before anything was written
// (a refusal), so it is the answer even if the connection died afterwards,
// while rolling back.
func (db *DB) run(ctx context.Context, fn func(conn *pgxpool.Conn, now time.Time) error) error {
	for attempt := 0; ; attempt++ {
		conn, err := db.acquire(ctx)
		if err != nil {
			return err
		}
		err = fn(conn, db.clock())
		// A connection that died is destroyed by Release; the next attempt
		// takes a fresh one.
		lost := err != nil && conn.Conn().IsClosed()
		conn.Release()
		if err == nil {
			return nil
		}
		var decided *litengine.Error
		if errors.As(err, &decided) {
			return err
		}
		var unc *uncommittedError
		rolledBack := pgconn.SafeToRetry(err) || errors.As(err, &unc)
		if attempt >= db.maxRetries || !(retryable(err) || lost && rolledBack) {
			switch {
			case lost && !rolledBack:
				return lostInFlight()
			case lost:
				return unavailable()
			}
			return classify(err)
		}
		db.retries.Add(1)
		// Exponential from 1ms, capped at 64ms, with full jitter, so that the
		// transactions that collided do not collide again.
		pause := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 6)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

// uncommittedError wraps an error met inside an explicit transaction before
// its COMMIT was sent: whatever became of the connection, PostgreSQL rolled
// the transaction back, so the request may be tried again.
type uncommittedError struct{ err error }

func (e *uncommittedError) Error() string { return e.err.Error() }
func (e *uncommittedError) Unwrap() error { return e.err }

// uncommitted marks err as met before COMMIT was sent (see run); nil stays nil.
func uncommitted(err error) error {
	if err == nil {
		return nil
	}
	return &uncommittedError{err}
}

// Explicit transactions travel in two round trips: BEGIN at the head of the
// first batch, which takes the locks and reads the facts, and COMMIT at the
// tail of the second, which writes. A request that is refused, or fails,
// ends with endTx's ROLLBACK instead.
//
//	defer endTx(ctx, conn)
//	results := conn.SendBatch(ctx, readBatch) // BEGIN; locks; reads
//	… read, judge in Go, return uncommitted(err) on a failure …
//	return commitBatch(ctx, conn, writeBatch) // writes; COMMIT

// beginBatch returns a batch whose first statement is BEGIN; skip its result
// with the first results.Exec().
func beginBatch() *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	return b
}

// commitBatch sends b, whose statements must all be writes that change
// nothing unless they succeed, followed by COMMIT, and reads the results. An
// error here may come after PostgreSQL committed, so it is never marked
// uncommitted (run answers lostInFlight if the connection died).
func commitBatch(ctx context.Context, conn *pgxpool.Conn, b *pgx.Batch) error {
	writes := b.Len()
	b.Queue(`COMMIT`)
	results := conn.SendBatch(ctx, b)
	defer results.Close()
	for range writes {
		if _, err := results.Exec(); err != nil {
			return err
		}
	}
	tag, err := results.Exec()
	if err != nil {
		return err
	}
	if err := results.Close(); err != nil {
		return err
	}
	// COMMIT of a failed transaction answers ROLLBACK, without an error.
	if tag.String() != "COMMIT" {
		return fmt.Errorf("postgres: COMMIT answered %q", tag)
	}
	return nil
}

// endTx rolls back the transaction conn is still in, if any: after a
// refusal, an error, or a commit batch that failed. The pool destroys a
// connection released inside a transaction; this keeps it for reuse. If the
// ROLLBACK fails, the pool destroys the connection, and PostgreSQL rolls back
// the transaction of a session that ended.
func endTx(ctx context.Context, conn *pgxpool.Conn) {
	if pc := conn.Conn().PgConn(); !pc.IsClosed() && pc.TxStatus() != 'I' {
		_, _ = conn.Exec(ctx, `ROLLBACK`)
	}
}

// lostInFlight is the answer when the connection died after the request
// was sent: PostgreSQL may or may not have committed it, and the client must
// look before it retries a change.
func lostInFlight() error {
	return &litengine.Error{Code: litengine.EUNKNOWN, Message: "The connection to the database was lost " +
		"while the request was in flight: a change may or may not have been applied. Check before retrying it."}
}

// clock returns the current time in UTC, truncated to the stored precision.
func (db *DB) clock() time.Time {
	return db.now().UTC().Truncate(time.Second)
}

// SQLSTATE codes the store acts on.
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeTooManyConnections   = "53300"
	codeAdminShutdown        = "57P01"
	codeCrashShutdown        = "57P02"
	codeCannotConnectNow     = "57P03"
)

// errRetry asks run for another attempt when a statement lost a race that a
// fresh attempt resolves (see ImportBooks and CreateBook).
var errRetry = errors.New("postgres: lost a race; retry")

func retryable(err error) bool {
	// SafeToRetry: the connection failed before anything was sent, so the
	// request did not reach PostgreSQL (a pooled connection that had died).
	if errors.Is(err, errRetry) || pgconn.SafeToRetry(err) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == codeSerializationFailure || pe.Code == codeDeadlockDetected)
}

// classify turns driver errors a client can act on into domain errors, by
// their SQLSTATE code: an unreachable, restarting or saturated server is
// unavailable (retry later); anything else stays internal.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var (
		pe *pgconn.PgError
		ce *pgconn.ConnectError
	)
	switch {
	case errors.As(err, &pe):
		switch {
		case pe.Code == codeTooManyConnections, pe.Code == codeAdminShutdown, pe.Code == codeCrashShutdown,
			pe.Code == codeCannotConnectNow, strings.HasPrefix(pe.Code, "08"): // 08: connection exceptions
			return unavailable()
		case pe.Code == codeSerializationFailure, pe.Code == codeDeadlockDetected:
			// Still failing after every retry: contention, not a bug.
			return unavailable()
		}
	case errors.As(err, &ce), errors.Is(err, errRetry):
		return unavailable()
	}
	return err
}

func unavailable() error {
	return &litengine.Error{Code: litengine.EUNAVAILABLE, Message: "The database is unavailable or busy; retry shortly."}
}

// isUnique reports whether err violates the named unique constraint.
func isUnique(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == codeUniqueViolation && pe.ConstraintName == constraint
}
