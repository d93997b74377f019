// Package sqlite is LitEngine's embedded store: SQLite through a pure-Go driver,
// so that the engine runs with no setup and no cgo.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/litengine/litengine"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tune the store. The zero value is usable.
type Options struct {
	// Policies are the circulation rules: due dates, limits and late fees
	// (default litengine.DefaultPolicies()).
	Policies *litengine.Policies
	// Now is the clock, injected so that tests can set it (default time.Now).
	Now func() time.Time
	// Synchronous is SQLite's synchronous pragma: "full" (default) makes every
	// commit durable through a power loss; "normal" is faster and in WAL mode
	// loses at most the last commits on power loss, never on a process crash.
	Synchronous string
	// ReadConns caps the read connections (default 2 x CPUs, at least 4).
	ReadConns int
}

// DB is the SQLite store. Writes go through one connection, so they are
// serialised in the process and never meet "database is locked"; reads use a
// pool of their own and, thanks to WAL, never wait for writers.
type DB struct {
	writer   *sql.DB
	reader   *sql.DB
	policies *litengine.Policies
	now      func() time.Time

	// Parsing SQL costs more than running these small statements, so each
	// is prepared once per pool and reused. A write statement first seen
	// inside a transaction is prepared after it: the writer's only
	// connection is busy until then.
	mu      sync.Mutex
	stmts   map[stmtKey]*sql.Stmt
	pending map[string]bool
}

type stmtKey struct {
	pool  *sql.DB
	query string
}

var _ litengine.Store = (*DB)(nil)

// Open opens (creating if needed) the database file at path and applies the
// migrations.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: database path %q must not contain '?' or '#'", path)
	}
	sync := strings.ToLower(opts.Synchronous)
	switch sync {
	case "":
		sync = "full"
	case "full", "normal":
	default:
		return nil, fmt.Errorf("sqlite: synchronous must be full or normal, not %q", opts.Synchronous)
	}
	db := &DB{policies: opts.Policies, now: opts.Now, stmts: make(map[stmtKey]*sql.Stmt), pending: make(map[string]bool)}
	if db.policies == nil {
		db.policies = litengine.DefaultPolicies()
	}
	if db.now == nil {
		db.now = time.Now
	}

	pragmas := url.Values{}
	pragmas.Add("_pragma", "busy_timeout(10000)") // another process (an import) may hold the write lock for a while
	pragmas.Add("_pragma", "journal_mode(WAL)")   // readers never block the writer nor the writer the readers
	pragmas.Add("_pragma", "synchronous("+sync+")")
	pragmas.Add("_pragma", "foreign_keys(ON)")
	// BEGIN IMMEDIATE takes the write lock at the start of a write transaction,
	// so a transaction never fails half-way when upgrading a read lock.
	pragmas.Add("_txlock", "immediate")
	var err error
	if db.writer, err = sql.Open("sqlite", "file:"+path+"?"+pragmas.Encode()); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	db.writer.SetMaxOpenConns(1)
	db.writer.SetMaxIdleConns(1)
	db.writer.SetConnMaxLifetime(0)
	db.writer.SetConnMaxIdleTime(0)

	// Migrations run before the read pool opens, so its connections see the schema.
	if err := migrate(ctx, db.writer); err != nil {
		db.writer.Close()
		return nil, err
	}

	pragmas.Set("_txlock", "deferred")
	pragmas.Add("_pragma", "query_only(ON)")
	if db.reader, err = sql.Open("sqlite", "file:"+path+"?"+pragmas.Encode()); err != nil {
		db.writer.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	n := opts.ReadConns
	if n <= 0 {
		n = max(4, 2*runtime.NumCPU())
	}
	db.reader.SetMaxOpenConns(n)
	db.reader.SetMaxIdleConns(n)
	var other string
	err = db.reader.QueryRowContext(ctx, `SELECT currency FROM fees WHERE currency <> ? LIMIT 1`, db.policies.Currency).Scan(&other)
	if err == nil {
		err = litengine.CurrencyMismatch(other, db.policies.Currency)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		db.Close()
		return nil, err
	}
	return db, nil
}

func provider(db *sql.DB) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectSQLite3, db, sub, goose.WithDisableGlobalRegistry(true))
}

func migrate(ctx context.Context, db *sql.DB) error {
	p, err := provider(db)
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	// Several processes may open a new file at once. Each migration runs in
	// its own IMMEDIATE transaction, but a process may read the schema version
	// before another commits the same migration and then fail on it; a second
	// look finds the migration applied.
	for attempt := 1; ; attempt++ {
		_, err = p.Up(ctx)
		if err == nil || attempt == 3 {
			break
		}
		time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// Close closes both connection pools.
func (db *DB) Close() error {
	db.mu.Lock()
	for _, st := range db.stmts {
		st.Close()
	}
	db.mu.Unlock()
	return errors.Join(db.reader.Close(), db.writer.Close())
}

// prepared returns the statement for query on pool, preparing it on first
// use. It must not be called for the writer while holding its connection.
func (db *DB) prepared(ctx context.Context, pool *sql.DB, query string) (*sql.Stmt, error) {
	key := stmtKey{pool, query}
	db.mu.Lock()
	st, ok := db.stmts[key]
	db.mu.Unlock()
	if ok {
		return st, nil
	}
	// Prepared without holding the lock: preparing may wait for a connection.
	st, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if existing, ok := db.stmts[key]; ok {
		st.Close()
		return existing, nil
	}
	db.stmts[key] = st
	return st, nil
}

// txStmt returns query prepared for use inside tx, a write transaction, or
// nil when it is not prepared yet; it will be once the transaction ends.
func (db *DB) txStmt(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	db.mu.Lock()
	defer db.mu.Unlock()
	if st, ok := db.stmts[stmtKey{db.writer, query}]; ok {
		return tx.StmtContext(ctx, st)
	}
	db.pending[query] = true
	return nil
}

// preparePending prepares the write statements first seen in transactions.
func (db *DB) preparePending(ctx context.Context) {
	db.mu.Lock()
	queries := make([]string, 0, len(db.pending))
	for q := range db.pending {
		queries = append(queries, q)
	}
	clear(db.pending)
	db.mu.Unlock()
	for _, q := range queries {
		_, _ = db.prepared(context.WithoutCancel(ctx), db.writer, q)
	}
}

// exec runs a prepared statement in tx.
func (db *DB) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := db.txStmt(ctx, tx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// query runs a prepared query in tx.
func (db *DB) query(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if st := db.txStmt(ctx, tx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, query, args...)
}

// queryRow runs a prepared single-row query in tx.
func (db *DB) queryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st := db.txStmt(ctx, tx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

// read runs a prepared query on the read pool.
func (db *DB) read(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := db.prepared(ctx, db.reader, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// readRow runs a prepared single-row query on the read pool.
func (db *DB) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := db.prepared(ctx, db.reader, query)
	if err != nil {
		return db.reader.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return db.reader.PingContext(ctx)
}

// write runs fn in one write transaction stamped with the current time, and
// commits only if fn succeeds: a failed batch leaves no trace.
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx, now time.Time) error) error {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return classify(err)
	}
	defer db.preparePending(ctx)
	defer tx.Rollback()
	if err := fn(tx, db.clock()); err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // the request was cancelled or timed out; database/sql rolled back
		}
		return classify(err)
	}
	if err := tx.Commit(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return classify(err)
	}
	return nil
}

// clock returns the current time in UTC, truncated to the stored precision.
func (db *DB) clock() time.Time {
	return db.now().UTC().Truncate(time.Second)
}

// classify turns driver errors a client can act on into domain errors, by
// their SQLite result code.
func classify(err error) error {
	var se *sqlite.Error
	if err == nil || !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_BUSY_SNAPSHOT, sqlite3.SQLITE_BUSY_TIMEOUT:
		return &litengine.Error{Code: litengine.EUNAVAILABLE, Message: "The database is busy; retry shortly."}
	}
	return err
}

// isConstraint reports whether err is a violation of the given constraint kind
// (sqlite3.SQLITE_CONSTRAINT_UNIQUE, ...).
func isConstraint(err error, code int) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == code
}

func unix(t time.Time) int64 { return t.Unix() }

func fromUnix(s int64) time.Time { return time.Unix(s, 0).UTC() }

// PoolStats describe the read pool and the single writer connection.
func (db *DB) PoolStats() litengine.PoolStats {
	r, w := db.reader.Stats(), db.writer.Stats()
	return litengine.PoolStats{
		MaxConns:     int64(r.MaxOpenConnections + w.MaxOpenConnections),
		OpenConns:    int64(r.OpenConnections + w.OpenConnections),
		InUseConns:   int64(r.InUse + w.InUse),
		IdleConns:    int64(r.Idle + w.Idle),
		WaitCount:    r.WaitCount + w.WaitCount,
		WaitDuration: r.WaitDuration + w.WaitDuration,
	}
}
