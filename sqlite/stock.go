package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/litengine/litengine"
)

// SetInventory sets the total stock of many books in one transaction and one
// statement, whatever the number of items. The update skips any book whose
// copies on loan exceed its new total; a short count means some item is
// unknown or below its loans, and only then a second statement names every
// culprit before the transaction is abandoned.
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
		// The totals before the change, for the trail, read before the
		// update overwrites them: SQLite's RETURNING sees only the new row.
		// Only items that change the total get an event, in request order;
		// should the update fail, the transaction and these are abandoned.
		rows, err := db.query(ctx, tx, `
			SELECT books.id, books.totalqty, item.value ->> 1
			FROM json_each(?) AS item JOIN books ON books.id = item.value ->> 0
			WHERE books.totalqty <> item.value ->> 1
			ORDER BY item.key`, string(payload))
		if err != nil {
			return err
		}
		var evs auditEvents
		for rows.Next() {
			var bookID, before, after int64
			if err := rows.Scan(&bookID, &before, &after); err != nil {
				rows.Close()
				return err
			}
			if err := evs.add(auditEvent{Type: litengine.EventStockChanged, BookID: bookID},
				map[string]any{"before": before, "after": after}); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}

		rows, err = db.query(ctx, tx, `
			UPDATE books SET totalqty = item.value ->> 1, updated_at = ?
			FROM json_each(?) AS item
			WHERE books.id = item.value ->> 0 AND books.on_loan <= item.value ->> 1
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
		if err := rows.Err(); err != nil {
			return err
		}
		if len(byID) < len(changes) {
			return db.inventoryFailure(ctx, tx, string(payload))
		}
		return db.appendEvents(ctx, tx, now, evs)
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

// inventoryFailure names every item of a failed inventory update: unknown
// books and totals below the copies on loan.
func (db *DB) inventoryFailure(ctx context.Context, tx *sql.Tx, payload string) error {
	rows, err := db.query(ctx, tx, `
		SELECT item.key, item.value ->> 0, item.value ->> 1, books.id IS NULL, coalesce(books.on_loan, 0)
		FROM json_each(?) AS item LEFT JOIN books ON books.id = item.value ->> 0
		WHERE books.id IS NULL OR books.on_loan > item.value ->> 1
		ORDER BY item.key`, payload)
	if err != nil {
		return err
	}
	defer rows.Close()
	var items []litengine.ItemError
	for rows.Next() {
		var (
			idx             int
			bookID, qty, on int64
			missing         bool
		)
		if err := rows.Scan(&idx, &bookID, &qty, &missing, &on); err != nil {
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
	return litengine.InventoryFailure(items)
}
