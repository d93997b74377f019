package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/litengine/litengine"
)

// epoch is the suite's clock start: a fixed UTC instant.
var epoch = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

// Run runs the store-level conformance suite against fresh stores from h.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"CreateBook", testCreateBook},
		{"FindBooks", testFindBooks},
		{"CreateUser", testCreateUser},
		{"Borrow", testBorrow},
		{"BorrowFailsAtomically", testBorrowFailsAtomically},
		{"Return", testReturn},
		{"ReturnFailsAtomically", testReturnFailsAtomically},
		{"SetInventory", testSetInventory},
		{"SetInventoryFailsAtomically", testSetInventoryFailsAtomically},
		{"FindLoans", testFindLoans},
		{"ImportBooks", testImportBooks},
		{"ConcurrentBorrowersOfOneBook", testConcurrentBorrowersOfOneBook},
		{"OverlappingBatches", testOverlappingBatches},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// fixture is a fresh store with a stopped clock.
type fixture struct {
	ctx   context.Context
	store litengine.Store
	db    *sql.DB
	clock *Clock
}

func newFixture(t testing.TB, h Harness) *fixture {
	clock := NewClock(epoch)
	store, db := h.Open(t, Config{Now: clock.Now})
	return &fixture{ctx: context.Background(), store: store, db: db, clock: clock}
}

func (f *fixture) book(t testing.TB, title string, qty int64) *litengine.Book {
	t.Helper()
	b, err := f.store.CreateBook(f.ctx, &litengine.BookCreate{Title: title, TotalQty: qty})
	if err != nil {
		t.Fatalf("create book %q: %v", title, err)
	}
	return b
}

func (f *fixture) user(t testing.TB, name string) *litengine.User {
	t.Helper()
	u, err := f.store.CreateUser(f.ctx, &litengine.UserCreate{Name: name})
	if err != nil {
		t.Fatalf("create user %q: %v", name, err)
	}
	return u
}

func (f *fixture) stock(t testing.TB, id int64) (total, onLoan int64) {
	t.Helper()
	b, err := f.store.FindBookByID(f.ctx, id)
	if err != nil {
		t.Fatalf("find book %d: %v", id, err)
	}
	return b.TotalQty, b.OnLoan
}

// wantError fails unless err is a litengine error with the code and, when
// given, exactly these item codes in order.
func wantError(t testing.TB, err error, code string, items ...string) *litengine.Error {
	t.Helper()
	var e *litengine.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want a litengine error with code %s", err, code)
	}
	if e.Code != code {
		t.Fatalf("error code = %s (%s), want %s", e.Code, e.Message, code)
	}
	if items != nil {
		got := make([]string, len(e.Items))
		for i, it := range e.Items {
			got[i] = it.Code
		}
		if !slices.Equal(got, items) {
			t.Fatalf("item codes = %v, want %v", got, items)
		}
	}
	return e
}

func testCreateBook(t *testing.T, h Harness) {
	f := newFixture(t, h)
	year := int32(-720)
	b, err := f.store.CreateBook(f.ctx, &litengine.BookCreate{
		Title: "  The  Odyssey ", Authors: []string{"Homer", " "}, ISBN: "0-14-026886-3", PublishedYear: &year, TotalQty: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	if b.ID <= 0 || b.Title != "The Odyssey" || !slices.Equal(b.Authors, []string{"Homer"}) ||
		b.ISBN != "9780140268867" || *b.PublishedYear != -720 || b.TotalQty != 3 || b.OnLoan != 0 ||
		!b.CreatedAt.Equal(epoch) {
		t.Fatalf("created %+v", b)
	}
	got, err := f.store.FindBookByID(f.ctx, b.ID)
	if err != nil || got.ISBN != b.ISBN || got.Title != b.Title || *got.PublishedYear != -720 || got.Available() != 3 {
		t.Fatalf("found %+v, %v", got, err)
	}

	before := Dump(t, f.db)
	for _, isbn := range []string{"9780140268867", "978-0-14-026886-7", "0140268863"} {
		_, err := f.store.CreateBook(f.ctx, &litengine.BookCreate{Title: "Again", ISBN: isbn})
		wantError(t, err, litengine.ECONFLICT)
	}
	_, err = f.store.CreateBook(f.ctx, &litengine.BookCreate{Title: " "})
	wantError(t, err, litengine.EINVALID)
	_, err = f.store.CreateBook(f.ctx, &litengine.BookCreate{Title: "Bad ISBN", ISBN: "0140268864"})
	wantError(t, err, litengine.EINVALID)
	if after := Dump(t, f.db); after != before {
		t.Fatalf("failed creations changed the database:\n%s\n%s", before, after)
	}
	_, err = f.store.FindBookByID(f.ctx, 999999)
	wantError(t, err, litengine.ENOTFOUND)
}

func testFindBooks(t *testing.T, h Harness) {
	f := newFixture(t, h)
	create := func(title, author, isbn string) int64 {
		b, err := f.store.CreateBook(f.ctx, &litengine.BookCreate{Title: title, Authors: []string{author}, ISBN: isbn})
		if err != nil {
			t.Fatal(err)
		}
		return b.ID
	}
	miserables := create("Les Misérables", "Victor Hugo", "")
	hawjan := create("حوجن [Ḥawjan]", "Ibraheem Abbas", "") // decomposed: H + U+0323
	hunger := create("The Hunger Games", "Suzanne Collins", "0439023483")
	grandpre := create("Harry Potter", "Mary GrandPré", "")

	search := func(q string) []int64 {
		books, err := f.store.FindBooks(f.ctx, litengine.BookFilter{Query: litengine.SearchKey(q), Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int64, len(books))
		for i, b := range books {
			ids[i] = b.ID
		}
		return ids
	}
	for _, tc := range []struct {
		q    string
		want []int64
	}{
		{"misérables", []int64{miserables}},
		{"LES MISERABLES", []int64{miserables}},
		{"Ḥawjan", []int64{hawjan}}, // precomposed U+1E24 matches the stored decomposed form
		{"hawjan", []int64{hawjan}},
		{"grandpre", []int64{grandpre}},
		{"suzanne", []int64{hunger}},
		{"9780439023481", []int64{hunger}},
		{"", []int64{miserables, hawjan, hunger, grandpre}},
		{"no such book", []int64{}},
	} {
		if got := search(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("search %q = %v, want %v", tc.q, got, tc.want)
		}
	}

	var all []int64
	for after := int64(0); ; {
		page, err := f.store.FindBooks(f.ctx, litengine.BookFilter{AfterID: after, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page {
			all = append(all, b.ID)
		}
		if len(page) < 3 {
			break
		}
		after = page[len(page)-1].ID
	}
	if !slices.Equal(all, []int64{miserables, hawjan, hunger, grandpre}) {
		t.Fatalf("paged ids = %v", all)
	}
}

func testCreateUser(t *testing.T, h Harness) {
	f := newFixture(t, h)
	u, err := f.store.CreateUser(f.ctx, &litengine.UserCreate{Name: " Ada  Lovelace ", Email: "Ada@Example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if u.ID <= 0 || u.Name != "Ada Lovelace" || u.Email != "Ada@Example.org" || !u.CreatedAt.Equal(epoch) {
		t.Fatalf("created %+v", u)
	}
	got, err := f.store.FindUserByID(f.ctx, u.ID)
	if err != nil || *got != *u {
		t.Fatalf("found %+v, %v; want %+v", got, err, u)
	}
	before := Dump(t, f.db)
	_, err = f.store.CreateUser(f.ctx, &litengine.UserCreate{Name: "Other", Email: "ada@example.ORG"})
	wantError(t, err, litengine.ECONFLICT)
	for _, email := range []string{"not an email", "Ada <ada@x.org>", "a@"} {
		_, err = f.store.CreateUser(f.ctx, &litengine.UserCreate{Name: "X", Email: email})
		wantError(t, err, litengine.EINVALID)
	}
	_, err = f.store.CreateUser(f.ctx, &litengine.UserCreate{Name: "  "})
	wantError(t, err, litengine.EINVALID)
	if after := Dump(t, f.db); after != before {
		t.Fatal("failed creations changed the database")
	}
	// Members without an email do not collide with each other.
	f.user(t, "No Mail 1")
	f.user(t, "No Mail 2")
	_, err = f.store.FindUserByID(f.ctx, 424242)
	wantError(t, err, litengine.ENOTFOUND)
}

func testBorrow(t *testing.T, h Harness) {
	f := newFixture(t, h)
	u := f.user(t, "Reader")
	a, b, c := f.book(t, "A", 1), f.book(t, "B", 2), f.book(t, "C", 5)
	loans, err := f.store.Borrow(f.ctx, u.ID, []int64{c.ID, a.ID, b.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(loans) != 3 {
		t.Fatalf("%d loans, want 3", len(loans))
	}
	for i, want := range []int64{c.ID, a.ID, b.ID} {
		l := loans[i]
		if l.BookID != want || l.UserID != u.ID || !l.BorrowedAt.Equal(epoch) ||
			!l.DueAt.Equal(time.Date(2026, 3, 15, 23, 59, 59, 0, time.UTC)) || l.ReturnedAt != nil || l.ID == "" {
			t.Fatalf("loan %d = %+v", i, l)
		}
		if i > 0 && loans[i-1].ID >= l.ID {
			t.Fatalf("transaction ids do not sort in order: %s then %s", loans[i-1].ID, l.ID)
		}
	}
	f.clock.Advance(time.Second)
	later, err := f.store.Borrow(f.ctx, f.user(t, "Second").ID, []int64{b.ID})
	if err != nil {
		t.Fatal(err)
	}
	if later[0].ID <= loans[2].ID {
		t.Fatalf("a later loan's id %s does not sort after %s", later[0].ID, loans[2].ID)
	}
	for id, want := range map[int64][2]int64{a.ID: {1, 1}, b.ID: {2, 2}, c.ID: {5, 1}} {
		if total, onLoan := f.stock(t, id); total != want[0] || onLoan != want[1] {
			t.Errorf("book %d: totalqty %d on_loan %d, want %v", id, total, onLoan, want)
		}
	}
	CheckStock(t, f.db)
}

func testBorrowFailsAtomically(t *testing.T, h Harness) {
	f := newFixture(t, h)
	u := f.user(t, "Reader")
	a, b, none := f.book(t, "A", 3), f.book(t, "B", 1), f.book(t, "None", 0)
	if _, err := f.store.Borrow(f.ctx, f.user(t, "Holder").ID, []int64{b.ID}); err != nil {
		t.Fatal(err)
	}
	before := Dump(t, f.db)

	_, err := f.store.Borrow(f.ctx, u.ID, []int64{a.ID, b.ID, none.ID})
	e := wantError(t, err, litengine.ECONFLICT, litengine.ItemUnavailable, litengine.ItemUnavailable)
	if e.Items[0].BookID != b.ID || e.Items[0].Index != 1 || e.Items[1].BookID != none.ID || e.Items[1].Index != 2 {
		t.Fatalf("items %+v", e.Items)
	}
	_, err = f.store.Borrow(f.ctx, u.ID, []int64{a.ID, 9999, b.ID})
	e = wantError(t, err, litengine.ENOTFOUND, litengine.ItemNotFound, litengine.ItemUnavailable)
	if e.Items[0].BookID != 9999 || e.Items[1].BookID != b.ID {
		t.Fatalf("items %+v", e.Items)
	}
	_, err = f.store.Borrow(f.ctx, u.ID, []int64{a.ID, a.ID})
	wantError(t, err, litengine.EINVALID, litengine.ItemDuplicate)
	_, err = f.store.Borrow(f.ctx, 9999, []int64{a.ID})
	wantError(t, err, litengine.ENOTFOUND)
	_, err = f.store.Borrow(f.ctx, u.ID, nil)
	wantError(t, err, litengine.EINVALID)
	_, err = f.store.Borrow(f.ctx, u.ID, []int64{a.ID, -1})
	wantError(t, err, litengine.EINVALID, litengine.ItemInvalid)

	if after := Dump(t, f.db); after != before {
		t.Fatalf("failed borrows changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func testReturn(t *testing.T, h Harness) {
	f := newFixture(t, h)
	u := f.user(t, "Reader")
	a, b := f.book(t, "A", 2), f.book(t, "B", 2)
	loans, err := f.store.Borrow(f.ctx, u.ID, []int64{a.ID, b.ID})
	if err != nil {
		t.Fatal(err)
	}
	more, err := f.store.Borrow(f.ctx, f.user(t, "Second").ID, []int64{a.ID})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(3 * 24 * time.Hour)
	returned, err := f.store.Return(f.ctx, []string{more[0].ID, loans[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []*litengine.Loan{more[0], loans[0]} {
		r := returned[i]
		if r.ID != want.ID || r.BookID != want.BookID || r.UserID != want.UserID || !r.BorrowedAt.Equal(epoch) ||
			!r.DueAt.Equal(want.DueAt) || r.ReturnedAt == nil || !r.ReturnedAt.Equal(epoch.Add(72*time.Hour)) {
			t.Fatalf("returned %d = %+v", i, r)
		}
	}
	if _, onLoan := f.stock(t, a.ID); onLoan != 0 {
		t.Fatalf("book A on_loan %d after both returns", onLoan)
	}
	if _, onLoan := f.stock(t, b.ID); onLoan != 1 {
		t.Fatalf("book B on_loan %d, want 1", onLoan)
	}
	CheckStock(t, f.db)
}

func testReturnFailsAtomically(t *testing.T, h Harness) {
	f := newFixture(t, h)
	u := f.user(t, "Reader")
	a := f.book(t, "A", 5)
	loans, err := f.store.Borrow(f.ctx, u.ID, []int64{a.ID})
	if err != nil {
		t.Fatal(err)
	}
	open, err := f.store.Borrow(f.ctx, f.user(t, "Second").ID, []int64{a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Return(f.ctx, []string{loans[0].ID}); err != nil {
		t.Fatal(err)
	}
	before := Dump(t, f.db)

	_, err = f.store.Return(f.ctx, []string{open[0].ID, loans[0].ID, "no-such-id"})
	e := wantError(t, err, litengine.ENOTFOUND, litengine.ItemAlreadyReturned, litengine.ItemNotFound)
	if e.Items[0].TransactionID != loans[0].ID || e.Items[0].Index != 1 || e.Items[1].TransactionID != "no-such-id" {
		t.Fatalf("items %+v", e.Items)
	}
	_, err = f.store.Return(f.ctx, []string{open[0].ID, loans[0].ID})
	wantError(t, err, litengine.ECONFLICT, litengine.ItemAlreadyReturned)
	_, err = f.store.Return(f.ctx, []string{open[0].ID, open[0].ID})
	wantError(t, err, litengine.EINVALID, litengine.ItemDuplicate)
	_, err = f.store.Return(f.ctx, nil)
	wantError(t, err, litengine.EINVALID)

	if after := Dump(t, f.db); after != before {
		t.Fatalf("failed returns changed the database")
	}
}

func testSetInventory(t *testing.T, h Harness) {
	f := newFixture(t, h)
	u := f.user(t, "Reader")
	a, b := f.book(t, "A", 1), f.book(t, "B", 0)
	if _, err := f.store.Borrow(f.ctx, u.ID, []int64{a.ID}); err != nil {
		t.Fatal(err)
	}
	stock, err := f.store.SetInventory(f.ctx, []litengine.StockChange{{BookID: b.ID, TotalQty: 7}, {BookID: a.ID, TotalQty: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if *stock[0] != (litengine.Stock{BookID: b.ID, TotalQty: 7}) || *stock[1] != (litengine.Stock{BookID: a.ID, TotalQty: 1, OnLoan: 1}) {
		t.Fatalf("stock %+v %+v", stock[0], stock[1])
	}

	// A large update in one call: every book of a 2,000-book catalogue.
	ids := []int64{a.ID, b.ID}
	for i := range 1998 {
		ids = append(ids, f.book(t, fmt.Sprintf("Bulk %d", i), 0).ID)
	}
	changes := make([]litengine.StockChange, len(ids))
	for i, id := range ids {
		changes[i] = litengine.StockChange{BookID: id, TotalQty: int64(i%7) + 1}
	}
	stock, err = f.store.SetInventory(f.ctx, changes)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range stock {
		if s.BookID != ids[i] || s.TotalQty != int64(i%7)+1 {
			t.Fatalf("stock[%d] = %+v", i, s)
		}
	}
	CheckStock(t, f.db)
}

func testSetInventoryFailsAtomically(t *testing.T, h Harness) {
	f := newFixture(t, h)
	u := f.user(t, "Reader")
	a, b := f.book(t, "A", 3), f.book(t, "B", 3)
	if _, err := f.store.Borrow(f.ctx, u.ID, []int64{a.ID, b.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Borrow(f.ctx, f.user(t, "Second").ID, []int64{a.ID}); err != nil {
		t.Fatal(err)
	}
	before := Dump(t, f.db)

	_, err := f.store.SetInventory(f.ctx, []litengine.StockChange{{BookID: b.ID, TotalQty: 9}, {BookID: a.ID, TotalQty: 1}})
	e := wantError(t, err, litengine.ECONFLICT, litengine.ItemBelowOnLoan)
	if e.Items[0].BookID != a.ID || e.Items[0].Index != 1 {
		t.Fatalf("items %+v", e.Items)
	}
	_, err = f.store.SetInventory(f.ctx, []litengine.StockChange{{BookID: 777, TotalQty: 1}, {BookID: a.ID, TotalQty: 0}, {BookID: b.ID, TotalQty: 5}})
	wantError(t, err, litengine.ENOTFOUND, litengine.ItemNotFound, litengine.ItemBelowOnLoan)
	_, err = f.store.SetInventory(f.ctx, []litengine.StockChange{{BookID: b.ID, TotalQty: 5}, {BookID: b.ID, TotalQty: 6}})
	wantError(t, err, litengine.EINVALID, litengine.ItemDuplicate)
	_, err = f.store.SetInventory(f.ctx, []litengine.StockChange{{BookID: b.ID, TotalQty: -1}})
	wantError(t, err, litengine.EINVALID, litengine.ItemInvalid)
	_, err = f.store.SetInventory(f.ctx, nil)
	wantError(t, err, litengine.EINVALID)

	if after := Dump(t, f.db); after != before {
		t.Fatalf("failed inventory updates changed the database")
	}
	// Setting the total exactly to the copies on loan is allowed.
	if _, err := f.store.SetInventory(f.ctx, []litengine.StockChange{{BookID: a.ID, TotalQty: 2}}); err != nil {
		t.Fatal(err)
	}
}

func testFindLoans(t *testing.T, h Harness) {
	f := newFixture(t, h)
	u, other := f.user(t, "Reader"), f.user(t, "Other")
	var books []int64
	for i := range 9 {
		books = append(books, f.book(t, fmt.Sprint("Book ", i), 9).ID)
	}
	var ids []string
	for round := range 3 {
		loans, err := f.store.Borrow(f.ctx, u.ID, books[3*round:3*round+3])
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range loans {
			ids = append(ids, l.ID)
		}
		f.clock.Advance(time.Minute)
	}
	if _, err := f.store.Borrow(f.ctx, other.ID, books[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Return(f.ctx, []string{ids[1], ids[4]}); err != nil {
		t.Fatal(err)
	}
	list := func(status string, limit int) []string {
		var got []string
		after := ""
		for {
			page, err := f.store.FindLoans(f.ctx, litengine.LoanFilter{UserID: u.ID, Status: status, AfterID: after, Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range page {
				if l.UserID != u.ID {
					t.Fatalf("loan of user %d in the list of %d", l.UserID, u.ID)
				}
				got = append(got, l.ID)
			}
			if len(page) < limit {
				return got
			}
			after = page[len(page)-1].ID
		}
	}
	if got := list("", 4); !slices.Equal(got, ids) {
		t.Fatalf("all loans %v, want %v", got, ids)
	}
	if got := list(litengine.LoanReturned, 1); !slices.Equal(got, []string{ids[1], ids[4]}) {
		t.Fatalf("returned loans %v", got)
	}
	active := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == ids[1] || id == ids[4] })
	if got := list(litengine.LoanActive, 2); !slices.Equal(got, active) {
		t.Fatalf("active loans %v, want %v", got, active)
	}
	_, err := f.store.FindLoans(f.ctx, litengine.LoanFilter{UserID: 9999, Limit: 10})
	wantError(t, err, litengine.ENOTFOUND)
}

func testImportBooks(t *testing.T, h Harness) {
	f := newFixture(t, h)
	year := int32(2008)
	rows := []litengine.BookImport{
		{ID: 10, Title: "The Hunger Games", Authors: []string{"Suzanne Collins"}, ISBN: "9780439023481", PublishedYear: &year},
		{ID: 11, Title: "Same ISBN", ISBN: "9780439023481"},
		{Title: "No Id", ISBN: "9780140268867"},
		{Title: "No Id Nor ISBN", Key: "k1"},
	}
	out, err := f.store.ImportBooks(f.ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{litengine.ImportCreated, litengine.ImportSkipped, litengine.ImportCreated, litengine.ImportCreated}
	for i, o := range out {
		if o.Result != want[i] {
			t.Fatalf("row %d: %+v, want %s", i, o, want[i])
		}
	}
	if out[0].BookID != 10 || out[1].Reason == "" {
		t.Fatalf("outcomes %+v", out)
	}
	if _, err := f.store.SetInventory(f.ctx, []litengine.StockChange{{BookID: 10, TotalQty: 4}}); err != nil {
		t.Fatal(err)
	}
	before := Dump(t, f.db)
	f.clock.Advance(time.Hour)
	out, err = f.store.ImportBooks(f.ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{litengine.ImportUnchanged, litengine.ImportSkipped, litengine.ImportUnchanged, litengine.ImportUnchanged}
	for i, o := range out {
		if o.Result != want[i] {
			t.Fatalf("re-run row %d: %+v, want %s", i, o, want[i])
		}
	}
	if after := Dump(t, f.db); after != before {
		t.Fatalf("re-running an import changed the database:\n%s\n%s", before, after)
	}
	rows[0].Title = "The Hunger Games (The Hunger Games, #1)"
	out, err = f.store.ImportBooks(f.ctx, rows[:1])
	if err != nil || out[0].Result != litengine.ImportUpdated {
		t.Fatalf("changed row: %+v, %v", out, err)
	}
	b, _ := f.store.FindBookByID(f.ctx, 10)
	if b.Title != rows[0].Title || b.TotalQty != 4 {
		t.Fatalf("after update: %+v (the import must not touch stock)", b)
	}
	// New books created through the API after an import get fresh ids.
	nb := f.book(t, "After Import", 0)
	if nb.ID <= 10 {
		t.Fatalf("new book id %d collides with imported ids", nb.ID)
	}
	// A catalogue row never overwrites a book that no import created, even
	// when it carries that book's id.
	before = Dump(t, f.db)
	out, err = f.store.ImportBooks(f.ctx, []litengine.BookImport{{ID: nb.ID, Title: "Someone Else's Book"}})
	if err != nil || out[0].Result != litengine.ImportSkipped || out[0].Reason != litengine.ImportIDTaken(nb.ID) {
		t.Fatalf("row with the id of an API-created book: %+v, %v", out, err)
	}
	if after := Dump(t, f.db); after != before {
		t.Fatal("a skipped row changed the database")
	}
	// Nor does a row known by its ISBN alone.
	api, err := f.store.CreateBook(f.ctx, &litengine.BookCreate{Title: "API Copy", ISBN: "0-201-03801-3"})
	if err != nil {
		t.Fatal(err)
	}
	before = Dump(t, f.db)
	out, err = f.store.ImportBooks(f.ctx, []litengine.BookImport{{Title: "Overwritten", ISBN: api.ISBN}})
	if err != nil || out[0].Result != litengine.ImportSkipped || out[0].Reason != litengine.ImportISBNTaken(api.ISBN, api.ID) {
		t.Fatalf("row with the ISBN of an API-created book: %+v, %v", out, err)
	}
	if after := Dump(t, f.db); after != before {
		t.Fatal("a skipped ISBN row changed the database")
	}
}

func testConcurrentBorrowersOfOneBook(t *testing.T, h Harness) {
	f := newFixture(t, h)
	book := f.book(t, "Hot", 10)
	const clients = 200
	users := make([]int64, clients)
	for i := range users {
		users[i] = f.user(t, fmt.Sprintf("U%d", i)).ID
	}
	var ok, conflict atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, uid := range users {
		wg.Go(func() {
			<-start
			_, err := f.store.Borrow(f.ctx, uid, []int64{book.ID})
			switch litengine.ErrorCode(err) {
			case "":
				ok.Add(1)
			case litengine.ECONFLICT:
				conflict.Add(1)
			default:
				t.Errorf("borrow: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if ok.Load() != 10 || conflict.Load() != clients-10 {
		t.Fatalf("%d successes and %d conflicts, want 10 and %d", ok.Load(), conflict.Load(), clients-10)
	}
	CheckStock(t, f.db)
}

func testOverlappingBatches(t *testing.T, h Harness) {
	f := newFixture(t, h)
	var books []int64
	for i := range 6 {
		books = append(books, f.book(t, fmt.Sprintf("B%d", i), 8).ID)
	}
	forward := slices.Clone(books)
	backward := slices.Clone(books)
	slices.Reverse(backward)
	const clients = 64
	var wg sync.WaitGroup
	var loans sync.Map
	deadline := time.Now().Add(2 * time.Second)
	for c := range clients {
		uid := f.user(t, fmt.Sprintf("C%d", c)).ID
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline) && i < 200; i++ {
				batch := forward[c%3 : c%3+3]
				if c%2 == 1 {
					batch = backward[c%3 : c%3+3]
				}
				got, err := f.store.Borrow(f.ctx, uid, batch)
				if code := litengine.ErrorCode(err); code != "" && code != litengine.ECONFLICT {
					t.Errorf("borrow: %v", err)
					return
				}
				ids := make([]string, len(got))
				for j, l := range got {
					ids[j] = l.ID
				}
				if len(ids) > 0 {
					if _, err := f.store.Return(f.ctx, ids); err != nil {
						t.Errorf("return: %v", err)
						return
					}
					loans.Store(ids[0], true)
				}
			}
		})
	}
	wg.Wait()
	n := 0
	loans.Range(func(any, any) bool { n++; return true })
	if n == 0 {
		t.Fatal("no batch succeeded")
	}
	CheckStock(t, f.db)
}
