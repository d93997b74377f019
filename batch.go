package litengine

import (
	"fmt"
	"time"
)

// The failures of the batches, built the same way by every store so that
// clients see the same codes, details and order whatever the engine.

// BorrowFailure names every book of a failed borrow, in request order: those
// not in known, and those known but not in available.
func BorrowFailure(bookIDs []int64, known, available map[int64]bool) error {
	var items []ItemError
	for i, id := range bookIDs {
		switch {
		case !known[id]:
			items = append(items, ItemError{Field: "books", Index: i, BookID: id, Code: ItemNotFound,
				Detail: fmt.Sprintf("Book %d not found.", id)})
		case !available[id]:
			items = append(items, ItemError{Field: "books", Index: i, BookID: id, Code: ItemUnavailable,
				Detail: fmt.Sprintf("Book %d has no copy available.", id)})
		}
	}
	return BatchError("Nothing was borrowed: some books are unknown or have no copy available.", items)
}

// ReturnFailure names every transaction ID of a failed return, in request
// order: those not in known, and those known but not in open.
func ReturnFailure(transactionIDs []string, known, open map[string]bool) error {
	var items []ItemError
	for i, id := range transactionIDs {
		switch {
		case !known[id]:
			items = append(items, ItemError{Field: "transaction_ids", Index: i, TransactionID: id,
				Code: ItemNotFound, Detail: fmt.Sprintf("Transaction %s not found.", id)})
		case !open[id]:
			items = append(items, ItemError{Field: "transaction_ids", Index: i, TransactionID: id,
				Code: ItemAlreadyReturned, Detail: fmt.Sprintf("Transaction %s was already returned.", id)})
		}
	}
	return BatchError("Nothing was returned: some transactions are unknown or already returned.", items)
}

// UnknownStockItem is the problem of an inventory item whose book does not exist.
func UnknownStockItem(index int, bookID int64) ItemError {
	return ItemError{Field: "inventory", Index: index, BookID: bookID, Code: ItemNotFound,
		Detail: fmt.Sprintf("Book %d not found.", bookID)}
}

// BelowOnLoanItem is the problem of an inventory item that would leave fewer
// copies than are on loan.
func BelowOnLoanItem(index int, bookID, totalQty, onLoan int64) ItemError {
	return ItemError{Field: "inventory", Index: index, BookID: bookID, Code: ItemBelowOnLoan,
		Detail: fmt.Sprintf("Book %d has %d on loan; a totalqty of %d would be fewer than that.", bookID, onLoan, totalQty)}
}

// InventoryFailure is the error of a failed inventory update.
func InventoryFailure(items []ItemError) error {
	return BatchError("Stock was not changed: some books are unknown or have more copies on loan than the new total.", items)
}

// BorrowFacts are what a store reads, inside the borrow transaction and
// under its locks, to judge a borrow by the library's rules.
type BorrowFacts struct {
	User        *User
	ActiveLoans int64          // loans the member holds now
	Unpaid      int64          // the member's outstanding fees
	Known       map[int64]bool // requested books that exist
	Available   map[int64]bool // requested books with a copy left
	OnLoan      map[int64]bool // requested books the member already has on loan
}

// JudgeBorrow returns the error of a borrow that must not happen, naming
// every book it refuses with one reason each, or nil. A book's reason is the
// first that applies of: not_found, user_suspended, unpaid_fees,
// already_on_loan, unavailable, loan_limit. The loan limit counts the books
// of this batch that pass every other rule: the first of them up to the
// limit pass it, the rest are named.
func JudgeBorrow(p *Policies, bookIDs []int64, f BorrowFacts) error {
	lp := p.For(f.User.Category)
	room := int64(lp.MaxActiveLoans) - f.ActiveLoans
	var granted int64
	var items []ItemError
	for i, id := range bookIDs {
		item := ItemError{Field: "books", Index: i, BookID: id}
		switch {
		case !f.Known[id]:
			item.Code, item.Detail = ItemNotFound, fmt.Sprintf("Book %d not found.", id)
		case f.User.Suspended:
			item.Code, item.Detail = ItemUserSuspended, fmt.Sprintf("Member %d is suspended and may not borrow.", f.User.ID)
		case f.Unpaid > lp.MaxUnpaid:
			item.Code, item.Detail = ItemUnpaidFees, fmt.Sprintf("Member %d owes %d in fees, more than the %d allowed for borrowing.", f.User.ID, f.Unpaid, lp.MaxUnpaid)
		case f.OnLoan[id]:
			item.Code, item.Detail = ItemAlreadyOnLoan, fmt.Sprintf("Member %d already has book %d on loan.", f.User.ID, id)
		case !f.Available[id]:
			item.Code, item.Detail = ItemUnavailable, fmt.Sprintf("Book %d has no copy available.", id)
		case granted >= room:
			item.Code, item.Detail = ItemLoanLimit, fmt.Sprintf("Member %d may hold %d loans at once and holds %d; book %d would exceed that.",
				f.User.ID, lp.MaxActiveLoans, f.ActiveLoans, id)
		default:
			granted++
			continue
		}
		items = append(items, item)
	}
	if items == nil {
		return nil
	}
	return BatchError("Nothing was borrowed: some books are unknown, unavailable, or not allowed for this member now.", items)
}

// JudgeRenew returns the error of a renewal at now that must not happen,
// naming every loan it refuses, or nil. loans holds the known loans by
// transaction ID and users their members. An overdue loan is not renewed:
// it must be returned, so that its late fee is assessed.
func JudgeRenew(p *Policies, transactionIDs []string, loans map[string]*Loan, users map[int64]*User, now time.Time) error {
	var items []ItemError
	for i, id := range transactionIDs {
		item := ItemError{Field: "transaction_ids", Index: i, TransactionID: id}
		l := loans[id]
		switch {
		case l == nil:
			item.Code, item.Detail = ItemNotFound, fmt.Sprintf("Transaction %s not found.", id)
		case l.ReturnedAt != nil:
			item.Code, item.Detail = ItemAlreadyReturned, fmt.Sprintf("Transaction %s was already returned.", id)
		case users[l.UserID].Suspended:
			item.Code, item.Detail = ItemUserSuspended, fmt.Sprintf("Member %d is suspended and may not renew.", l.UserID)
		case now.After(l.DueAt):
			item.Code, item.Detail = ItemOverdue, fmt.Sprintf("Transaction %s was due at %s: return it, which assesses its late fee, then borrow again.",
				id, l.DueAt.UTC().Format(time.RFC3339))
		case l.Renewals >= p.For(users[l.UserID].Category).MaxRenewals:
			item.Code, item.Detail = ItemRenewalLimit, fmt.Sprintf("Transaction %s was renewed %d times, the most allowed.", id, l.Renewals)
		default:
			continue
		}
		items = append(items, item)
	}
	if items == nil {
		return nil
	}
	return BatchError("Nothing was renewed: some loans are unknown, returned, or may not be renewed.", items)
}

// Renewed returns l renewed at now under p: one more renewal and a due date
// RenewalDays on from the later of its due date and now.
func Renewed(p *Policies, l *Loan, category string, now time.Time) *Loan {
	r := *l
	r.Renewals++
	r.DueAt = p.RenewedDueAt(l.DueAt, now, p.For(category).RenewalDays)
	return &r
}

// LateFeeOf is the late fee of a loan of a member of category returned at
// returnedAt: whole overdue days in the library's time zone, grace and cap
// applied. Zero means no fee.
func LateFeeOf(p *Policies, l *Loan, category string, returnedAt time.Time) int64 {
	return p.For(category).LateFee(p.OverdueDays(l.DueAt, returnedAt))
}
