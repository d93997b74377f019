package litengine

import (
	"context"
	"fmt"
	"time"
)

// Fee is money a member owes the library: the late fee of one loan. Amounts
// are in minor units of Currency (cents for EUR), never float.
type Fee struct {
	ID            string // opaque, sorts in the order fees were assessed
	UserID        int64
	TransactionID string // the loan it was assessed on
	BookID        int64
	Amount        int64 // assessed
	Paid          int64 // paid so far
	Currency      string
	AssessedAt    time.Time
	WaivedAt      *time.Time
	WaiveReason   string
}

// Fee statuses.
const (
	FeeOpen   = "open"
	FeePaid   = "paid"
	FeeWaived = "waived"
)

// Outstanding is what is still owed: nothing once paid in full or waived.
func (f *Fee) Outstanding() int64 {
	if f.WaivedAt != nil {
		return 0
	}
	return f.Amount - f.Paid
}

// Status is open, paid or waived.
func (f *Fee) Status() string {
	switch {
	case f.WaivedAt != nil:
		return FeeWaived
	case f.Paid >= f.Amount:
		return FeePaid
	}
	return FeeOpen
}

// FeePayment pays part or all of one fee.
type FeePayment struct {
	FeeID  string
	Amount int64
}

// MaxWaiveReasonRunes bounds the reason given for a waiver.
const MaxWaiveReasonRunes = 500

// Item codes of fee payments.
const (
	ItemSettled     = "settled"     // the fee is already paid or waived
	ItemOverpayment = "overpayment" // the amount is more than the fee's outstanding amount
)

// FeeService keeps the fee ledger.
type FeeService interface {
	// FindFees lists all of a member's fees, open and settled, oldest first.
	FindFees(ctx context.Context, userID int64) ([]*Fee, error)
	// PayFees records the payments in one transaction: all or nothing.
	PayFees(ctx context.Context, payments []FeePayment) ([]*Fee, error)
	// WaiveFee forgives what is outstanding of a fee, with a reason.
	WaiveFee(ctx context.Context, feeID, reason string) (*Fee, error)
}

// ValidatePayments checks a payment batch before it reaches the database.
func ValidatePayments(payments []FeePayment) error {
	if len(payments) == 0 {
		return Errorf(EINVALID, "payments must list at least one payment.")
	}
	var items []ItemError
	seen := make(map[string]int, len(payments))
	for i, p := range payments {
		switch {
		case !ValidID(p.FeeID):
			items = append(items, ItemError{Field: "payments", Index: i, Code: ItemInvalid,
				Detail: "A fee_id is a non-empty string of at most 64 printable characters."})
		case p.Amount <= 0:
			items = append(items, ItemError{Field: "payments", Index: i, Code: ItemInvalid,
				Detail: fmt.Sprintf("amount %d of fee %s is not a positive number of minor units.", p.Amount, p.FeeID)})
		default:
			if first, dup := seen[p.FeeID]; dup {
				items = append(items, ItemError{Field: "payments", Index: i, Code: ItemDuplicate,
					Detail: fmt.Sprintf("Fee %s is listed twice (items %d and %d); pay it once with the sum.", p.FeeID, first, i)})
			} else {
				seen[p.FeeID] = i
			}
		}
	}
	if items != nil {
		return BatchError("The payment lists invalid or repeated fees.", items)
	}
	return nil
}

// PaymentFailure names every payment of a failed batch, in request order:
// unknown fees, settled fees, and amounts over what is outstanding.
func PaymentFailure(payments []FeePayment, fees map[string]*Fee) error {
	var items []ItemError
	for i, p := range payments {
		f := fees[p.FeeID]
		switch {
		case f == nil:
			items = append(items, ItemError{Field: "payments", Index: i, Code: ItemNotFound,
				Detail: fmt.Sprintf("Fee %s not found.", p.FeeID)})
		case f.Outstanding() == 0:
			items = append(items, ItemError{Field: "payments", Index: i, Code: ItemSettled,
				Detail: fmt.Sprintf("Fee %s is already %s.", p.FeeID, f.Status())})
		case p.Amount > f.Outstanding():
			items = append(items, ItemError{Field: "payments", Index: i, Code: ItemOverpayment,
				Detail: fmt.Sprintf("Fee %s has %d outstanding; %d is more than that.", p.FeeID, f.Outstanding(), p.Amount)})
		}
	}
	if items == nil {
		return nil
	}
	return BatchError("Nothing was paid: some fees are unknown, settled, or owe less than the amount.", items)
}

// ValidateWaiveReason checks and cleans the reason of a waiver.
func ValidateWaiveReason(reason string) (string, error) {
	if !Printable(reason) {
		return "", Errorf(EINVALID, "reason contains control characters or invalid UTF-8.")
	}
	reason = CleanText(reason)
	if reason == "" || len([]rune(reason)) > MaxWaiveReasonRunes {
		return "", Errorf(EINVALID, "reason must be 1 to %d characters: say why the fee is forgiven.", MaxWaiveReasonRunes)
	}
	return reason, nil
}

// CurrencyMismatch is the error of opening a database whose fees are in
// another currency than the policy's: amounts in two currencies cannot be
// added, so the engine refuses to start rather than mix them.
func CurrencyMismatch(stored, policy string) error {
	return fmt.Errorf("the database holds fees in %s, but the policy's currency is %s: amounts in two currencies "+
		"cannot be added; keep currency %s in the policy", stored, policy, stored)
}
