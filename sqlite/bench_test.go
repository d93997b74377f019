package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/storetest"
)

// BenchmarkBatches compares each batch over HTTP with the same transaction as
// raw SQL on the same database file. The harness opens the file with
// synchronous=normal; LITENGINE_BENCH_SYNC=full measures durable commits.
//
//	go test -run '^$' -bench . -benchtime 3s ./sqlite
func BenchmarkBatches(b *testing.B) { storetest.Bench(b, benchHarness, rawSQL) }

// rawSQL is each batch by hand, on a raw connection that takes the write lock
// at BEGIN like the store does.
var rawSQL = storetest.RawSQL{
	Borrow: func(ctx context.Context, db *sql.DB, user int64, books []int64) error {
		return storetest.InTx(ctx, db, func(tx *sql.Tx) error {
			// The facts the store reads to judge a borrow by the policies.
			var suspended, active, unpaid int64
			if err := tx.QueryRowContext(ctx, `SELECT suspended,
				(SELECT count(*) FROM loans WHERE user_id = users.id AND returned_at IS NULL),
				(SELECT coalesce(sum(amount - paid), 0) FROM fees WHERE user_id = users.id AND waived_at IS NULL)
				FROM users WHERE id = ?`, user).Scan(&suspended, &active, &unpaid); err != nil {
				return err
			}
			ids, _ := json.Marshal(books)
			rows, err := tx.QueryContext(ctx, `SELECT id, on_loan < totalqty,
				EXISTS (SELECT 1 FROM loans WHERE book_id = books.id AND user_id = ? AND returned_at IS NULL)
				FROM books WHERE id IN (SELECT value FROM json_each(?))`, user, string(ids))
			if err != nil {
				return err
			}
			for rows.Next() {
				var id int64
				var available, onLoan bool
				if err := rows.Scan(&id, &available, &onLoan); err != nil {
					rows.Close()
					return err
				}
				if !available || onLoan {
					rows.Close()
					return fmt.Errorf("book %d cannot be lent", id)
				}
			}
			if err := rows.Err(); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `UPDATE books SET on_loan = on_loan + 1, updated_at = unixepoch()
				WHERE id IN (SELECT value FROM json_each(?)) AND on_loan < totalqty`, string(ids))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != int64(len(books)) {
				return fmt.Errorf("took %d copies of %d", n, len(books))
			}
			loans, err := newLoanIDs(books)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO loans (id, book_id, user_id, borrowed_at, due_at)
				SELECT value ->> 0, value ->> 1, ?, unixepoch(), unixepoch() + 1209600 FROM json_each(?)`,
				user, loans)
			if err != nil {
				return err
			}
			// The audit trail, as the store writes it.
			_, err = tx.ExecContext(ctx, `INSERT INTO audit_events (at, type, book_id, user_id, transaction_id, data)
				SELECT unixepoch(), 'loan.borrowed', value ->> 1, ?, value ->> 0,
				       json_object('due_at', strftime('%Y-%m-%dT%H:%M:%SZ', unixepoch() + 1209600, 'unixepoch'))
				FROM json_each(?)`, user, loans)
			return err
		})
	},
	Return: func(ctx context.Context, db *sql.DB, transactionIDs []string) error {
		return storetest.InTx(ctx, db, func(tx *sql.Tx) error {
			ids, _ := json.Marshal(transactionIDs)
			res, err := tx.ExecContext(ctx, `UPDATE loans SET returned_at = unixepoch()
				WHERE id IN (SELECT value FROM json_each(?)) AND returned_at IS NULL`, string(ids))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != int64(len(transactionIDs)) {
				return fmt.Errorf("closed %d loans of %d", n, len(transactionIDs))
			}
			_, err = tx.ExecContext(ctx, `UPDATE books SET on_loan = on_loan - r.n, updated_at = unixepoch()
				FROM (SELECT book_id, count(*) AS n FROM loans WHERE id IN (SELECT value FROM json_each(?)) GROUP BY book_id) AS r
				WHERE books.id = r.book_id`, string(ids))
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO audit_events (at, type, book_id, user_id, transaction_id, data)
				SELECT unixepoch(), 'loan.returned', book_id, user_id, id,
				       json_object('returned_at', strftime('%Y-%m-%dT%H:%M:%SZ', returned_at, 'unixepoch'))
				FROM loans WHERE id IN (SELECT value FROM json_each(?))`, string(ids))
			return err
		})
	},
	Inventory: func(ctx context.Context, db *sql.DB, changes []litengine.StockChange) error {
		return storetest.InTx(ctx, db, func(tx *sql.Tx) error {
			pairs := make([][2]int64, len(changes))
			for i, c := range changes {
				pairs[i] = [2]int64{c.BookID, c.TotalQty}
			}
			payload, _ := json.Marshal(pairs)
			_, err := tx.ExecContext(ctx, `INSERT INTO audit_events (at, type, book_id, data)
				SELECT unixepoch(), 'stock.changed', books.id, json_object('before', books.totalqty, 'after', item.value ->> 1)
				FROM json_each(?) AS item JOIN books ON books.id = item.value ->> 0
				WHERE books.totalqty <> item.value ->> 1`, string(payload))
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `UPDATE books SET totalqty = item.value ->> 1, updated_at = unixepoch()
				FROM json_each(?) AS item WHERE books.id = item.value ->> 0`, string(payload))
			return err
		})
	},
}

// newLoanIDs pairs each book with a new transaction ID made as the store
// makes them (UUIDv7), as a JSON array of [id, book] pairs, so that raw SQL
// inserts keys in the same order as the engine does.
func newLoanIDs(books []int64) (string, error) {
	pairs := make([][2]any, len(books))
	for i, b := range books {
		id, err := uuid.NewV7()
		if err != nil {
			return "", err
		}
		pairs[i] = [2]any{id.String(), b}
	}
	out, err := json.Marshal(pairs)
	return string(out), err
}
