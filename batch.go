package litengine

import "fmt"

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
