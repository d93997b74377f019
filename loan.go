package litengine

import (
	"context"
	"fmt"
	"time"
)

// DefaultLoanPeriod is how long a loan lasts unless configured otherwise.
const DefaultLoanPeriod = 14 * 24 * time.Hour

// Loan is one copy of a book lent to one member. ID is the transaction ID:
// opaque, unique, and sorting in the order loans were made.
type Loan struct {
	ID         string
	BookID     int64
	UserID     int64
	BorrowedAt time.Time
	DueAt      time.Time
	ReturnedAt *time.Time
	Renewals   int  // times the loan was renewed
	LateFee    *Fee // assessed when the loan was returned late; nil otherwise
}

// Loan statuses for LoanFilter.
const (
	LoanActive   = "active"
	LoanReturned = "returned"
)

// LoanFilter selects one page of a member's loans, oldest first.
type LoanFilter struct {
	UserID  int64
	Status  string // LoanActive, LoanReturned or empty for both
	AfterID string // cursor: only loans with a greater transaction ID
	Limit   int
}

// StockChange sets the total stock of one book.
type StockChange struct {
	BookID   int64
	TotalQty int64
}

// Stock is the stock of one book after a change.
type Stock struct {
	BookID   int64
	TotalQty int64
	OnLoan   int64
}

// Available is the number of copies that can be lent now.
func (s *Stock) Available() int64 { return s.TotalQty - s.OnLoan }

// CirculationService runs the atomic batches: each call is one transaction that
// either applies completely or changes nothing.
type CirculationService interface {
	// Borrow lends each book to the user, in order, and returns the loans.
	Borrow(ctx context.Context, userID int64, bookIDs []int64) ([]*Loan, error)
	// Return closes the loans with these transaction IDs, in order, and
	// assesses the late fee of each loan returned after its due date.
	Return(ctx context.Context, transactionIDs []string) ([]*Loan, error)
	// Renew extends the loans with these transaction IDs, in order.
	Renew(ctx context.Context, transactionIDs []string) ([]*Loan, error)
	// SetInventory sets each book's total stock, in order.
	SetInventory(ctx context.Context, changes []StockChange) ([]*Stock, error)
	// FindLoans lists a member's loans; an unknown member is not_found.
	FindLoans(ctx context.Context, f LoanFilter) ([]*Loan, error)
	// FindLoansByID returns the loans with these transaction IDs, in no
	// particular order; unknown IDs are left out.
	FindLoansByID(ctx context.Context, transactionIDs []string) ([]*Loan, error)
}

// Store is everything a storage engine provides.
type Store interface {
	BookService
	UserService
	CirculationService
	FeeService
	AuditService
	KeyService
	IdempotencyService
	Ping(ctx context.Context) error
	Close() error
}

// ValidateBorrow checks a borrow batch before it reaches the database.
func ValidateBorrow(userID int64, bookIDs []int64) error {
	if userID <= 0 {
		return Errorf(EINVALID, "user_id must be a positive integer.")
	}
	if len(bookIDs) == 0 {
		return Errorf(EINVALID, "books must list at least one book id.")
	}
	var items []ItemError
	seen := make(map[int64]int, len(bookIDs))
	for i, id := range bookIDs {
		if id <= 0 {
			items = append(items, ItemError{Field: "books", Index: i, Code: ItemInvalid, BookID: id,
				Detail: fmt.Sprintf("Book id %d is not a positive integer.", id)})
		} else if first, dup := seen[id]; dup {
			items = append(items, ItemError{Field: "books", Index: i, Code: ItemDuplicate, BookID: id,
				Detail: fmt.Sprintf("Book %d is listed twice (items %d and %d); borrow one copy per request.", id, first, i)})
		} else {
			seen[id] = i
		}
	}
	if items != nil {
		return BatchError("The borrow request lists invalid or repeated books.", items)
	}
	return nil
}

// ValidateReturn checks a return batch before it reaches the database.
func ValidateReturn(ids []string) error {
	if len(ids) == 0 {
		return Errorf(EINVALID, "transaction_ids must list at least one transaction id.")
	}
	var items []ItemError
	seen := make(map[string]int, len(ids))
	for i, id := range ids {
		if !ValidID(id) {
			items = append(items, ItemError{Field: "transaction_ids", Index: i, Code: ItemInvalid,
				Detail: "A transaction id is a non-empty string of at most 64 printable characters."})
		} else if first, dup := seen[id]; dup {
			items = append(items, ItemError{Field: "transaction_ids", Index: i, Code: ItemDuplicate, TransactionID: id,
				Detail: fmt.Sprintf("Transaction %s is listed twice (items %d and %d).", id, first, i)})
		} else {
			seen[id] = i
		}
	}
	if items != nil {
		return BatchError("The return request lists invalid or repeated transaction ids.", items)
	}
	return nil
}

// ValidateInventory checks a stock update before it reaches the database.
func ValidateInventory(changes []StockChange) error {
	if len(changes) == 0 {
		return Errorf(EINVALID, "inventory must list at least one item.")
	}
	var items []ItemError
	seen := make(map[int64]int, len(changes))
	for i, c := range changes {
		switch {
		case c.BookID <= 0:
			items = append(items, ItemError{Field: "inventory", Index: i, Code: ItemInvalid, BookID: c.BookID,
				Detail: fmt.Sprintf("bookid %d is not a positive integer.", c.BookID)})
		case c.TotalQty < 0:
			items = append(items, ItemError{Field: "inventory", Index: i, Code: ItemInvalid, BookID: c.BookID,
				Detail: fmt.Sprintf("totalqty %d of book %d is negative.", c.TotalQty, c.BookID)})
		default:
			if first, dup := seen[c.BookID]; dup {
				items = append(items, ItemError{Field: "inventory", Index: i, Code: ItemDuplicate, BookID: c.BookID,
					Detail: fmt.Sprintf("Book %d is listed twice (items %d and %d).", c.BookID, first, i)})
			} else {
				seen[c.BookID] = i
			}
		}
	}
	if items != nil {
		return BatchError("The inventory update lists invalid or repeated books.", items)
	}
	return nil
}

// PoolStats describe a store's connections, for monitoring.
type PoolStats struct {
	MaxConns     int64
	OpenConns    int64
	InUseConns   int64
	IdleConns    int64
	WaitCount    int64         // acquisitions that had to wait for a connection
	WaitDuration time.Duration // total time spent waiting
	TxRetries    int64         // transactions retried after a serialization failure or deadlock
}

// StatsReporter is implemented by stores that can describe their connections.
type StatsReporter interface {
	PoolStats() PoolStats
}
