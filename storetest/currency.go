package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/litengine/litengine"
)

// Opener opens the same database again and again, under the given policy
// and clock.
type Opener func(p *litengine.Policies, now func() time.Time) (litengine.Store, error)

// RunCurrencyMismatch checks that a database whose fees are in one currency
// does not open under a policy in another: the ledger would add euros to yen.
func RunCurrencyMismatch(t *testing.T, open Opener) {
	ctx := context.Background()
	clock := NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	db, err := open(nil, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := db.CreateUser(ctx, &litengine.UserCreate{Name: "Late"})
	b, _ := db.CreateBook(ctx, &litengine.BookCreate{Title: "Late", TotalQty: 1})
	loans, err := db.Borrow(ctx, u.ID, []int64{b.ID})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(30 * 24 * time.Hour)
	if returned, err := db.Return(ctx, []string{loans[0].ID}); err != nil || returned[0].LateFee == nil {
		t.Fatalf("return: %v, fee %v", err, returned)
	}
	db.Close()

	yen := litengine.DefaultPolicies()
	yen.Currency = "JPY"
	if db, err := open(yen, nil); err == nil {
		db.Close()
		t.Fatal("opened EUR fees under a JPY policy")
	} else if !strings.Contains(err.Error(), "holds fees in EUR") {
		t.Fatalf("opening EUR fees under a JPY policy: %v, want the currency named", err)
	}
	if db, err = open(nil, nil); err != nil {
		t.Fatalf("reopening under the same currency: %v", err)
	}
	db.Close()
}
