package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/litengine/litengine"
)

// SetInventory sets the total stock of many books in one transaction of two
// statements, whatever the number of items: one finds every culprit, one
// applies the whole change.
func (db *DB) SetInventory(ctx context.Context, changes []litengine.StockChange) ([]*litengine.Stock, error) {
	if err := litengine.ValidateInventory(changes); err != nil {
		return nil, err
	}
	pairs := make([][2]int64, len(changes))
	for i, c := range changes {
		pairs[i] = [2]int64{c.BookID, c.TotalQty}
	}
	payload, _ := json.Marshal(pairs)
	byID := make(map[int64]*litengine.Stock, len(changes))
	err := db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		rows, err := db.query(ctx, tx, `
			SELECT item.key, item.value ->> 0, item.value ->> 1, books.id IS NULL, coalesce(books.on_loan, 0)
			FROM json_each(?) AS item LEFT JOIN books ON books.id = item.value ->> 0
			WHERE books.id IS NULL OR books.on_loan > item.value ->> 1
			ORDER BY item.key`, string(payload))
		if err != nil {
			return err
		}
		var items []litengine.ItemError
		for rows.Next() {
			var (
				idx             int
				bookID, qty, on int64
				missing         bool
			)
			if err := rows.Scan(&idx, &bookID, &qty, &missing, &on); err != nil {
				rows.Close()
				return err
			}
			if missing {
				items = append(items, litengine.UnknownStockItem(idx, bookID))
			} else {
				items = append(items, litengine.BelowOnLoanItem(idx, bookID, qty, on))
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if items != nil {
			return litengine.InventoryFailure(items)
		}

		rows, err = db.query(ctx, tx, `
			UPDATE books SET totalqty = item.qty, updated_at = ?
			FROM (SELECT value ->> 0 AS book_id, value ->> 1 AS qty FROM json_each(?)) AS item
			WHERE books.id = item.book_id
			RETURNING id, totalqty, on_loan`, unix(now), string(payload))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s litengine.Stock
			if err := rows.Scan(&s.BookID, &s.TotalQty, &s.OnLoan); err != nil {
				return err
			}
			byID[s.BookID] = &s
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	stock := make([]*litengine.Stock, len(changes))
	for i, c := range changes {
		stock[i] = byID[c.BookID]
	}
	return stock, nil
}
