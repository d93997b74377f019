package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/sqlite"
	"github.com/litengine/litengine/storetest"
)

// The conformance suite covers the circulation rules on every store; these
// tests check the SQLite specifics: the schema, the single writer, and the
// rows behind each answer.

func openCirculation(t *testing.T, p *litengine.Policies) (*sqlite.DB, *storetest.Clock) {
	t.Helper()
	clock := storetest.NewClock(time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC))
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"),
		sqlite.Options{Now: clock.Now, Policies: p, Synchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, clock
}

func itemCodes(t *testing.T, err error) []string {
	t.Helper()
	var e *litengine.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a litengine error", err)
	}
	codes := make([]string, len(e.Items))
	for i, it := range e.Items {
		codes[i] = it.Code
	}
	return codes
}

func TestCirculationRules(t *testing.T) {
	p := litengine.DefaultPolicies()
	p.Default.MaxActiveLoans = 2
	p.Categories["staff"] = litengine.LoanPolicy{LoanDays: 30, RenewalDays: 7, MaxRenewals: 1,
		MaxActiveLoans: 5, DailyFee: 10, MaxFee: 100, MaxUnpaid: 0}
	db, clock := openCirculation(t, p)
	ctx := context.Background()

	u, err := db.CreateUser(ctx, &litengine.UserCreate{Name: "Ann", Category: "staff"})
	if err != nil || u.Category != "staff" || u.Suspended {
		t.Fatalf("create user = %+v, %v", u, err)
	}
	if got, err := db.FindUserByID(ctx, u.ID); err != nil || got.Category != "staff" || got.Suspended {
		t.Fatalf("find user = %+v, %v", got, err)
	}
	var books []int64
	for _, title := range []string{"A", "B", "C"} {
		b, err := db.CreateBook(ctx, &litengine.BookCreate{Title: title})
		if err != nil {
			t.Fatal(err)
		}
		books = append(books, b.ID)
	}
	if _, err := db.SetInventory(ctx, []litengine.StockChange{{BookID: books[0], TotalQty: 2}, {BookID: books[1], TotalQty: 2}, {BookID: books[2], TotalQty: 2}}); err != nil {
		t.Fatal(err)
	}

	// Suspension refuses borrowing and changes nothing.
	yes, no, none := true, false, ""
	if got, err := db.UpdateUser(ctx, u.ID, &litengine.UserUpdate{Suspended: &yes}); err != nil || !got.Suspended || got.Category != "staff" {
		t.Fatalf("suspend = %+v, %v", got, err)
	}
	_, err = db.Borrow(ctx, u.ID, books[:1])
	if codes := itemCodes(t, err); len(codes) != 1 || codes[0] != litengine.ItemUserSuspended {
		t.Fatalf("borrow while suspended: %v", codes)
	}
	if _, err := db.UpdateUser(ctx, u.ID, &litengine.UserUpdate{Suspended: &no}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateUser(ctx, 999, &litengine.UserUpdate{Suspended: &no}); litengine.ErrorCode(err) != litengine.ENOTFOUND {
		t.Fatalf("update unknown user: %v", err)
	}

	loans, err := db.Borrow(ctx, u.ID, books[:2])
	if err != nil {
		t.Fatal(err)
	}
	wantDue := time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC) // 30 staff days, end of day
	if !loans[0].DueAt.Equal(wantDue) || loans[0].Renewals != 0 {
		t.Fatalf("loan = %+v, want due %s", loans[0], wantDue)
	}
	_, err = db.Borrow(ctx, u.ID, books[:1])
	if codes := itemCodes(t, err); len(codes) != 1 || codes[0] != litengine.ItemAlreadyOnLoan {
		t.Fatalf("borrow again: %v", codes)
	}

	// Renew once, then the limit.
	renewed, err := db.Renew(ctx, []string{loans[1].ID})
	if err != nil || renewed[0].Renewals != 1 || !renewed[0].DueAt.Equal(wantDue.AddDate(0, 0, 7)) {
		t.Fatalf("renew = %+v, %v", renewed, err)
	}
	_, err = db.Renew(ctx, []string{loans[0].ID, loans[1].ID, "nope"})
	if codes := itemCodes(t, err); len(codes) != 2 || codes[0] != litengine.ItemRenewalLimit || codes[1] != litengine.ItemNotFound {
		t.Fatalf("renew over limit: %v", codes)
	}
	if got, err := db.FindLoansByID(ctx, []string{loans[0].ID, loans[1].ID}); err != nil || got[0].Renewals+got[1].Renewals != 1 {
		t.Fatalf("loans after a failed renewal = %+v, %v", got, err)
	}

	// Returned 3 days late: 30 per loan (10 a day); the second loan is not late.
	clock.Advance(33 * 24 * time.Hour)
	returned, err := db.Return(ctx, []string{loans[0].ID, loans[1].ID})
	if err != nil {
		t.Fatal(err)
	}
	fee := returned[0].LateFee
	if fee == nil || fee.Amount != 30 || fee.Currency != "EUR" || fee.TransactionID != loans[0].ID || fee.UserID != u.ID ||
		fee.BookID != books[0] || returned[1].LateFee != nil || returned[1].Renewals != 1 {
		t.Fatalf("returned = %+v / %+v", returned[0], returned[1])
	}
	fees, err := db.FindFees(ctx, u.ID)
	if err != nil || len(fees) != 1 || fees[0].ID != fee.ID || fees[0].Amount != 30 || fees[0].WaivedAt != nil ||
		!fees[0].AssessedAt.Equal(*returned[0].ReturnedAt) {
		t.Fatalf("fees = %+v, %v", fees, err)
	}

	// Staff may owe nothing when borrowing.
	_, err = db.Borrow(ctx, u.ID, books[2:])
	if codes := itemCodes(t, err); len(codes) != 1 || codes[0] != litengine.ItemUnpaidFees {
		t.Fatalf("borrow while owing: %v", codes)
	}

	// Payments: all or nothing.
	_, err = db.PayFees(ctx, []litengine.FeePayment{{FeeID: fee.ID, Amount: 10}, {FeeID: "unknown", Amount: 1}})
	if codes := itemCodes(t, err); len(codes) != 1 || codes[0] != litengine.ItemNotFound {
		t.Fatalf("pay unknown: %v", codes)
	}
	_, err = db.PayFees(ctx, []litengine.FeePayment{{FeeID: fee.ID, Amount: 31}})
	if codes := itemCodes(t, err); len(codes) != 1 || codes[0] != litengine.ItemOverpayment {
		t.Fatalf("overpay: %v", codes)
	}
	paid, err := db.PayFees(ctx, []litengine.FeePayment{{FeeID: fee.ID, Amount: 10}})
	if err != nil || paid[0].Paid != 10 || paid[0].Outstanding() != 20 {
		t.Fatalf("pay = %+v, %v", paid, err)
	}

	// Waive the rest, then it is settled.
	if _, err := db.WaiveFee(ctx, fee.ID, "  "); litengine.ErrorCode(err) != litengine.EINVALID {
		t.Fatalf("waive without reason: %v", err)
	}
	if _, err := db.WaiveFee(ctx, "unknown", "x"); litengine.ErrorCode(err) != litengine.ENOTFOUND {
		t.Fatalf("waive unknown: %v", err)
	}
	waived, err := db.WaiveFee(ctx, fee.ID, "First time")
	if err != nil || waived.WaivedAt == nil || waived.WaiveReason != "First time" || waived.Status() != litengine.FeeWaived {
		t.Fatalf("waive = %+v, %v", waived, err)
	}
	if _, err := db.WaiveFee(ctx, fee.ID, "again"); litengine.ErrorCode(err) != litengine.ECONFLICT {
		t.Fatalf("waive twice: %v", err)
	}
	_, err = db.PayFees(ctx, []litengine.FeePayment{{FeeID: fee.ID, Amount: 1}})
	if codes := itemCodes(t, err); len(codes) != 1 || codes[0] != litengine.ItemSettled {
		t.Fatalf("pay waived: %v", codes)
	}
	fees, err = db.FindFees(ctx, u.ID)
	if err != nil || len(fees) != 1 || fees[0].Paid != 10 || fees[0].WaivedAt == nil || !fees[0].WaivedAt.Equal(*waived.WaivedAt) {
		t.Fatalf("fees after waiver = %+v, %v", fees, err)
	}

	// Nothing owed now; back to the default policy and its limit of 2.
	if got, err := db.UpdateUser(ctx, u.ID, &litengine.UserUpdate{Category: &none}); err != nil || got.Category != "" || got.Suspended {
		t.Fatalf("update category = %+v, %v", got, err)
	}
	if _, err := db.Borrow(ctx, u.ID, books[:1]); err != nil {
		t.Fatal(err)
	}
	_, err = db.Borrow(ctx, u.ID, books[1:])
	if codes := itemCodes(t, err); len(codes) != 1 || codes[0] != litengine.ItemLoanLimit {
		t.Fatalf("borrow over the limit: %v", codes)
	}
	if _, err := db.FindFees(ctx, 999); litengine.ErrorCode(err) != litengine.ENOTFOUND {
		t.Fatalf("fees of unknown member: %v", err)
	}
}

// TestBorrowLimitUnderConcurrency: batches of one member racing never hold
// more loans together than the policy allows, as the single writer judges
// each on what the previous ones committed.
func TestBorrowLimitUnderConcurrency(t *testing.T) {
	p := litengine.DefaultPolicies()
	p.Default.MaxActiveLoans = 5
	db, _ := openCirculation(t, p)
	ctx := context.Background()
	u, err := db.CreateUser(ctx, &litengine.UserCreate{Name: "Racer"})
	if err != nil {
		t.Fatal(err)
	}
	var changes []litengine.StockChange
	for range 20 {
		b, err := db.CreateBook(ctx, &litengine.BookCreate{Title: "T"})
		if err != nil {
			t.Fatal(err)
		}
		changes = append(changes, litengine.StockChange{BookID: b.ID, TotalQty: 1})
	}
	if _, err := db.SetInventory(ctx, changes); err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
	)
	for g := range 10 {
		wg.Go(func() {
			loans, err := db.Borrow(ctx, u.ID, []int64{changes[2*g].BookID, changes[2*g+1].BookID})
			if err == nil {
				mu.Lock()
				total += len(loans)
				mu.Unlock()
			} else if litengine.ErrorCode(err) != litengine.ECONFLICT {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	active, err := db.FindLoans(ctx, litengine.LoanFilter{UserID: u.ID, Status: litengine.LoanActive, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if total != 4 || len(active) != 4 {
		t.Fatalf("%d loans made, %d active; want 4 (two batches of two under a limit of 5)", total, len(active))
	}
}
