package sqlite_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/litengine/litengine"
)

// The conformance suite checks the trail through the API on every store;
// these tests check what only the store sees: which rows get an event, the
// stored data, the time bounds in whole seconds, and seq under concurrency.

func findEvents(t *testing.T, db litengine.AuditService, f litengine.AuditFilter) []*litengine.AuditEvent {
	t.Helper()
	if f.Limit == 0 {
		f.Limit = 1000
	}
	evs, err := db.FindAuditEvents(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestAuditEvents(t *testing.T) {
	db, clock := openCirculation(t, litengine.DefaultPolicies())
	ctx := context.Background()

	// An import appends book.created for the books it creates only.
	rows := []litengine.BookImport{{ID: 100, Title: "One"}, {Key: "k2", Title: "Two"}, {Title: "No identity"}}
	if _, err := db.ImportBooks(ctx, rows); err != nil {
		t.Fatal(err)
	}
	rows[0].Title = "One, revised"
	rows = append(rows, litengine.BookImport{Key: "k3", Title: "Three"})
	out, err := db.ImportBooks(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	created := findEvents(t, db, litengine.AuditFilter{Type: litengine.EventBookCreated})
	if len(created) != 3 || created[0].BookID != 100 || created[2].BookID != out[3].BookID || created[0].Data["totalqty"] != int64(0) {
		t.Fatalf("book.created after two imports: %+v", created)
	}

	// Only the items whose total changes get stock.changed, in request order,
	// with integer data.
	if _, err := db.SetInventory(ctx, []litengine.StockChange{{BookID: out[1].BookID, TotalQty: 4}, {BookID: 100, TotalQty: 0}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetInventory(ctx, []litengine.StockChange{{BookID: 100, TotalQty: 2}, {BookID: out[1].BookID, TotalQty: 4}}); err != nil {
		t.Fatal(err)
	}
	changed := findEvents(t, db, litengine.AuditFilter{Type: litengine.EventStockChanged})
	if len(changed) != 2 || changed[0].BookID != out[1].BookID || changed[1].BookID != 100 ||
		changed[0].Data["before"] != int64(0) || changed[0].Data["after"] != int64(4) || changed[1].Data["after"] != int64(2) {
		t.Fatalf("stock.changed: %+v", changed)
	}

	// A refused change appends nothing.
	before := len(findEvents(t, db, litengine.AuditFilter{}))
	if _, err := db.SetInventory(ctx, []litengine.StockChange{{BookID: 100, TotalQty: 5}, {BookID: 999, TotalQty: 1}}); err == nil {
		t.Fatal("inventory of an unknown book succeeded")
	}
	if n := len(findEvents(t, db, litengine.AuditFilter{})); n != before {
		t.Fatalf("a refused inventory appended %d events", n-before)
	}

	// Times are whole seconds: Since rounds up to include nothing earlier,
	// Until rounds up to include the second it falls in.
	clock.Advance(90 * time.Second)
	u, err := db.CreateUser(ctx, &litengine.UserCreate{Name: "Ann", Category: "staff"})
	if err != nil {
		t.Fatal(err)
	}
	at := clock.Now().UTC().Truncate(time.Second)
	evs := findEvents(t, db, litengine.AuditFilter{UserID: u.ID})
	if len(evs) != 1 || evs[0].Type != litengine.EventUserCreated || !evs[0].At.Equal(at) || evs[0].At.Location() != time.UTC ||
		evs[0].Data["category"] != "staff" || evs[0].Actor != "" || evs[0].Seq != int64(before+1) {
		t.Fatalf("user.created: %+v", evs)
	}
	for _, c := range []struct {
		f    litengine.AuditFilter
		want int
	}{
		{litengine.AuditFilter{UserID: u.ID, Since: at}, 1},
		{litengine.AuditFilter{UserID: u.ID, Since: at.Add(time.Millisecond)}, 0},
		{litengine.AuditFilter{UserID: u.ID, Until: at}, 0},
		{litengine.AuditFilter{UserID: u.ID, Until: at.Add(time.Millisecond)}, 1},
		{litengine.AuditFilter{Since: at, Until: at.Add(time.Second)}, 1},
		{litengine.AuditFilter{UserID: u.ID, AfterSeq: evs[0].Seq}, 0},
		{litengine.AuditFilter{BookID: 100, Type: litengine.EventStockChanged}, 1},
	} {
		if n := len(findEvents(t, db, c.f)); n != c.want {
			t.Errorf("filter %+v: %d events, want %d", c.f, n, c.want)
		}
	}
	suspended := true
	if _, err := db.UpdateUser(ctx, u.ID, &litengine.UserUpdate{Suspended: &suspended}); err != nil {
		t.Fatal(err)
	}
	evs = findEvents(t, db, litengine.AuditFilter{UserID: u.ID, Type: litengine.EventUserUpdated})
	if len(evs) != 1 || evs[0].Data["suspended"] != true || evs[0].Data["category"] != "staff" {
		t.Fatalf("user.updated: %+v", evs)
	}

	// Paging by seq with a limit walks every event once.
	all := findEvents(t, db, litengine.AuditFilter{})
	var paged []*litengine.AuditEvent
	for f := (litengine.AuditFilter{Limit: 2}); ; {
		page := findEvents(t, db, f)
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		f.AfterSeq = page[len(page)-1].Seq
	}
	if len(paged) != len(all) {
		t.Fatalf("paged %d events, want %d", len(paged), len(all))
	}
}

func TestOverdueAndStockAudit(t *testing.T) {
	p := litengine.DefaultPolicies()
	p.Categories["child"] = litengine.LoanPolicy{LoanDays: 7, MaxRenewals: 0, MaxActiveLoans: 5, DailyFee: 10, MaxFee: 50, MaxUnpaid: 0}
	db, clock := openCirculation(t, p)
	ctx := context.Background()
	adult, _ := db.CreateUser(ctx, &litengine.UserCreate{Name: "Adult"})
	child, _ := db.CreateUser(ctx, &litengine.UserCreate{Name: "Child", Category: "child"})
	var books []int64
	for range 3 {
		b, err := db.CreateBook(ctx, &litengine.BookCreate{Title: "T", TotalQty: 2})
		if err != nil {
			t.Fatal(err)
		}
		books = append(books, b.ID)
	}
	la, err := db.Borrow(ctx, adult.ID, books[:2]) // due 15 March, 23:59:59
	if err != nil {
		t.Fatal(err)
	}
	lc, err := db.Borrow(ctx, child.ID, books[:1]) // due 8 March
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Return(ctx, []string{la[1].ID}); err != nil {
		t.Fatal(err)
	}
	if got, err := db.FindOverdueLoans(ctx, litengine.OverdueFilter{Limit: 10}); err != nil || len(got) != 0 {
		t.Fatalf("overdue on day one: %+v, %v", got, err)
	}

	clock.Set(time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC))
	got, err := db.FindOverdueLoans(ctx, litengine.OverdueFilter{Limit: 10})
	if err != nil || len(got) != 2 {
		t.Fatalf("overdue = %+v, %v", got, err)
	}
	if got[0].ID != la[0].ID || got[0].DaysOverdue != 5 || got[0].AccruedFee != 125 ||
		got[1].ID != lc[0].ID || got[1].DaysOverdue != 12 || got[1].AccruedFee != 50 || got[1].Renewals != 0 {
		t.Fatalf("overdue = %+v, %+v", got[0], got[1])
	}
	if page, err := db.FindOverdueLoans(ctx, litengine.OverdueFilter{AfterID: got[0].ID, Limit: 1}); err != nil || len(page) != 1 || page[0].ID != lc[0].ID {
		t.Fatalf("second page = %+v, %v", page, err)
	}

	audit, err := db.AuditStock(ctx, litengine.StockAuditFilter{Limit: 10})
	if err != nil || len(audit) != 3 || audit[0].OnLoan != 2 || audit[0].ActiveLoans != 2 || audit[1].ActiveLoans != 0 || !audit[0].Consistent() {
		t.Fatalf("stock audit = %+v, %v", audit, err)
	}
	if bad, err := db.AuditStock(ctx, litengine.StockAuditFilter{Limit: 10, Inconsistent: true}); err != nil || len(bad) != 0 {
		t.Fatalf("inconsistent in a sound database: %+v, %v", bad, err)
	}
	if page, err := db.AuditStock(ctx, litengine.StockAuditFilter{AfterID: books[0], Limit: 1}); err != nil || len(page) != 1 || page[0].BookID != books[1] {
		t.Fatalf("stock audit page = %+v, %v", page, err)
	}
}

// TestAuditSeqUnderConcurrency: writers racing through the single writer
// append events whose seq order is the commit order, so a reader paging
// meanwhile never finds an event below the cursor it has passed.
func TestAuditSeqUnderConcurrency(t *testing.T) {
	db, _ := openCirculation(t, litengine.DefaultPolicies())
	ctx := context.Background()
	const writers, each = 8, 25
	var (
		wg   sync.WaitGroup
		done atomic.Bool
		seen = map[int64]bool{}
	)
	reader := make(chan error, 1)
	go func() {
		var after int64
		for {
			stop := done.Load()
			page, err := db.FindAuditEvents(ctx, litengine.AuditFilter{AfterSeq: after, Limit: 7})
			if err != nil {
				reader <- err
				return
			}
			for _, e := range page {
				seen[e.Seq] = true
				after = e.Seq
			}
			if stop && len(page) == 0 {
				reader <- nil
				return
			}
		}
	}()
	for range writers {
		wg.Go(func() {
			for range each {
				if _, err := db.CreateBook(ctx, &litengine.BookCreate{Title: "Race", TotalQty: 1}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	done.Store(true)
	if err := <-reader; err != nil {
		t.Fatal(err)
	}
	all := findEvents(t, db, litengine.AuditFilter{Limit: 10 * writers * each})
	if len(all) != writers*each || len(seen) != len(all) {
		t.Fatalf("%d events, the paging reader saw %d, want %d", len(all), len(seen), writers*each)
	}
	for i, e := range all {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: seq has gaps", i, e.Seq)
		}
	}
}
