package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/litengine/litengine"
)

// The batches pass their lists as one JSON array parameter read by json_each,
// so each runs the same few statements whatever its size.

// Borrow lends every book to the user in one transaction, or none of them.
func (db *DB) Borrow(ctx context.Context, userID int64, bookIDs []int64) ([]*litengine.Loan, error) {
	if err := litengine.ValidateBorrow(userID, bookIDs); err != nil {
		return nil, err
	}
	ids, _ := json.Marshal(bookIDs)
	loans := make([]*litengine.Loan, len(bookIDs))
	err := db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		if err := userExists(db.queryRow(ctx, tx, userExistsSQL, userID), userID); err != nil {
			return err
		}
		// Take one copy of each book that has one left. The condition and the
		// CHECK on books make overselling impossible; a short count means some
		// book is unknown or out of stock, and the transaction is abandoned.
		rows, err := db.query(ctx, tx, `
			UPDATE books SET on_loan = on_loan + 1, updated_at = ?
			WHERE id IN (SELECT value FROM json_each(?)) AND on_loan < totalqty
			RETURNING id`, unix(now), string(ids))
		if err != nil {
			return err
		}
		taken, err := collectIDs(rows)
		if err != nil {
			return err
		}
		if len(taken) < len(bookIDs) {
			return db.borrowFailure(ctx, tx, bookIDs, string(ids), taken)
		}

		due := now.Add(db.loanPeriod)
		type newLoan struct {
			ID     string `json:"i"`
			BookID int64  `json:"b"`
		}
		batch := make([]newLoan, len(bookIDs))
		for i, bookID := range bookIDs {
			id, err := uuid.NewV7()
			if err != nil {
				return err
			}
			batch[i] = newLoan{id.String(), bookID}
			loans[i] = &litengine.Loan{ID: batch[i].ID, BookID: bookID, UserID: userID, BorrowedAt: now, DueAt: due}
		}
		payload, _ := json.Marshal(batch)
		_, err = db.exec(ctx, tx, `
			INSERT INTO loans (id, book_id, user_id, borrowed_at, due_at)
			SELECT value ->> 'i', value ->> 'b', ?, ?, ? FROM json_each(?)`,
			userID, unix(now), unix(due), string(payload))
		return err
	})
	if err != nil {
		return nil, err
	}
	return loans, nil
}

// borrowFailure names every book of a failed borrow: unknown ones and those
// with no copy left.
func (db *DB) borrowFailure(ctx context.Context, tx *sql.Tx, bookIDs []int64, ids string, taken map[int64]bool) error {
	rows, err := db.query(ctx, tx, `SELECT id FROM books WHERE id IN (SELECT value FROM json_each(?))`, ids)
	if err != nil {
		return err
	}
	known, err := collectIDs(rows)
	if err != nil {
		return err
	}
	return litengine.BorrowFailure(bookIDs, known, taken)
}

// Return closes every loan in one transaction, or none of them.
func (db *DB) Return(ctx context.Context, transactionIDs []string) ([]*litengine.Loan, error) {
	if err := litengine.ValidateReturn(transactionIDs); err != nil {
		return nil, err
	}
	ids, _ := json.Marshal(transactionIDs)
	byID := make(map[string]*litengine.Loan, len(transactionIDs))
	err := db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		// Only open loans are closed; a short count means some ID is unknown
		// or already returned, and the transaction is abandoned.
		rows, err := db.query(ctx, tx, `
			UPDATE loans SET returned_at = ?
			WHERE id IN (SELECT value FROM json_each(?)) AND returned_at IS NULL
			RETURNING id, book_id, user_id, borrowed_at, due_at, returned_at`, unix(now), string(ids))
		if err != nil {
			return err
		}
		for rows.Next() {
			l, err := scanLoan(rows)
			if err != nil {
				rows.Close()
				return err
			}
			byID[l.ID] = l
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(byID) < len(transactionIDs) {
			return db.returnFailure(ctx, tx, transactionIDs, string(ids), byID)
		}
		_, err = db.exec(ctx, tx, `
			UPDATE books SET on_loan = on_loan - returned.n, updated_at = ?
			FROM (SELECT book_id, count(*) AS n FROM loans
			      WHERE id IN (SELECT value FROM json_each(?)) GROUP BY book_id) AS returned
			WHERE books.id = returned.book_id`, unix(now), string(ids))
		return err
	})
	if err != nil {
		return nil, err
	}
	loans := make([]*litengine.Loan, len(transactionIDs))
	for i, id := range transactionIDs {
		loans[i] = byID[id]
	}
	return loans, nil
}

// returnFailure names every transaction ID of a failed return.
func (db *DB) returnFailure(ctx context.Context, tx *sql.Tx, transactionIDs []string, ids string, closed map[string]*litengine.Loan) error {
	rows, err := db.query(ctx, tx, `SELECT id FROM loans WHERE id IN (SELECT value FROM json_each(?))`, ids)
	if err != nil {
		return err
	}
	known := make(map[string]bool)
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		known[id] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	open := make(map[string]bool, len(closed))
	for id := range closed {
		open[id] = true // closed by this transaction: open until now
	}
	return litengine.ReturnFailure(transactionIDs, known, open)
}

// FindLoans lists one page of a member's loans in the order they were made.
func (db *DB) FindLoans(ctx context.Context, f litengine.LoanFilter) ([]*litengine.Loan, error) {
	if err := userExists(db.readRow(ctx, userExistsSQL, f.UserID), f.UserID); err != nil {
		return nil, err
	}
	rows, err := db.read(ctx, `
		SELECT id, book_id, user_id, borrowed_at, due_at, returned_at FROM loans
		WHERE user_id = ? AND id > ?
		  AND (? = '' OR (? = 'active') = (returned_at IS NULL))
		ORDER BY id
		LIMIT ?`, f.UserID, f.AfterID, f.Status, f.Status, f.Limit)
	if err != nil {
		return nil, err
	}
	return scanLoans(rows)
}

const userExistsSQL = `SELECT 1 FROM users WHERE id = ?`

// userExists turns the row of userExistsSQL into not_found when it is missing.
func userExists(row *sql.Row, id int64) error {
	var one int
	err := row.Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return litengine.Errorf(litengine.ENOTFOUND, "User %d not found.", id)
	}
	return err
}

func collectIDs(rows *sql.Rows) (map[int64]bool, error) {
	defer rows.Close()
	ids := make(map[int64]bool)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids[id] = true
	}
	return ids, rows.Err()
}

func scanLoan(s scanner) (*litengine.Loan, error) {
	var (
		l             litengine.Loan
		borrowed, due int64
		returned      sql.NullInt64
	)
	if err := s.Scan(&l.ID, &l.BookID, &l.UserID, &borrowed, &due, &returned); err != nil {
		return nil, err
	}
	l.BorrowedAt, l.DueAt = fromUnix(borrowed), fromUnix(due)
	if returned.Valid {
		t := fromUnix(returned.Int64)
		l.ReturnedAt = &t
	}
	return &l, nil
}

// FindLoansByID returns the known loans among transactionIDs.
func (db *DB) FindLoansByID(ctx context.Context, transactionIDs []string) ([]*litengine.Loan, error) {
	ids, err := json.Marshal(transactionIDs)
	if err != nil {
		return nil, err
	}
	rows, err := db.read(ctx, `
		SELECT id, book_id, user_id, borrowed_at, due_at, returned_at FROM loans
		WHERE id IN (SELECT value FROM json_each(?))`, string(ids))
	if err != nil {
		return nil, err
	}
	return scanLoans(rows)
}

func scanLoans(rows *sql.Rows) ([]*litengine.Loan, error) {
	defer rows.Close()
	loans := []*litengine.Loan{}
	for rows.Next() {
		l, err := scanLoan(rows)
		if err != nil {
			return nil, err
		}
		loans = append(loans, l)
	}
	return loans, rows.Err()
}
