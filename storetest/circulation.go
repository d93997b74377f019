package storetest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/litengine/litengine"
)

// RunCirculation runs the circulation-rule suite over HTTP: due dates, late
// fees, renewals, borrowing rules and the fee ledger, under a library policy
// with categories, in a time zone with daylight saving.
func RunCirculation(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, c *circClient)
	}{
		{"LateFeeTable", testLateFeeTable},
		{"Renew", testRenew},
		{"BorrowRules", testBorrowRules},
		{"LoanLimitRace", testLoanLimitRace},
		{"FeeLedger", testFeeLedger},
		{"AuditTrail", testAuditTrail},
		{"InventoryAudit", testInventoryAudit},
		{"Overdue", testOverdue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewClock(epoch)
			p := circulationPolicies(t)
			tc.fn(t, &circClient{apiClient: newAPIClient(t, h, Config{Now: clock.Now, Policies: p}), clock: clock, p: p})
		})
	}
}

type circClient struct {
	*apiClient
	clock *Clock
	p     *litengine.Policies
}

// circulationPolicies: Paris time; adults 14 days, 2 renewals, 3 loans,
// 0.50/day capped at 20.00, one grace day, borrowing blocked above 5.00
// owed; children 7 days, 1 loan, 0.10/day capped at 1.00.
func circulationPolicies(t testing.TB) *litengine.Policies {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return &litengine.Policies{
		Currency: "EUR",
		Location: paris,
		Default: litengine.LoanPolicy{LoanDays: 14, RenewalDays: 14, MaxRenewals: 2, MaxActiveLoans: 3,
			DailyFee: 50, MaxFee: 2000, GraceDays: 1, MaxUnpaid: 500},
		Categories: map[string]litengine.LoanPolicy{
			"child": {LoanDays: 7, RenewalDays: 7, MaxRenewals: 1, MaxActiveLoans: 1, DailyFee: 10, MaxFee: 100, MaxUnpaid: 0},
		},
	}
}

type wireReturn struct {
	Returns []struct {
		TransactionID string `json:"transaction_id"`
		DueAt         string `json:"due_at"`
		LateFee       *struct {
			Amount   int64  `json:"amount"`
			Currency string `json:"currency"`
			FeeID    string `json:"fee_id"`
		} `json:"late_fee"`
	} `json:"returns"`
}

func (c *circClient) borrow(user int64, books ...int64) []wireLoan {
	c.t.Helper()
	ids := make([]string, len(books))
	for i, b := range books {
		ids[i] = fmt.Sprint(b)
	}
	r := c.post("/api/borrow", fmt.Sprintf(`{"user_id":%d,"books":[%s]}`, user, strings.Join(ids, ","))).must(c.t, 201)
	return decode[struct{ Transactions []wireLoan }](c.t, r).Transactions
}

func (c *circClient) member(name, category string) int64 {
	c.t.Helper()
	u := decode[struct{ ID int64 }](c.t, c.post("/api/users", fmt.Sprintf(`{"name":%q,"category":%q}`, name, category)).must(c.t, 201))
	return u.ID
}

func idsJSON(ids ...string) string {
	return `{"transaction_ids":["` + strings.Join(ids, `","`) + `"]}`
}

// testLateFeeTable borrows and returns one book per row, with the clock set
// to each row's times, and checks the due date and the fee the return
// assessed against the hand-computed number of overdue days.
func testLateFeeTable(t *testing.T, c *circClient) {
	paris := c.p.Location
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04:05", s, paris)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	book := c.createBook("Fee table", 1)
	rows := []struct {
		name              string
		borrow, ret       string // Paris wall clock
		wantDue           string // UTC
		wantDays, wantFee int64
	}{
		// 14 days from 1 March: due at the end of 15 March, Paris (UTC+1).
		{"on time, last second", "2026-03-01 10:00:00", "2026-03-15 23:59:59", "2026-03-15T22:59:59Z", 0, 0},
		{"one second late, within grace", "2026-03-01 10:00:00", "2026-03-16 00:00:00", "2026-03-15T22:59:59Z", 1, 0},
		{"end of the grace day", "2026-03-01 10:00:00", "2026-03-16 23:59:59", "2026-03-15T22:59:59Z", 1, 0},
		{"one second after grace", "2026-03-01 10:00:00", "2026-03-17 00:00:00", "2026-03-15T22:59:59Z", 2, 50},
		// Due the day before spring-forward (29 March, 23-hour day): returned
		// the evening after the change is 1 day late, whatever UTC says.
		{"across spring-forward", "2026-03-14 12:00:00", "2026-03-29 20:00:00", "2026-03-28T22:59:59Z", 1, 0},
		{"two days across spring-forward", "2026-03-14 12:00:00", "2026-03-30 20:00:00", "2026-03-28T22:59:59Z", 2, 50},
		// Due the day before fall-back (25 October, 25-hour day).
		{"across fall-back", "2026-10-10 12:00:00", "2026-10-25 23:30:00", "2026-10-24T21:59:59Z", 1, 0},
		{"three days across fall-back", "2026-10-10 12:00:00", "2026-10-27 08:00:00", "2026-10-24T21:59:59Z", 3, 100},
		// Leap day 2028: due 29 February, returned 2 March is 2 days late.
		{"across 29 February", "2028-02-15 09:00:00", "2028-03-02 09:00:00", "2028-02-29T22:59:59Z", 2, 50},
		{"month end", "2026-01-17 09:00:00", "2026-02-03 09:00:00", "2026-01-31T22:59:59Z", 3, 100},
		{"year end", "2026-12-17 09:00:00", "2027-01-05 09:00:00", "2026-12-31T22:59:59Z", 5, 200},
		{"cap reached exactly", "2026-04-01 09:00:00", "2026-05-26 09:00:00", "2026-04-15T21:59:59Z", 41, 2000},
		{"cap exceeded", "2026-04-01 09:00:00", "2026-05-27 09:00:00", "2026-04-15T21:59:59Z", 42, 2000},
		{"100 years late, capped", "2026-04-01 09:00:00", "2126-04-16 09:00:00", "2026-04-15T21:59:59Z", 36525, 2000},
	}
	var total int64
	var members []int64
	for _, row := range rows {
		c.clock.Set(at(row.borrow))
		adult := c.member("Adult", "") // one each, so that no row's fees block the next borrow
		members = append(members, adult)
		total += row.wantFee
		loan := c.borrow(adult, book.ID)[0]
		if loan.DueAt != row.wantDue {
			t.Errorf("%s: due_at %s, want %s", row.name, loan.DueAt, row.wantDue)
		}
		c.clock.Set(at(row.ret))
		ret := decode[wireReturn](t, c.post("/api/return", idsJSON(loan.TransactionID)).must(t, 200)).Returns[0]
		if days := c.p.OverdueDays(mustTime(t, row.wantDue), at(row.ret)); days != row.wantDays {
			t.Errorf("%s: the policy counts %d overdue days, the table %d", row.name, days, row.wantDays)
		}
		switch {
		case row.wantFee == 0 && ret.LateFee != nil:
			t.Errorf("%s: late fee %+v, want none", row.name, *ret.LateFee)
		case row.wantFee != 0 && (ret.LateFee == nil || ret.LateFee.Amount != row.wantFee || ret.LateFee.Currency != "EUR" || ret.LateFee.FeeID == ""):
			t.Errorf("%s: late fee %+v, want %d EUR", row.name, ret.LateFee, row.wantFee)
		}
	}
	// Every assessed fee is in its member's ledger.
	var sum int64
	for _, m := range members {
		ledger := decode[wireLedger](t, c.get(fmt.Sprintf("/api/users/%d/fees", m)).must(t, 200))
		for _, f := range ledger.Fees {
			sum += f.Amount
		}
	}
	if sum != total {
		t.Fatalf("the ledgers hold %d in fees, the returns assessed %d", sum, total)
	}
	CheckStock(t, c.db)
}

func mustTime(t testing.TB, s string) time.Time {
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type wireFee struct {
	FeeID         string `json:"fee_id"`
	UserID        int64  `json:"user_id"`
	TransactionID string `json:"transaction_id"`
	Amount        int64  `json:"amount"`
	Paid          int64  `json:"paid"`
	Outstanding   int64  `json:"outstanding"`
	Status        string `json:"status"`
	WaiveReason   string `json:"waive_reason"`
}

type wireLedger struct {
	Currency    string    `json:"currency"`
	Outstanding int64     `json:"outstanding"`
	Paid        int64     `json:"paid"`
	Waived      int64     `json:"waived"`
	Fees        []wireFee `json:"fees"`
}

func testRenew(t *testing.T, c *circClient) {
	adult, child := c.member("Adult", ""), c.member("Child", "child")
	a, b := c.createBook("A", 5), c.createBook("B", 5)
	la := c.borrow(adult, a.ID)[0] // due 2026-03-15 end of day, Paris
	lc := c.borrow(child, b.ID)[0] // due 2026-03-08 end of day
	if la.DueAt != "2026-03-15T22:59:59Z" || lc.DueAt != "2026-03-08T22:59:59Z" {
		t.Fatalf("due dates %s and %s", la.DueAt, lc.DueAt)
	}
	// Renewing early extends from the due date, not from now.
	r := decode[struct{ Renewals []wireLoan }](t, c.post("/api/renew", idsJSON(la.TransactionID, lc.TransactionID)).must(t, 200))
	if r.Renewals[0].DueAt != "2026-03-29T21:59:59Z" || r.Renewals[1].DueAt != "2026-03-15T22:59:59Z" {
		t.Fatalf("renewed due dates %s and %s", r.Renewals[0].DueAt, r.Renewals[1].DueAt)
	}
	// The child is at its one renewal: the batch fails whole and names it.
	dump := Dump(t, c.db)
	p := wantProblem(t, c.post("/api/renew", idsJSON(la.TransactionID, lc.TransactionID)), 409)
	if len(p.Errors) != 1 || p.Errors[0].Code != litengine.ItemRenewalLimit || p.Errors[0].TransactionID != lc.TransactionID {
		t.Fatalf("renewal limit: %+v", p.Errors)
	}
	if Dump(t, c.db) != dump {
		t.Fatal("a refused renewal changed the database")
	}
	// An overdue loan is not renewed: it is returned, and its fee assessed.
	c.clock.Set(time.Date(2026, 4, 2, 10, 0, 0, 0, time.UTC))
	dump = Dump(t, c.db)
	p = wantProblem(t, c.post("/api/renew", idsJSON(la.TransactionID)), 409)
	if len(p.Errors) != 1 || p.Errors[0].Code != litengine.ItemOverdue {
		t.Fatalf("renewing an overdue loan: %+v", p.Errors)
	}
	if Dump(t, c.db) != dump {
		t.Fatal("a refused renewal changed the database")
	}
	// Returned loans, unknown ids and suspended members are refused.
	c.post("/api/return", idsJSON(lc.TransactionID)).must(t, 200)
	lb := c.borrow(adult, b.ID)[0]
	c.do("PATCH", fmt.Sprintf("/api/users/%d", adult), "application/json", `{"suspended":true}`).must(t, 200)
	p = wantProblem(t, c.post("/api/renew", idsJSON(lc.TransactionID, "nope", lb.TransactionID)), 404)
	codes := []string{}
	for _, e := range p.Errors {
		codes = append(codes, e.Code)
	}
	if strings.Join(codes, ",") != "already_returned,not_found,user_suspended" {
		t.Fatalf("renew culprits %v", codes)
	}
}

func testBorrowRules(t *testing.T, c *circClient) {
	adult := c.member("Adult", "")
	books := make([]int64, 5)
	for i := range books {
		books[i] = c.createBook(fmt.Sprintf("Book %d", i), 5).ID
	}
	c.borrow(adult, books[0])
	check := func(label string, body string, status int, want map[int64]string) {
		t.Helper()
		dump := Dump(t, c.db)
		p := wantProblem(t, c.post("/api/borrow", body), status)
		got := map[int64]string{}
		for _, e := range p.Errors {
			got[e.BookID] = e.Code
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: culprits %v, want %v", label, got, want)
		}
		if Dump(t, c.db) != dump {
			t.Errorf("%s: a refused borrow changed the database", label)
		}
	}
	// Holding 1 of 3: a batch of 3 leaves its last book over the limit; the
	// book already on loan is named too.
	check("limit and already on loan", fmt.Sprintf(`{"user_id":%d,"books":[%d,%d,%d,%d]}`, adult, books[1], books[0], books[2], books[3]), 409,
		map[int64]string{books[0]: litengine.ItemAlreadyOnLoan, books[3]: litengine.ItemLoanLimit})
	c.borrow(adult, books[1], books[2]) // exactly at the limit
	check("at the limit", fmt.Sprintf(`{"user_id":%d,"books":[%d]}`, adult, books[3]), 409,
		map[int64]string{books[3]: litengine.ItemLoanLimit})

	// Suspension refuses every book.
	other := c.member("Other", "")
	c.do("PATCH", fmt.Sprintf("/api/users/%d", other), "application/json", `{"suspended":true}`).must(t, 200)
	check("suspended", fmt.Sprintf(`{"user_id":%d,"books":[%d,%d]}`, other, books[3], books[4]), 409,
		map[int64]string{books[3]: litengine.ItemUserSuspended, books[4]: litengine.ItemUserSuspended})
	c.do("PATCH", fmt.Sprintf("/api/users/%d", other), "application/json", `{"suspended":false}`).must(t, 200)
	l := c.borrow(other, books[3])[0]

	// Unpaid fees above 5.00 block borrowing: 21 days late, 20 charged, is 10.00.
	c.clock.Advance(35 * 24 * time.Hour)
	c.post("/api/return", idsJSON(l.TransactionID)).must(t, 200)
	check("unpaid fees", fmt.Sprintf(`{"user_id":%d,"books":[%d]}`, other, books[4]), 409,
		map[int64]string{books[4]: litengine.ItemUnpaidFees})
	CheckStock(t, c.db)
}

// testLoanLimitRace sends many concurrent batches for one member: together
// they never exceed the member's limit of 3 loans.
func testLoanLimitRace(t *testing.T, c *circClient) {
	books := make([]int64, 16)
	for i := range books {
		books[i] = c.createBook(fmt.Sprintf("Race %d", i), 10).ID
	}
	for round := range 5 {
		member := c.member(fmt.Sprintf("Racer %d", round), "")
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				r := c.post("/api/borrow", fmt.Sprintf(`{"user_id":%d,"books":[%d,%d]}`, member, books[2*i], books[2*i+1]))
				if r.status != 201 && r.status != 409 {
					t.Errorf("racing borrow: %d %s", r.status, r.body)
				}
			})
		}
		wg.Wait()
		var active int
		if err := c.db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM loans WHERE user_id = %d AND returned_at IS NULL`, member)).Scan(&active); err != nil {
			t.Fatal(err)
		}
		if active > 3 || active == 0 {
			t.Fatalf("round %d: %d active loans after racing batches, want 1 to 3", round, active)
		}
	}
	CheckStock(t, c.db)
}

func testFeeLedger(t *testing.T, c *circClient) {
	member := c.member("Payer", "")
	book := c.createBook("Late", 2)
	loans := c.borrow(member, book.ID)
	c.clock.Advance(20 * 24 * time.Hour) // due 15 March; returned 21 March: 6 days, 5 charged
	fee := decode[wireReturn](t, c.post("/api/return", idsJSON(loans[0].TransactionID)).must(t, 200)).Returns[0].LateFee
	if fee == nil || fee.Amount != 250 {
		t.Fatalf("late fee %+v, want 250", fee)
	}
	c.clock.Advance(time.Hour)
	loans = c.borrow(member, book.ID)
	c.clock.Advance(40 * 24 * time.Hour)
	second := decode[wireReturn](t, c.post("/api/return", idsJSON(loans[0].TransactionID)).must(t, 200)).Returns[0].LateFee

	pay := func(feeID string, amount int64) apiResponse {
		return c.post("/api/fees/pay", fmt.Sprintf(`{"payments":[{"fee_id":%q,"amount":%d}]}`, feeID, amount))
	}
	paid := decode[struct{ Fees []wireFee }](t, pay(fee.FeeID, 100).must(t, 200)).Fees[0]
	if paid.Paid != 100 || paid.Outstanding != 150 || paid.Status != "open" {
		t.Fatalf("after a partial payment: %+v", paid)
	}
	dump := Dump(t, c.db)
	p := wantProblem(t, c.post("/api/fees/pay", fmt.Sprintf(`{"payments":[{"fee_id":%q,"amount":150},{"fee_id":%q,"amount":%d},{"fee_id":"nope","amount":1}]}`,
		fee.FeeID, second.FeeID, second.Amount+1)), 404)
	if len(p.Errors) != 2 || p.Errors[0].Code != litengine.ItemOverpayment || p.Errors[1].Code != litengine.ItemNotFound {
		t.Fatalf("payment culprits: %+v", p.Errors)
	}
	if Dump(t, c.db) != dump {
		t.Fatal("a refused payment changed the database")
	}
	pay(fee.FeeID, 150).must(t, 200)
	if p := wantProblem(t, pay(fee.FeeID, 1), 409); p.Errors[0].Code != litengine.ItemSettled {
		t.Fatalf("paying a paid fee: %+v", p.Errors)
	}
	waived := decode[wireFee](t, c.post("/api/fees/"+second.FeeID+"/waive", `{"reason":"Flooded branch"}`).must(t, 200))
	if waived.Status != "waived" || waived.Outstanding != 0 || waived.WaiveReason != "Flooded branch" {
		t.Fatalf("waived %+v", waived)
	}
	wantProblem(t, c.post("/api/fees/"+second.FeeID+"/waive", `{"reason":"Again"}`), 409)
	wantProblem(t, c.post("/api/fees/"+second.FeeID+"/waive", `{"reason":" "}`), 400)
	wantProblem(t, c.post("/api/fees/nope/waive", `{"reason":"x"}`), 404)

	ledger := decode[wireLedger](t, c.get(fmt.Sprintf("/api/users/%d/fees", member)).must(t, 200))
	if ledger.Currency != "EUR" || ledger.Outstanding != 0 || ledger.Paid != 250 || ledger.Waived != second.Amount || len(ledger.Fees) != 2 ||
		ledger.Fees[0].Status != "paid" || ledger.Fees[1].Status != "waived" {
		t.Fatalf("ledger %+v", ledger)
	}
	// A member key reads its own ledger only and cannot settle fees.
	own := c.as(NewKey(t, c.store, litengine.RoleMember, member))
	own.get(fmt.Sprintf("/api/users/%d/fees", member)).must(t, 200)
	wantProblem(t, own.get(fmt.Sprintf("/api/users/%d/fees", c.member("Someone", ""))), 403)
	wantProblem(t, own.post("/api/fees/pay", fmt.Sprintf(`{"payments":[{"fee_id":%q,"amount":1}]}`, fee.FeeID)), 403)
	wantProblem(t, c.get("/api/users/999999/fees"), 404)
}

// testAuditTrail runs a little of everything, then checks the trail: commit
// order, a loan's whole history from its transaction ID, the filters, no
// event from a refused request, and a replay that rebuilds the database.
func testAuditTrail(t *testing.T, c *circClient) {
	client := &http.Client{Transport: BearerTransport{Token: c.token, Base: SpecTransport(t, nil)}}
	events := func(q url.Values) []WireEvent { return FetchEvents(t, client, c.url, q, 3) }

	a, b := c.createBook("A", 2), c.createBook("B", 1)
	c.post("/api/inventory", fmt.Sprintf(`{"inventory":[{"bookid":%d,"totalqty":3},{"bookid":%d,"totalqty":1}]}`, a.ID, b.ID)).must(t, 200)
	ada, bob := c.member("Ada", ""), c.member("Bob", "child")
	la := c.borrow(ada, a.ID, b.ID)
	lb := c.borrow(bob, a.ID)
	c.post("/api/renew", idsJSON(la[0].TransactionID)).must(t, 200)
	before := len(events(nil))
	wantProblem(t, c.post("/api/borrow", fmt.Sprintf(`{"user_id":%d,"books":[%d]}`, bob, b.ID)), 409)
	if n := len(events(nil)); n != before {
		t.Fatalf("a refused borrow appended %d events", n-before)
	}
	c.clock.Advance(40 * 24 * time.Hour)
	ret := decode[wireReturn](t, c.post("/api/return", idsJSON(la[0].TransactionID, lb[0].TransactionID)).must(t, 200))
	fee := ret.Returns[0].LateFee
	if fee == nil {
		t.Fatal("no late fee")
	}
	c.post("/api/fees/pay", fmt.Sprintf(`{"payments":[{"fee_id":%q,"amount":1}]}`, fee.FeeID)).must(t, 200)
	c.post("/api/fees/"+fee.FeeID+"/waive", `{"reason":"Goodwill"}`).must(t, 200)
	c.do("PATCH", fmt.Sprintf("/api/users/%d", bob), "application/json", `{"suspended":true}`).must(t, 200)

	// A loan's history, fees included, in order.
	var types []string
	for _, e := range events(url.Values{"transaction_id": {la[0].TransactionID}}) {
		types = append(types, e.Type)
		if e.Actor == "" {
			t.Errorf("event %d has no actor", e.Seq)
		}
	}
	if want := "loan.borrowed loan.renewed loan.returned fee.assessed fee.paid fee.waived"; strings.Join(types, " ") != want {
		t.Fatalf("history of %s: %v, want %s", la[0].TransactionID, types, want)
	}
	for q, want := range map[string]int{
		"type=stock.changed":                  1, // A 2→3; B is unchanged, which is no change
		fmt.Sprintf("book_id=%d", b.ID):       2, // created, borrowed (stock unchanged)
		fmt.Sprintf("user_id=%d", bob):        5, // created, borrowed, returned, fee assessed, updated
		"type=fee.assessed":                   2,
		"until=" + epoch.Format(time.RFC3339): 0,
	} {
		v, _ := url.ParseQuery(q)
		if n := len(events(v)); n != want {
			t.Errorf("GET /api/audit?%s: %d events, want %d", q, n, want)
		}
	}
	since := url.Values{"since": {c.clock.Now().Format(time.RFC3339)}}
	if n := len(events(since)); n != 4+2+1 { // 2 returns, 2 fees, paid, waived, user updated
		t.Errorf("events since the returns: %d, want 7", n)
	}
	wantProblem(t, c.get("/api/audit?type=nope"), 400)
	wantProblem(t, c.get("/api/audit?cursor=bad"), 400)
	CheckReplay(t, client, c.url, c.db)
}

// testInventoryAudit finds nothing wrong in a sound database, then reports
// the one book whose counter was corrupted behind the engine's back.
func testInventoryAudit(t *testing.T, c *circClient) {
	var books []int64
	for i := range 5 {
		books = append(books, c.createBook(fmt.Sprintf("Audited %d", i), 3).ID)
	}
	c.borrow(c.member("Reader", ""), books[1], books[3])
	type row struct {
		BookID      int64 `json:"bookid"`
		TotalQty    int64 `json:"totalqty"`
		OnLoan      int64 `json:"on_loan"`
		Available   int64 `json:"available"`
		ActiveLoans int64 `json:"active_loans"`
		Consistent  bool  `json:"consistent"`
	}
	page := decode[struct{ Items []row }](t, c.get("/api/inventory/audit?limit=1000").must(t, 200))
	if len(page.Items) != 5 || page.Items[1].OnLoan != 1 || page.Items[1].ActiveLoans != 1 || page.Items[1].Available != 2 {
		t.Fatalf("audit %+v", page.Items)
	}
	for _, r := range page.Items {
		if !r.Consistent {
			t.Fatalf("a sound database reported inconsistent: %+v", r)
		}
	}
	if bad := decode[struct{ Items []row }](t, c.get("/api/inventory/audit?inconsistent=true").must(t, 200)); len(bad.Items) != 0 {
		t.Fatalf("inconsistencies in a sound database: %+v", bad.Items)
	}
	if _, err := c.db.Exec(fmt.Sprintf(`UPDATE books SET on_loan = 2 WHERE id = %d`, books[3])); err != nil {
		t.Fatal(err)
	}
	bad := decode[struct{ Items []row }](t, c.get("/api/inventory/audit?inconsistent=true").must(t, 200))
	if len(bad.Items) != 1 || bad.Items[0].BookID != books[3] || bad.Items[0].OnLoan != 2 || bad.Items[0].ActiveLoans != 1 || bad.Items[0].Consistent {
		t.Fatalf("corrupted book %d: audit reports %+v", books[3], bad.Items)
	}
	// Pagination walks every book once.
	seen := 0
	cursor := ""
	for {
		p := decode[struct {
			Items      []row
			NextCursor string `json:"next_cursor"`
		}](t, c.get("/api/inventory/audit?limit=2&cursor="+cursor).must(t, 200))
		seen += len(p.Items)
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if seen != 5 {
		t.Fatalf("paged through %d books, want 5", seen)
	}
}

// testOverdue lists active loans past due, with days and the fee so far.
func testOverdue(t *testing.T, c *circClient) {
	adult, child := c.member("Adult", ""), c.member("Child", "child")
	a, b, d := c.createBook("A", 5), c.createBook("B", 5), c.createBook("C", 5)
	la := c.borrow(adult, a.ID, b.ID) // due 15 March
	c.borrow(child, d.ID)             // due 8 March
	c.clock.Advance(10 * 24 * time.Hour)
	c.borrow(adult, d.ID) // due 25 March: never overdue here
	c.post("/api/return", idsJSON(la[1].TransactionID)).must(t, 200)
	type item struct {
		TransactionID string `json:"transaction_id"`
		UserID        int64  `json:"user_id"`
		DaysOverdue   int64  `json:"days_overdue"`
		AccruedFee    struct {
			Amount   int64  `json:"amount"`
			Currency string `json:"currency"`
		} `json:"accrued_fee"`
	}
	list := func() []item {
		return decode[struct{ Items []item }](t, c.get("/api/loans?status=overdue&limit=100").must(t, 200)).Items
	}
	// 11 March, 10:30 Paris: only the child's loan, 3 days late at 0.10 a day.
	if got := list(); len(got) != 1 || got[0].UserID != child || got[0].DaysOverdue != 3 || got[0].AccruedFee.Amount != 30 || got[0].AccruedFee.Currency != "EUR" {
		t.Fatalf("overdue on 11 March: %+v", got)
	}
	c.clock.Advance(10 * 24 * time.Hour) // 21 March: the adult's first loan 6 days late, 5 charged; the child's capped
	got := list()
	if len(got) != 2 || got[0].TransactionID != la[0].TransactionID || got[0].DaysOverdue != 6 || got[0].AccruedFee.Amount != 250 ||
		got[1].UserID != child || got[1].AccruedFee.Amount != 100 {
		t.Fatalf("overdue on 21 March: %+v", got)
	}
	wantProblem(t, c.get("/api/loans"), 400)
	wantProblem(t, c.get("/api/loans?status=active"), 400)
}
