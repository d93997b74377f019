package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/litengine/litengine"
)

// TestAuditSeqIsCommitOrder: many writers append events at once while
// readers page through the trail by seq. Numbers handed out in commit order
// have no gaps and never become visible out of order, so every page a reader
// gets starts right after its cursor and counts up by one: a page that
// skipped a number would mean that number commits later, below a cursor that
// has passed it, and the reader would never see it. In the end every reader
// has seen the whole trail, exactly as it is stored, and the counter agrees.
func TestAuditSeqIsCommitOrder(t *testing.T) {
	db, _ := openTest(t, Options{MaxConns: 32})
	ctx := context.Background()
	var books []int64
	for i := range 8 {
		b, err := db.CreateBook(ctx, &litengine.BookCreate{Title: fmt.Sprintf("B%d", i), TotalQty: 1000})
		if err != nil {
			t.Fatal(err)
		}
		books = append(books, b.ID)
	}

	duration := 2 * time.Second
	if testing.Short() {
		duration = 500 * time.Millisecond
	}
	var (
		stop    atomic.Bool // tells the writers to stop
		written atomic.Bool // the writers have stopped: the trail is complete
		writers sync.WaitGroup
		readers sync.WaitGroup
		writes  atomic.Int64
	)
	for w := range 24 {
		writers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			u, err := db.CreateUser(ctx, &litengine.UserCreate{Name: fmt.Sprintf("Writer %d", w)})
			if err != nil {
				t.Error(err)
				return
			}
			for !stop.Load() {
				var err error
				switch rng.IntN(4) {
				case 0:
					_, err = db.CreateUser(ctx, &litengine.UserCreate{Name: "Someone"})
				case 1:
					suspended := false
					_, err = db.UpdateUser(ctx, u.ID, &litengine.UserUpdate{Suspended: &suspended})
				case 2:
					id := books[rng.IntN(len(books))]
					_, err = db.SetInventory(ctx, []litengine.StockChange{{BookID: id, TotalQty: 1000 + rng.Int64N(3)}})
				default:
					i := rng.IntN(len(books) - 2)
					var loans []*litengine.Loan
					if loans, err = db.Borrow(ctx, u.ID, books[i:i+3]); err == nil {
						_, err = db.Return(ctx, []string{loans[2].ID, loans[0].ID, loans[1].ID})
					}
				}
				if err != nil {
					t.Error(err)
					return
				}
				writes.Add(1)
			}
		})
	}

	seen := make([][]*litengine.AuditEvent, 4)
	for r := range seen {
		readers.Go(func() {
			var after int64
			for {
				done := written.Load() // read before the page: a page read after the writers stopped is the last
				page, err := db.FindAuditEvents(ctx, litengine.AuditFilter{AfterSeq: after, Limit: 3 + r*5})
				if err != nil {
					t.Error(err)
					return
				}
				for _, e := range page {
					if e.Seq != after+1 {
						t.Errorf("reader %d: event %d right after %d: %d below it is not visible yet, and will commit behind the cursor",
							r, e.Seq, after, after+1)
						return
					}
					after = e.Seq
				}
				seen[r] = append(seen[r], page...)
				if done && len(page) == 0 {
					return
				}
			}
		})
	}

	time.Sleep(duration)
	stop.Store(true)
	writers.Wait()
	written.Store(true)
	readers.Wait()
	if t.Failed() {
		return
	}

	all, err := db.FindAuditEvents(ctx, litengine.AuditFilter{Limit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	if err := db.pool.QueryRow(ctx, `SELECT last FROM audit_seq`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if n := int64(len(all)); n == 0 || all[n-1].Seq != n || last != n {
		t.Fatalf("%d events, the last numbered %d, counter %d; want 1..n and the counter at n", n, all[len(all)-1].Seq, last)
	}
	for r, events := range seen {
		if !reflect.DeepEqual(events, all) {
			t.Fatalf("reader %d saw %d events while they were written; the trail holds %d, or differs", r, len(events), len(all))
		}
	}
	if n := db.Retries(); n != 0 {
		t.Errorf("%d retries: taking the counter last must not add a deadlock", n)
	}
	t.Logf("%d writes, %d events", writes.Load(), len(all))
}

// TestAuditCounterLockedLast: a change that waits for a row lock must not
// hold the counter while it waits, or every other writer would queue behind
// it. Another session holds a member, a fee, a book and an ISBN being
// inserted; an update of the member, a waiver of the fee, a stock change of
// the book and a new book with the ISBN each wait, and meanwhile other
// members are created, each appending an event.
func TestAuditCounterLockedLast(t *testing.T) {
	clock := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	db, dsn := openTest(t, Options{Now: now})
	ctx := context.Background()
	u, err := db.CreateUser(ctx, &litengine.UserCreate{Name: "Late"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.CreateBook(ctx, &litengine.BookCreate{Title: "Late book", TotalQty: 1})
	if err != nil {
		t.Fatal(err)
	}
	loans, err := db.Borrow(ctx, u.ID, []int64{b.ID})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	clock = clock.Add(30 * 24 * time.Hour)
	mu.Unlock()
	returned, err := db.Return(ctx, []string{loans[0].ID})
	if err != nil || returned[0].LateFee == nil {
		t.Fatalf("late return: %+v, %v", returned, err)
	}
	fee := returned[0].LateFee

	other, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, q := range []string{
		fmt.Sprintf(`SELECT FROM users WHERE id = %d FOR NO KEY UPDATE`, u.ID),
		fmt.Sprintf(`SELECT FROM books WHERE id = %d FOR NO KEY UPDATE`, b.ID),
		fmt.Sprintf(`SELECT FROM fees WHERE id = '%s' FOR NO KEY UPDATE`, fee.ID),
		`INSERT INTO books (title, isbn, search_text, created_at, updated_at) VALUES ('Held', '9780306406157', '', now(), now())`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	blocked := []struct {
		name string
		fn   func() error
	}{
		{"UpdateUser", func() error {
			s := true
			_, err := db.UpdateUser(ctx, u.ID, &litengine.UserUpdate{Suspended: &s})
			return err
		}},
		{"WaiveFee", func() error { _, err := db.WaiveFee(ctx, fee.ID, "Goodwill"); return err }},
		{"SetInventory", func() error {
			_, err := db.SetInventory(ctx, []litengine.StockChange{{BookID: b.ID, TotalQty: 5}})
			return err
		}},
		{"CreateBook", func() error {
			_, err := db.CreateBook(ctx, &litengine.BookCreate{Title: "Same ISBN", ISBN: "9780306406157"})
			return err
		}},
	}
	done := make([]chan error, len(blocked))
	for i, c := range blocked {
		done[i] = make(chan error, 1)
		go func() { done[i] <- c.fn() }()
	}
	waitBlockedN(t, dsn, other.PgConn().PID(), len(blocked))
	for i := range 3 {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := db.CreateUser(cctx, &litengine.UserCreate{Name: fmt.Sprintf("Meanwhile %d", i)})
		cancel()
		if err != nil {
			t.Fatalf("a writer waiting for a row holds the audit counter: CreateUser: %v", err)
		}
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for i, c := range blocked {
		if err := <-done[i]; err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	events, err := db.FindAuditEvents(ctx, litengine.AuditFilter{AfterSeq: 5, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for i, e := range events {
		if e.Seq != int64(6+i) {
			t.Fatalf("events %+v: not numbered 6 on", events)
		}
		types = append(types, e.Type)
	}
	// Three members, then the four changes that waited, in any order.
	if len(types) != 7 || types[0] != litengine.EventUserCreated || types[1] != litengine.EventUserCreated ||
		types[2] != litengine.EventUserCreated {
		t.Fatalf("events after the fee: %v", types)
	}
}

// waitBlockedN waits until n sessions wait for a lock held by pid.
func waitBlockedN(t *testing.T, dsn string, pid uint32, n int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var waiting int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid))`,
			int32(pid)).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting >= n {
			return
		}
	}
	t.Fatalf("fewer than %d sessions ever waited for the locks", n)
}

// TestAuditEventsOfEachChange checks the events a store builds in SQL (those
// whose ids or values only the statement knows) and the import's, field by
// field, and that a refused change appends nothing.
func TestAuditEventsOfEachChange(t *testing.T) {
	at := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	db, _ := openTest(t, Options{Now: func() time.Time { return at }})
	ctx := litengine.NewContextWithPrincipal(context.Background(), &litengine.Principal{KeyID: "key-1", Role: litengine.RoleAdmin})
	next := int64(0)
	expect := func(what string, want ...litengine.AuditEvent) {
		t.Helper()
		got, err := db.FindAuditEvents(ctx, litengine.AuditFilter{AfterSeq: next, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s appended %d events, want %d: %+v", what, len(got), len(want), got)
		}
		for i := range want {
			next++
			want[i].Seq, want[i].At, want[i].Actor = next, at, "key-1"
			if !reflect.DeepEqual(*got[i], want[i]) {
				t.Errorf("%s, event %d:\n got %+v\nwant %+v", what, i, *got[i], want[i])
			}
		}
	}

	b, err := db.CreateBook(ctx, &litengine.BookCreate{Title: "A", TotalQty: 2})
	if err != nil {
		t.Fatal(err)
	}
	expect("CreateBook", litengine.AuditEvent{Type: litengine.EventBookCreated, BookID: b.ID,
		Data: map[string]any{"totalqty": int64(2)}})

	out, err := db.ImportBooks(ctx, []litengine.BookImport{
		{ID: 100, Title: "Imported"}, {Title: "Skipped"}, {ID: 100, Title: "Imported again"}, {ID: 101, Title: "Also"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Result != litengine.ImportCreated || out[2].Result != litengine.ImportUpdated || out[3].Result != litengine.ImportCreated {
		t.Fatalf("import outcomes %+v", out)
	}
	expect("ImportBooks",
		litengine.AuditEvent{Type: litengine.EventBookCreated, BookID: 100, Data: map[string]any{"totalqty": int64(0)}},
		litengine.AuditEvent{Type: litengine.EventBookCreated, BookID: 101, Data: map[string]any{"totalqty": int64(0)}})
	if _, err := db.ImportBooks(ctx, []litengine.BookImport{{ID: 100, Title: "Imported again"}}); err != nil {
		t.Fatal(err)
	}
	expect("an import that creates nothing")

	if _, err := db.SetInventory(ctx, []litengine.StockChange{{BookID: 101, TotalQty: 4}, {BookID: b.ID, TotalQty: 2},
		{BookID: 100, TotalQty: 1}}); err != nil {
		t.Fatal(err)
	}
	expect("SetInventory",
		litengine.AuditEvent{Type: litengine.EventStockChanged, BookID: 101, Data: map[string]any{"before": int64(0), "after": int64(4)}},
		litengine.AuditEvent{Type: litengine.EventStockChanged, BookID: 100, Data: map[string]any{"before": int64(0), "after": int64(1)}})
	if _, err := db.SetInventory(ctx, []litengine.StockChange{{BookID: 101, TotalQty: 5}, {BookID: 999, TotalQty: 1}}); litengine.ErrorCode(err) == "" {
		t.Fatal("a stock change of an unknown book passed")
	}
	expect("a refused SetInventory")

	u, err := db.CreateUser(ctx, &litengine.UserCreate{Name: "Ada", Category: "child"})
	if err != nil {
		t.Fatal(err)
	}
	expect("CreateUser", litengine.AuditEvent{Type: litengine.EventUserCreated, UserID: u.ID,
		Data: map[string]any{"category": "child"}})
	if _, err := db.CreateUser(ctx, &litengine.UserCreate{Name: "Ada", Email: "ada@example.org"}); err != nil {
		t.Fatal(err)
	}
	next++
	if _, err := db.CreateUser(ctx, &litengine.UserCreate{Name: "Ada again", Email: "ADA@example.org"}); litengine.ErrorCode(err) != litengine.ECONFLICT {
		t.Fatalf("a second member with one email: %v", err)
	}
	expect("a refused CreateUser")
	suspended := true
	if _, err := db.UpdateUser(ctx, u.ID, &litengine.UserUpdate{Suspended: &suspended}); err != nil {
		t.Fatal(err)
	}
	expect("UpdateUser", litengine.AuditEvent{Type: litengine.EventUserUpdated, UserID: u.ID,
		Data: map[string]any{"category": "child", "suspended": true}})

	suspended = false
	if _, err := db.UpdateUser(ctx, u.ID, &litengine.UserUpdate{Suspended: &suspended}); err != nil {
		t.Fatal(err)
	}
	next++
	loans, err := db.Borrow(ctx, u.ID, []int64{101, b.ID})
	if err != nil {
		t.Fatal(err)
	}
	next += 2
	at = at.Add(60 * 24 * time.Hour)
	returned, err := db.Return(ctx, []string{loans[1].ID, loans[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	fee := returned[0].LateFee
	if fee == nil || returned[1].LateFee == nil {
		t.Fatalf("late returns assessed %+v, %+v", returned[0].LateFee, returned[1].LateFee)
	}
	next += 4
	if _, err := db.PayFees(ctx, []litengine.FeePayment{{FeeID: fee.ID, Amount: 1}}); err != nil {
		t.Fatal(err)
	}
	next++
	if _, err := db.WaiveFee(ctx, fee.ID, "Goodwill"); err != nil {
		t.Fatal(err)
	}
	expect("WaiveFee", litengine.AuditEvent{Type: litengine.EventFeeWaived, BookID: b.ID, UserID: u.ID,
		TransactionID: loans[1].ID, FeeID: fee.ID, Data: map[string]any{"amount": fee.Amount - 1, "reason": "Goodwill"}})
	if _, err := db.WaiveFee(ctx, fee.ID, "Again"); litengine.ErrorCode(err) != litengine.ECONFLICT {
		t.Fatalf("a second waiver: %v", err)
	}
	expect("a refused WaiveFee")
}
