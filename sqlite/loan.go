package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/litengine/litengine"
)

// The batches pass their lists as one JSON array parameter read by json_each,
// so each runs the same few statements whatever its size.

// Borrow lends every book to the user in one transaction, or none of them.
// It reads the facts the library's rules need, judges them with
// litengine.JudgeBorrow, and only then takes the copies and records the loans.
func (db *DB) Borrow(ctx context.Context, userID int64, bookIDs []int64) ([]*litengine.Loan, error) {
	if err := litengine.ValidateBorrow(userID, bookIDs); err != nil {
		return nil, err
	}
	ids, _ := json.Marshal(bookIDs)
	loans := make([]*litengine.Loan, len(bookIDs))
	err := db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		// No row locks: SQLite has none, and none are needed. The transaction
		// began IMMEDIATE on the only writer connection, so it holds the
		// database's write lock until commit and no other batch, of this
		// member or any other, can change the facts judged here meanwhile.
		// That is what keeps two racing batches of one member within the
		// loan limit.
		f := litengine.BorrowFacts{
			Known:     make(map[int64]bool, len(bookIDs)),
			Available: make(map[int64]bool, len(bookIDs)),
			OnLoan:    make(map[int64]bool),
		}
		var err error
		f.User, err = scanUser(db.queryRow(ctx, tx, `
			SELECT `+userColumns+`,
			       (SELECT count(*) FROM loans WHERE user_id = users.id AND returned_at IS NULL),
			       (SELECT coalesce(sum(amount - paid), 0) FROM fees WHERE user_id = users.id AND waived_at IS NULL)
			FROM users WHERE id = ?`, userID), &f.ActiveLoans, &f.Unpaid)
		if err != nil {
			return userNotFound(err, userID)
		}
		rows, err := db.query(ctx, tx, `
			SELECT id, on_loan < totalqty,
			       EXISTS (SELECT 1 FROM loans
			               WHERE book_id = books.id AND user_id = ? AND returned_at IS NULL)
			FROM books WHERE id IN (SELECT value FROM json_each(?))`, userID, string(ids))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id                int64
				available, onLoan bool
			)
			if err := rows.Scan(&id, &available, &onLoan); err != nil {
				return err
			}
			f.Known[id], f.Available[id], f.OnLoan[id] = true, available, onLoan
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if err := litengine.JudgeBorrow(db.policies, bookIDs, f); err != nil {
			return err
		}

		// Every book has a copy left, as just read under the write lock; the
		// CHECK on books would still refuse to oversell.
		if _, err := db.exec(ctx, tx, `
			UPDATE books SET on_loan = on_loan + 1, updated_at = ?
			WHERE id IN (SELECT value FROM json_each(?))`, unix(now), string(ids)); err != nil {
			return err
		}

		due := db.policies.DueAt(now, db.policies.For(f.User.Category).LoanDays)
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
		if _, err = db.exec(ctx, tx, `
			INSERT INTO loans (id, book_id, user_id, borrowed_at, due_at)
			SELECT value ->> 'i', value ->> 'b', ?, ?, ? FROM json_each(?)`,
			userID, unix(now), unix(due), string(payload)); err != nil {
			return err
		}
		evs := make(auditEvents, 0, len(loans))
		for _, l := range loans {
			if err := evs.add(auditEvent{Type: litengine.EventLoanBorrowed, BookID: l.BookID, UserID: l.UserID, TransactionID: l.ID},
				map[string]any{"due_at": auditTime(l.DueAt)}); err != nil {
				return err
			}
		}
		return db.appendEvents(ctx, tx, now, evs)
	})
	if err != nil {
		return nil, err
	}
	return loans, nil
}

// Return closes every loan in one transaction, or none of them, and assesses
// the late fee of each loan returned after its due date.
func (db *DB) Return(ctx context.Context, transactionIDs []string) ([]*litengine.Loan, error) {
	if err := litengine.ValidateReturn(transactionIDs); err != nil {
		return nil, err
	}
	ids, _ := json.Marshal(transactionIDs)
	byID := make(map[string]*litengine.Loan, len(transactionIDs))
	err := db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		// Only open loans are closed; a short count means some ID is unknown
		// or already returned, and the transaction is abandoned. Each row
		// brings its member's category, which selects the late fee policy.
		rows, err := db.query(ctx, tx, `
			UPDATE loans SET returned_at = ?
			WHERE id IN (SELECT value FROM json_each(?)) AND returned_at IS NULL
			RETURNING `+loanColumns+`, (SELECT category FROM users WHERE users.id = loans.user_id)`,
			unix(now), string(ids))
		if err != nil {
			return err
		}
		categories := make(map[string]string, len(transactionIDs))
		for rows.Next() {
			var category string
			l, err := scanLoan(rows, &category)
			if err != nil {
				rows.Close()
				return err
			}
			byID[l.ID], categories[l.ID] = l, category
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(byID) < len(transactionIDs) {
			return db.returnFailure(ctx, tx, transactionIDs, string(ids), byID)
		}
		if _, err := db.exec(ctx, tx, `
			UPDATE books SET on_loan = on_loan - returned.n, updated_at = ?
			FROM (SELECT book_id, count(*) AS n FROM loans
			      WHERE id IN (SELECT value FROM json_each(?)) GROUP BY book_id) AS returned
			WHERE books.id = returned.book_id`, unix(now), string(ids)); err != nil {
			return err
		}

		// Fees are assessed in request order, so their ids sort that way.
		// Each loan's fee.assessed follows its loan.returned in the trail.
		type newFee struct {
			ID     string `json:"i"`
			UserID int64  `json:"u"`
			LoanID string `json:"l"`
			BookID int64  `json:"b"`
			Amount int64  `json:"a"`
		}
		var fees []newFee
		evs := make(auditEvents, 0, len(transactionIDs))
		for _, txID := range transactionIDs {
			l := byID[txID]
			if err := evs.add(auditEvent{Type: litengine.EventLoanReturned, BookID: l.BookID, UserID: l.UserID, TransactionID: l.ID},
				map[string]any{"returned_at": auditTime(*l.ReturnedAt)}); err != nil {
				return err
			}
			amount := litengine.LateFeeOf(db.policies, l, categories[txID], now)
			if amount <= 0 {
				continue
			}
			id, err := uuid.NewV7()
			if err != nil {
				return err
			}
			fees = append(fees, newFee{id.String(), l.UserID, l.ID, l.BookID, amount})
			l.LateFee = &litengine.Fee{ID: id.String(), UserID: l.UserID, TransactionID: l.ID, BookID: l.BookID,
				Amount: amount, Currency: db.policies.Currency, AssessedAt: now}
			if err := evs.add(auditEvent{Type: litengine.EventFeeAssessed, BookID: l.BookID, UserID: l.UserID, TransactionID: l.ID, FeeID: id.String()},
				map[string]any{"amount": amount, "currency": db.policies.Currency}); err != nil {
				return err
			}
		}
		if fees != nil {
			payload, _ := json.Marshal(fees)
			if _, err := db.exec(ctx, tx, `
				INSERT INTO fees (id, user_id, loan_id, book_id, amount, currency, assessed_at)
				SELECT value ->> 'i', value ->> 'u', value ->> 'l', value ->> 'b', value ->> 'a', ?, ?
				FROM json_each(?)`, db.policies.Currency, unix(now), string(payload)); err != nil {
				return err
			}
		}
		return db.appendEvents(ctx, tx, now, evs)
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

// Renew extends every loan in one transaction, or none of them: each gets
// one more renewal and the due date its member's policy sets.
func (db *DB) Renew(ctx context.Context, transactionIDs []string) ([]*litengine.Loan, error) {
	if err := litengine.ValidateReturn(transactionIDs); err != nil {
		return nil, err
	}
	ids, _ := json.Marshal(transactionIDs)
	renewed := make([]*litengine.Loan, len(transactionIDs))
	err := db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		// No row locks: the IMMEDIATE transaction on the only writer
		// connection holds the database's write lock, so the loans and
		// members judged here stay as read until commit.
		rows, err := db.query(ctx, tx, `
			SELECT `+loanColumns+` FROM loans WHERE id IN (SELECT value FROM json_each(?))`, string(ids))
		if err != nil {
			return err
		}
		found, err := scanLoans(rows)
		if err != nil {
			return err
		}
		loans := make(map[string]*litengine.Loan, len(found))
		for _, l := range found {
			loans[l.ID] = l
		}
		rows, err = db.query(ctx, tx, `
			SELECT `+userColumns+` FROM users
			WHERE id IN (SELECT user_id FROM loans WHERE id IN (SELECT value FROM json_each(?)))`, string(ids))
		if err != nil {
			return err
		}
		defer rows.Close()
		users := make(map[int64]*litengine.User)
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				return err
			}
			users[u.ID] = u
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if err := litengine.JudgeRenew(db.policies, transactionIDs, loans, users, now); err != nil {
			return err
		}

		type renewal struct {
			ID       string `json:"i"`
			DueAt    int64  `json:"d"`
			Renewals int    `json:"r"`
		}
		batch := make([]renewal, len(transactionIDs))
		evs := make(auditEvents, 0, len(transactionIDs))
		for i, id := range transactionIDs {
			l := loans[id]
			renewed[i] = litengine.Renewed(db.policies, l, users[l.UserID].Category, now)
			batch[i] = renewal{id, unix(renewed[i].DueAt), renewed[i].Renewals}
			if err := evs.add(auditEvent{Type: litengine.EventLoanRenewed, BookID: l.BookID, UserID: l.UserID, TransactionID: l.ID},
				map[string]any{"due_at": auditTime(renewed[i].DueAt), "renewals": int64(renewed[i].Renewals)}); err != nil {
				return err
			}
		}
		payload, _ := json.Marshal(batch)
		if _, err = db.exec(ctx, tx, `
			UPDATE loans SET due_at = item.value ->> 'd', renewals = item.value ->> 'r'
			FROM json_each(?) AS item
			WHERE loans.id = item.value ->> 'i'`, string(payload)); err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, now, evs)
	})
	if err != nil {
		return nil, err
	}
	return renewed, nil
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
		SELECT `+loanColumns+` FROM loans
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
	return userNotFound(row.Scan(&one), id)
}

const loanColumns = `id, book_id, user_id, borrowed_at, due_at, returned_at, renewals`

// scanLoan scans the loanColumns of a row, then any further columns into extra.
func scanLoan(s scanner, extra ...any) (*litengine.Loan, error) {
	var (
		l             litengine.Loan
		borrowed, due int64
		returned      sql.NullInt64
	)
	if err := s.Scan(append([]any{&l.ID, &l.BookID, &l.UserID, &borrowed, &due, &returned, &l.Renewals}, extra...)...); err != nil {
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
		SELECT `+loanColumns+` FROM loans
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
