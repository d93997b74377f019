package postgres

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/litengine/litengine"
)

func openTest(t *testing.T, opts Options) (*DB, string) {
	t.Helper()
	dsn := NewTestSchema(t)
	db, err := Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dsn
}

func TestOptionDefaults(t *testing.T) {
	db, _ := openTest(t, Options{})
	cfg := db.pool.Config()
	if want := int32(max(4, 4*runtime.NumCPU())); cfg.MaxConns != want || db.Stat().MaxConns() != want {
		t.Errorf("MaxConns %d, want %d", cfg.MaxConns, want)
	}
	if s := db.PoolStats(); s.MaxConns != int64(cfg.MaxConns) || s.TxRetries != 0 {
		t.Errorf("PoolStats %+v", s)
	}
	if cfg.MinConns != 0 || cfg.MaxConnLifetime != time.Hour || cfg.MaxConnIdleTime != 30*time.Minute {
		t.Errorf("pool config %+v", cfg)
	}
	if db.acquireTimeout != 5*time.Second || db.maxRetries != 5 || db.policies == nil ||
		!reflect.DeepEqual(db.policies, litengine.DefaultPolicies()) {
		t.Errorf("store config: acquire %v, retries %d, policies %+v", db.acquireTimeout, db.maxRetries, db.policies)
	}
}

// TestAcquireTimeout holds the only pooled connection: a request must give up
// with unavailable after about AcquireTimeout instead of hanging, and work
// again once the connection is back.
func TestAcquireTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	db, _ := openTest(t, Options{MaxConns: 1, AcquireTimeout: timeout})
	ctx := context.Background()
	held, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = db.Borrow(ctx, 1, []int64{1})
	elapsed := time.Since(start)
	if code := litengine.ErrorCode(err); code != litengine.EUNAVAILABLE {
		t.Fatalf("borrow with no free connection: %v, want code %s", err, litengine.EUNAVAILABLE)
	}
	if elapsed < timeout-50*time.Millisecond || elapsed > timeout+time.Second {
		t.Fatalf("gave up after %v, want about %v", elapsed, timeout)
	}
	if code := litengine.ErrorCode(db.Ping(ctx)); code != litengine.EUNAVAILABLE {
		t.Fatalf("ping with no free connection: code %q, want %s", code, litengine.EUNAVAILABLE)
	}
	held.Release()
	_, err = db.Borrow(ctx, 1, []int64{1})
	if code := litengine.ErrorCode(err); code != litengine.ENOTFOUND {
		t.Fatalf("borrow after release: %v, want code %s", err, litengine.ENOTFOUND)
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestDeadlockIsRetried builds a real deadlock between a borrow and another
// session: the borrow, the first to wait, is PostgreSQL's victim; it must be
// retried transparently and succeed.
func TestDeadlockIsRetried(t *testing.T) {
	db, dsn := openTest(t, Options{})
	ctx := context.Background()
	u, err := db.CreateUser(ctx, &litengine.UserCreate{Name: "Reader"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.CreateBook(ctx, &litengine.BookCreate{Title: "A", TotalQty: 2})
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.CreateBook(ctx, &litengine.BookCreate{Title: "B", TotalQty: 2})
	if err != nil {
		t.Fatal(err)
	}

	other, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	// Make sure the borrow, not this session, is the one PostgreSQL aborts
	// (needs a superuser; by default the first waiter is checked first anyway).
	_, _ = other.Exec(ctx, `SET deadlock_timeout = '10s'`)
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `UPDATE books SET updated_at = updated_at WHERE id = $1`, b.ID); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := db.Borrow(ctx, u.ID, []int64{b.ID, a.ID}) // locks a, then waits for b
		done <- err
	}()
	waitBlocked(t, dsn, other.PgConn().PID())
	// Now wait for a, which the borrow holds: a cycle.
	if _, err := tx.Exec(ctx, `UPDATE books SET updated_at = updated_at WHERE id = $1`, a.ID); err != nil {
		t.Fatalf("the other session lost the deadlock: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("borrow: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("borrow did not finish")
	}
	if db.Retries() < 1 || db.PoolStats().TxRetries != db.Retries() {
		t.Fatalf("Retries() = %d, PoolStats().TxRetries = %d; want the same, at least 1", db.Retries(), db.PoolStats().TxRetries)
	}
	for _, id := range []int64{a.ID, b.ID} {
		if book, err := db.FindBookByID(ctx, id); err != nil || book.OnLoan != 1 {
			t.Fatalf("book %d after the borrow: %+v, %v", id, book, err)
		}
	}
}

// waitBlocked waits until some session waits for a lock held by pid.
func waitBlocked(t *testing.T, dsn string, pid uint32) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var blocked bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid)))`,
			int32(pid)).Scan(&blocked); err != nil {
			t.Fatal(err)
		}
		if blocked {
			return
		}
	}
	t.Fatal("no session ever waited for the lock")
}

// TestOverlappingBatchesDoNotDeadlock: 64 clients borrow and return
// overlapping batches in opposite orders. Fixed lock order means PostgreSQL
// never even has to break a deadlock: no error but conflicts, and no retry.
func TestOverlappingBatchesDoNotDeadlock(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := context.Background()
	var books []int64
	for i := range 6 {
		b, err := db.CreateBook(ctx, &litengine.BookCreate{Title: fmt.Sprintf("B%d", i), TotalQty: 8})
		if err != nil {
			t.Fatal(err)
		}
		books = append(books, b.ID)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	lent := 0
	deadline := time.Now().Add(2 * time.Second)
	for c := range 64 {
		u, err := db.CreateUser(ctx, &litengine.UserCreate{Name: fmt.Sprintf("C%d", c)})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for time.Now().Before(deadline) {
				batch := []int64{books[c%3], books[c%3+1], books[c%3+2], books[c%3+3]}
				if c%2 == 1 {
					batch = []int64{batch[3], batch[2], batch[1], batch[0]}
				}
				loans, err := db.Borrow(ctx, u.ID, batch)
				if code := litengine.ErrorCode(err); code != "" && code != litengine.ECONFLICT {
					t.Errorf("borrow: %v", err)
					return
				}
				if len(loans) == 0 {
					continue
				}
				ids := []string{loans[3].ID, loans[1].ID, loans[2].ID, loans[0].ID}
				if _, err := db.Return(ctx, ids); err != nil {
					t.Errorf("return: %v", err)
					return
				}
				mu.Lock()
				lent++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if lent == 0 {
		t.Fatal("no batch succeeded")
	}
	if n := db.Retries(); n != 0 {
		t.Errorf("%d retries: lock order is not fixed", n)
	}
	for _, id := range books {
		if b, err := db.FindBookByID(ctx, id); err != nil || b.OnLoan != 0 {
			t.Fatalf("book %d: %+v, %v", id, b, err)
		}
	}
	t.Logf("%d borrow-and-return rounds", lent)
}

// counter counts what a pool sends to the server.
type counter struct {
	mu                         sync.Mutex
	queries, batches, batchOps int
}

func (c *counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	c.queries++
	c.mu.Unlock()
	return ctx
}
func (c *counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *counter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.mu.Lock()
	c.batches++
	c.mu.Unlock()
	return ctx
}
func (c *counter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	c.mu.Lock()
	c.batchOps++
	c.mu.Unlock()
}
func (c *counter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// measure runs fn once to warm the statement cache, then again counting round
// trips (queries outside batches plus batches) and statements.
func (c *counter) measure(t *testing.T, fn func() error) (roundTrips, statements int) {
	t.Helper()
	if err := fn(); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.queries, c.batches, c.batchOps = 0, 0, 0
	c.mu.Unlock()
	if err := fn(); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queries + c.batches, c.queries + c.batchOps
}

// TestRoundTrips checks that batches cost a constant number of round trips,
// whatever their size.
func TestRoundTrips(t *testing.T) {
	db, _ := openTest(t, Options{MaxConns: 1})
	ctx := context.Background()
	tr := &counter{}
	cfg := db.pool.Config()
	cfg.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	db.pool.Close()
	db.pool = pool

	const n = 10000
	rows := make([]litengine.BookImport, n)
	for i := range rows {
		rows[i] = litengine.BookImport{ID: int64(i + 1), Title: fmt.Sprintf("Book %d", i+1)}
	}
	trips, stmts := tr.measure(t, func() error { _, err := db.ImportBooks(ctx, rows); return err })
	t.Logf("ImportBooks(%d): %d round trips, %d statements", n, trips, stmts)
	if trips != 2 {
		t.Errorf("ImportBooks: %d round trips, want 2 (BEGIN and the batch, then the events and COMMIT)", trips)
	}
	changes := make([]litengine.StockChange, n)
	for i := range changes {
		changes[i] = litengine.StockChange{BookID: int64(i + 1), TotalQty: 100}
	}
	trips, stmts = tr.measure(t, func() error { _, err := db.SetInventory(ctx, changes); return err })
	t.Logf("SetInventory(%d): %d round trips, %d statements", n, trips, stmts)
	if trips != 1 || stmts != 2 {
		t.Errorf("SetInventory: %d round trips, %d statements; want 1 and 2", trips, stmts)
	}

	// measure runs each batch twice, and a member may not hold one book
	// twice: each run borrows for a member of its own.
	var members []int64
	for _, name := range []string{"Reader", "Other reader"} {
		u, err := db.CreateUser(ctx, &litengine.UserCreate{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, u.ID)
	}
	// Borrow and Return are explicit transactions in two round trips: BEGIN,
	// the locks and the reads; then the writes, the audit events and COMMIT.
	var batches [][]*litengine.Loan
	trips, stmts = tr.measure(t, func() error {
		loans, err := db.Borrow(ctx, members[len(batches)], []int64{5, 4, 3, 2, 1})
		batches = append(batches, loans)
		return err
	})
	t.Logf("Borrow(5): %d round trips, %d statements", trips, stmts)
	if trips != 2 || stmts != 8 {
		t.Errorf("Borrow: %d round trips, %d statements; want 2 and 8", trips, stmts)
	}
	trips, stmts = tr.measure(t, func() error {
		ids := make([]string, 0, 5)
		for _, l := range batches[0] {
			ids = append(ids, l.ID)
		}
		batches = batches[1:]
		_, err := db.Return(ctx, ids)
		return err
	})
	t.Logf("Return(5): %d round trips, %d statements", trips, stmts)
	if trips != 2 || stmts != 7 {
		t.Errorf("Return: %d round trips, %d statements; want 2 and 7", trips, stmts)
	}
	// A refused borrow: the reads, then ROLLBACK.
	trips, stmts = tr.measure(t, func() error {
		_, err := db.Borrow(ctx, members[0], []int64{1, 1 << 40})
		if litengine.ErrorCode(err) != litengine.ENOTFOUND {
			return fmt.Errorf("borrow of an unknown book: %v", err)
		}
		return nil
	})
	t.Logf("refused Borrow(2): %d round trips, %d statements", trips, stmts)
	if trips != 2 || stmts != 5 {
		t.Errorf("refused Borrow: %d round trips, %d statements; want 2 and 5", trips, stmts)
	}
}
