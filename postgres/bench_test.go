package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/storetest"
)

// BenchmarkBatches compares each batch over HTTP with the same transaction as
// raw SQL, written as a plain multi-statement transaction on database/sql.
//
//	go test -run '^$' -bench . -benchtime 3s ./postgres
func BenchmarkBatches(b *testing.B) { storetest.Bench(b, harness, rawSQL) }

var rawSQL = storetest.RawSQL{
	Borrow: func(ctx context.Context, db *sql.DB, user int64, books []int64) error {
		return storetest.InTx(ctx, db, func(tx *sql.Tx) error {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = $1`, user).Scan(&one); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `UPDATE books SET on_loan = on_loan + 1, updated_at = date_trunc('second', now())
				WHERE id = ANY($1) AND on_loan < totalqty`, books)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != int64(len(books)) {
				return fmt.Errorf("took %d copies of %d", n, len(books))
			}
			ids := make([]string, len(books))
			for i := range ids {
				id, err := uuid.NewV7()
				if err != nil {
					return err
				}
				ids[i] = id.String()
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO loans (id, book_id, user_id, borrowed_at, due_at)
				SELECT l.id, l.book_id, $3, date_trunc('second', now()), date_trunc('second', now()) + interval '14 days'
				FROM unnest($1::text[], $2::bigint[]) AS l(id, book_id)`, ids, books, user)
			return err
		})
	},
	Return: func(ctx context.Context, db *sql.DB, transactionIDs []string) error {
		return storetest.InTx(ctx, db, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE loans SET returned_at = date_trunc('second', now())
				WHERE id = ANY($1) AND returned_at IS NULL`, transactionIDs)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != int64(len(transactionIDs)) {
				return fmt.Errorf("closed %d loans of %d", n, len(transactionIDs))
			}
			_, err = tx.ExecContext(ctx, `UPDATE books SET on_loan = on_loan - r.n, updated_at = date_trunc('second', now())
				FROM (SELECT book_id, count(*) AS n FROM loans WHERE id = ANY($1) GROUP BY book_id) AS r
				WHERE books.id = r.book_id`, transactionIDs)
			return err
		})
	},
	Inventory: func(ctx context.Context, db *sql.DB, changes []litengine.StockChange) error {
		ids := make([]int64, len(changes))
		qtys := make([]int64, len(changes))
		for i, c := range changes {
			ids[i], qtys[i] = c.BookID, c.TotalQty
		}
		return storetest.InTx(ctx, db, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE books SET totalqty = item.qty, updated_at = date_trunc('second', now())
				FROM unnest($1::bigint[], $2::bigint[]) AS item(id, qty) WHERE books.id = item.id`, ids, qtys)
			return err
		})
	},
}
