package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/litengine/litengine"
)

// TestLoanLimitRace: two batches of the same member, of different books, run
// at once, over and over. The book locks do not order them; only the
// member's row lock does (lockMember). Together they would pass the loan
// limit, so exactly one may succeed, and the other must be refused naming
// the book over the limit.
func TestLoanLimitRace(t *testing.T) {
	p := litengine.DefaultPolicies()
	p.Default.MaxActiveLoans = 3
	db, _ := openTest(t, Options{Policies: p})
	ctx := context.Background()
	var books []int64
	for i := range 4 {
		b, err := db.CreateBook(ctx, &litengine.BookCreate{Title: fmt.Sprintf("B%d", i), TotalQty: 1000})
		if err != nil {
			t.Fatal(err)
		}
		books = append(books, b.ID)
	}
	batches := [2][]int64{books[:2], books[2:]}
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	for round := range rounds {
		u, err := db.CreateUser(ctx, &litengine.UserCreate{Name: fmt.Sprintf("Member %d", round)})
		if err != nil {
			t.Fatal(err)
		}
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  [2]error
		)
		for i, batch := range batches {
			wg.Go(func() {
				<-start
				_, errs[i] = db.Borrow(ctx, u.ID, batch)
			})
		}
		close(start)
		wg.Wait()
		active, err := db.FindLoans(ctx, litengine.LoanFilter{UserID: u.ID, Status: litengine.LoanActive, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(active) > p.Default.MaxActiveLoans {
			t.Fatalf("round %d: member holds %d loans, limit %d (borrow errors %v, %v)",
				round, len(active), p.Default.MaxActiveLoans, errs[0], errs[1])
		}
		refused := 0
		for i, err := range errs {
			if err == nil {
				continue
			}
			refused++
			var e *litengine.Error
			if !errors.As(err, &e) || e.Code != litengine.ECONFLICT || len(e.Items) != 1 ||
				e.Items[0].Code != litengine.ItemLoanLimit || e.Items[0].Index != 1 || e.Items[0].BookID != batches[i][1] {
				t.Fatalf("round %d: batch %d refused with %v %+v; want one loan_limit item, the second book", round, i, err, e)
			}
		}
		if refused != 1 || len(active) != 2 {
			t.Fatalf("round %d: %d batches refused, %d loans held; want 1 and 2 (errors %v, %v)",
				round, refused, len(active), errs[0], errs[1])
		}
	}
}

// TestPaymentRace: two payments of one fee, each of most of what it owes, run
// at once: exactly one may pass, the other is an overpayment, and the fee is
// never paid beyond its amount.
func TestPaymentRace(t *testing.T) {
	clock := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); clock = clock.Add(d) }
	p := litengine.DefaultPolicies()
	p.Default.MaxUnpaid = 1 << 40 // keep borrowing despite the fees
	db, _ := openTest(t, Options{Policies: p, Now: now})
	ctx := context.Background()
	u, err := db.CreateUser(ctx, &litengine.UserCreate{Name: "Late"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.CreateBook(ctx, &litengine.BookCreate{Title: "Late book", TotalQty: 1})
	if err != nil {
		t.Fatal(err)
	}
	rounds := 50
	if testing.Short() {
		rounds = 10
	}
	for round := range rounds {
		loans, err := db.Borrow(ctx, u.ID, []int64{b.ID})
		if err != nil {
			t.Fatal(err)
		}
		advance(20 * 24 * time.Hour) // 6 days late at least: 1.50 or more
		returned, err := db.Return(ctx, []string{loans[0].ID})
		if err != nil {
			t.Fatal(err)
		}
		fee := returned[0].LateFee
		if fee == nil || fee.Amount < 2 {
			t.Fatalf("round %d: late return assessed %+v", round, fee)
		}
		pay := fee.Amount/2 + 1
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  [2]error
		)
		for i := range errs {
			wg.Go(func() {
				<-start
				_, errs[i] = db.PayFees(ctx, []litengine.FeePayment{{FeeID: fee.ID, Amount: pay}})
			})
		}
		close(start)
		wg.Wait()
		fees, err := db.FindFees(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := fees[len(fees)-1]
		if got.ID != fee.ID || got.Paid != pay {
			t.Fatalf("round %d: fee after two racing payments of %d: %+v (errors %v, %v)", round, pay, got, errs[0], errs[1])
		}
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: payment errors %v, %v; want exactly one", round, errs[0], errs[1])
		}
		for _, err := range errs {
			var e *litengine.Error
			if err != nil && (!errors.As(err, &e) || len(e.Items) != 1 || e.Items[0].Code != litengine.ItemOverpayment) {
				t.Fatalf("round %d: refused payment %v; want an overpayment", round, err)
			}
		}
	}
}
