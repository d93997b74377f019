package litengine

import (
	"bytes"
	"context"
	"encoding/json"
	"time"
)

// Audit event types. Every change appends one event per changed thing in the
// same transaction as the change, so the trail is exactly what committed.
const (
	EventBookCreated  = "book.created"  // Data: totalqty
	EventStockChanged = "stock.changed" // Data: before, after (totalqty)
	EventUserCreated  = "user.created"  // Data: category
	EventUserUpdated  = "user.updated"  // Data: category, suspended (after the change)
	EventLoanBorrowed = "loan.borrowed" // Data: due_at
	EventLoanReturned = "loan.returned" // Data: returned_at
	EventLoanRenewed  = "loan.renewed"  // Data: due_at (the new one), renewals
	EventFeeAssessed  = "fee.assessed"  // Data: amount, currency
	EventFeePaid      = "fee.paid"      // Data: amount (this payment), paid (in all)
	EventFeeWaived    = "fee.waived"    // Data: amount (forgiven), reason
)

// EventTypes lists every audit event type.
var EventTypes = []string{EventBookCreated, EventStockChanged, EventUserCreated, EventUserUpdated,
	EventLoanBorrowed, EventLoanReturned, EventLoanRenewed, EventFeeAssessed, EventFeePaid, EventFeeWaived}

// AuditEvent is one change, as committed. Seq numbers events in commit
// order: an event never appears before one with a lower Seq.
type AuditEvent struct {
	Seq           int64
	At            time.Time
	Type          string
	Actor         string // the API key that made the change; "" from the command line
	BookID        int64
	UserID        int64
	TransactionID string
	FeeID         string
	Data          map[string]any // by type: see the Event* constants; times as RFC 3339 strings, numbers as int64
}

// AuditFilter selects one page of events in commit order.
type AuditFilter struct {
	BookID        int64
	UserID        int64
	TransactionID string
	Type          string
	Since, Until  time.Time // zero: unbounded; Since inclusive, Until exclusive
	AfterSeq      int64     // cursor
	Limit         int
}

// Validate checks the filter's identifiers.
func (f *AuditFilter) Validate() error {
	if f.TransactionID != "" {
		return CheckID("transaction_id", f.TransactionID)
	}
	return nil
}

// StockAudit compares a book's stored counters with its loans.
type StockAudit struct {
	BookID      int64
	TotalQty    int64
	OnLoan      int64 // the stored counter
	ActiveLoans int64 // counted from the loans table
}

// Consistent reports whether the counter agrees with the loans and the stock.
func (s *StockAudit) Consistent() bool {
	return s.OnLoan == s.ActiveLoans && s.OnLoan >= 0 && s.OnLoan <= s.TotalQty
}

// StockAuditFilter selects one page of books by id.
type StockAuditFilter struct {
	AfterID      int64
	Limit        int
	Inconsistent bool // only books whose counters disagree
}

// OverdueLoan is an active loan past its due date, with what it owes so far.
type OverdueLoan struct {
	Loan
	DaysOverdue int64
	AccruedFee  int64 // what a return now would assess, minor units
}

// OverdueFilter selects one page of overdue loans in transaction order.
type OverdueFilter struct {
	AfterID string
	Limit   int
}

// AuditService reads the audit trail and checks the stock.
type AuditService interface {
	FindAuditEvents(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)
	AuditStock(ctx context.Context, f StockAuditFilter) ([]*StockAudit, error)
	// FindOverdueLoans lists active loans past due at the store's clock.
	FindOverdueLoans(ctx context.Context, f OverdueFilter) ([]*OverdueLoan, error)
}

// ActorFromContext is the API key id the change is made by: the principal's,
// or "" outside a request.
func ActorFromContext(ctx context.Context) string {
	if p := PrincipalFromContext(ctx); p != nil {
		return p.KeyID
	}
	return ""
}

// EncodeEventData is how stores keep an event's Data: a JSON object.
func EncodeEventData(data map[string]any) ([]byte, error) {
	if data == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(data)
}

// DecodeEventData reads what EncodeEventData wrote, with whole numbers as
// int64, so that amounts and counts are never floats.
func DecodeEventData(raw []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var data map[string]any
	if err := d.Decode(&data); err != nil {
		return nil, err
	}
	for k, v := range data {
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				data[k] = i
			}
		}
	}
	return data, nil
}
