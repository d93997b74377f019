package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/litengine/litengine"
)

// setStock sets the total stock of books $1 to $2 (paired by position) at time
// $3, after lockBooks, in the pattern of loan.go. Rows come back flagged: the
// culprits of a refused change in request order, or the new stock of every
// item with its position. A change also appends, in request order, a
// stock.changed (type $4, actor $5) for each item whose total it changes.
// The total before comes from books joined again as before: a join reads
// the statement's snapshot, the rows as they were before this UPDATE (and,
// the snapshot being taken after lockBooks was granted, as no one else can
// change them now). The counter is updated from the changed rows, so it is
// locked only once the books are written (see audit.go).
const setStock = `
	WITH item AS (
		SELECT book_id, qty, ord
		FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS item (book_id, qty, ord)
	),
	book AS (
		SELECT id, totalqty, on_loan FROM books WHERE id = ANY($1::bigint[])
	),
	culprit AS (
		SELECT item.ord, item.book_id, item.qty, book.id IS NULL AS missing, coalesce(book.on_loan, 0) AS on_loan
		FROM item LEFT JOIN book ON book.id = item.book_id
		WHERE book.id IS NULL OR book.on_loan > item.qty
	),
	stocked AS (
		UPDATE books SET totalqty = item.qty, updated_at = $3
		FROM item JOIN books AS before ON before.id = item.book_id
		WHERE books.id = item.book_id AND NOT EXISTS (SELECT FROM culprit)
		RETURNING item.ord, books.id, books.totalqty, books.on_loan, before.totalqty AS before
	),
	ev AS (
		SELECT ord, $3::timestamptz AS at, $4::text AS type, $5::text AS actor, id AS book_id,
		       NULL::bigint AS user_id, NULL::text AS transaction_id, NULL::text AS fee_id,
		       jsonb_build_object('before', before, 'after', totalqty) AS data
		FROM stocked
		WHERE totalqty <> before
	),` + auditTail + `
	SELECT true, ord, book_id, qty, missing, on_loan FROM culprit
	UNION ALL
	SELECT false, ord, id, totalqty, false, on_loan FROM stocked
	ORDER BY 2`

// SetInventory sets the total stock of many books in one round trip of two
// statements, whatever the number of items, or of none.
func (db *DB) SetInventory(ctx context.Context, changes []litengine.StockChange) ([]*litengine.Stock, error) {
	if err := litengine.ValidateInventory(changes); err != nil {
		return nil, err
	}
	bookIDs := make([]int64, len(changes))
	qtys := make([]int64, len(changes))
	for i, c := range changes {
		bookIDs[i], qtys[i] = c.BookID, c.TotalQty
	}
	stock := make([]*litengine.Stock, len(changes))
	err := db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		clear(stock)
		batch := &pgx.Batch{}
		batch.Queue(lockBooks, bookIDs)
		batch.Queue(setStock, bookIDs, qtys, now, litengine.EventStockChanged, litengine.ActorFromContext(ctx))
		results := conn.SendBatch(ctx, batch)
		defer results.Close()
		if _, err := results.Exec(); err != nil {
			return err
		}
		rows, err := results.Query()
		if err != nil {
			return err
		}
		defer rows.Close()
		var items []litengine.ItemError
		for rows.Next() {
			var (
				culprit, missing bool
				ord              int
				bookID, qty, on  int64
			)
			if err := rows.Scan(&culprit, &ord, &bookID, &qty, &missing, &on); err != nil {
				return err
			}
			switch idx := ord - 1; {
			case !culprit:
				stock[idx] = &litengine.Stock{BookID: bookID, TotalQty: qty, OnLoan: on}
			case missing:
				items = append(items, litengine.UnknownStockItem(idx, bookID))
			default:
				items = append(items, litengine.BelowOnLoanItem(idx, bookID, qty, on))
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if err := results.Close(); err != nil { // the implicit transaction commits here
			return err
		}
		if items != nil {
			return litengine.InventoryFailure(items)
		}
		for i, s := range stock {
			if s == nil {
				return fmt.Errorf("postgres: inventory item %d (book %d) was not updated", i, changes[i].BookID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return stock, nil
}
