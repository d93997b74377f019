package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/litengine/litengine"
)

// Borrow, Return and Renew each run as one explicit transaction (READ
// COMMITTED) in two round trips: BEGIN, the locks and the reads travel as one
// pipelined batch; the Go side judges the facts with the domain's rules; then
// either the writes and COMMIT travel as a second batch, or ROLLBACK ends a
// refused request having changed nothing (see commitBatch and endTx). The
// lists travel as array parameters, so the statements, and their cached
// plans, are the same whatever the batch size.
//
// Lock order. Every transaction locks rows in one fixed order: the member
// (users), then books by id, then loans by id, then fees by id, taking only
// the ones it needs, and last of all the audit counter, in the statement
// that appends its events (see audit.go). Two transactions that overlap, in
// any order, queue on their first common row instead of each holding a row
// the other waits for, so they cannot deadlock.
//
// Lock strength. Every lock is FOR NO KEY UPDATE: the lock an UPDATE of
// non-key columns takes anyway, exclusive among writers, but unlike FOR
// UPDATE it does not block the FOR KEY SHARE that a foreign-key check takes
// on the referenced row. A return inserts fees that reference a member whom
// a borrow may hold while it waits for a book the return holds: under FOR
// UPDATE on the member that would be a deadlock. (And creating a member's
// API key would wait for the member's borrows.)
//
// Reads. The locks are taken by statements of their own, and the facts are
// then read by one statement after them. Its snapshot is taken after the
// locks were granted, so it sees everything the previous holders committed;
// and it is one snapshot, so a concurrent return (a closed loan and its new
// fee) is seen whole or not at all. (A single statement that both waits for
// locks and reads other rows reads them as of before it waited.) A row
// returned by the locking statement itself is its latest version: READ
// COMMITTED re-reads a row it had to wait for.

// lockMember locks the member's row and returns what the rules need of it.
// This lock is what serialises the borrows of one member: while it is held no
// other borrow of the member can count its active loans, so two batches of
// the same member, even of different books, cannot pass the loan limit
// together. It also waits for a suspension or a category change in flight,
// which update this row.
const lockMember = `SELECT category, suspended FROM users WHERE id = $1 FOR NO KEY UPDATE`

// lockBooks locks books $1 in id order. A copy judged available must stay so
// until the loans are written, and two batches sharing books, in any order,
// must not deadlock (see the lock order).
const lockBooks = `
	SELECT count(*) FROM (
		SELECT FROM books WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE
	) AS locked`

// borrowFacts reads, after lockMember and lockBooks, the rest of
// litengine.BorrowFacts for member $1 and books $2: active loans, unpaid fees,
// which books exist, which have a copy left, which the member already holds.
const borrowFacts = `
	SELECT (SELECT count(*) FROM loans WHERE user_id = $1 AND returned_at IS NULL),
	       (SELECT coalesce(sum(amount - paid), 0)::bigint FROM fees WHERE user_id = $1 AND waived_at IS NULL),
	       array(SELECT id FROM books WHERE id = ANY($2::bigint[])),
	       array(SELECT id FROM books WHERE id = ANY($2::bigint[]) AND on_loan < totalqty),
	       array(SELECT book_id FROM loans WHERE user_id = $1 AND returned_at IS NULL AND book_id = ANY($2::bigint[]))`

// takeCopies and lend write a judged borrow: one copy of each book $1 at time
// $2; loans $1 (ids) of books $2 to member $3 at $4, due at $5.
const (
	takeCopies = `UPDATE books SET on_loan = on_loan + 1, updated_at = $2 WHERE id = ANY($1::bigint[])`
	lend       = `
		INSERT INTO loans (id, book_id, user_id, borrowed_at, due_at)
		SELECT loan.id, loan.book_id, $3, $4, $5
		FROM unnest($1::text[], $2::bigint[]) AS loan (id, book_id)`
)

// Borrow lends every book to the user, or none of them: one transaction in
// two round trips.
func (db *DB) Borrow(ctx context.Context, userID int64, bookIDs []int64) ([]*litengine.Loan, error) {
	if err := litengine.ValidateBorrow(userID, bookIDs); err != nil {
		return nil, err
	}
	var loans []*litengine.Loan
	err := db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		defer endTx(ctx, conn)
		facts, err := readBorrowFacts(ctx, conn, userID, bookIDs)
		if err != nil {
			return uncommitted(err)
		}
		if facts.User == nil {
			return litengine.Errorf(litengine.ENOTFOUND, "User %d not found.", userID)
		}
		if err := litengine.JudgeBorrow(db.policies, bookIDs, *facts); err != nil {
			return err
		}
		due := db.policies.DueAt(now, db.policies.For(facts.User.Category).LoanDays)
		ids := make([]string, len(bookIDs))
		loans = make([]*litengine.Loan, len(bookIDs))
		for i, bookID := range bookIDs {
			id, err := uuid.NewV7()
			if err != nil {
				return uncommitted(err)
			}
			ids[i] = id.String()
			loans[i] = &litengine.Loan{ID: ids[i], BookID: bookID, UserID: userID, BorrowedAt: now, DueAt: due}
		}
		var events auditEvents
		for _, l := range loans {
			if err := events.add(litengine.EventLoanBorrowed, l.BookID, l.UserID, l.ID, "",
				map[string]any{"due_at": auditTime(l.DueAt)}); err != nil {
				return uncommitted(err)
			}
		}
		batch := &pgx.Batch{}
		batch.Queue(takeCopies, bookIDs, now)
		batch.Queue(lend, ids, bookIDs, userID, now, due)
		events.queue(ctx, batch, now) // last: see the numbering in audit.go
		return commitBatch(ctx, conn, batch)
	})
	if err != nil {
		return nil, err
	}
	return loans, nil
}

// readBorrowFacts begins the borrow's transaction, takes its locks and reads
// its facts, in one round trip. facts.User is nil for an unknown member.
func readBorrowFacts(ctx context.Context, conn *pgxpool.Conn, userID int64, bookIDs []int64) (*litengine.BorrowFacts, error) {
	batch := beginBatch()
	batch.Queue(lockMember, userID)
	batch.Queue(lockBooks, bookIDs)
	batch.Queue(borrowFacts, userID, bookIDs)
	results := conn.SendBatch(ctx, batch)
	defer results.Close()
	if _, err := results.Exec(); err != nil { // BEGIN
		return nil, err
	}
	f := &litengine.BorrowFacts{User: &litengine.User{ID: userID}}
	err := results.QueryRow().Scan(&f.User.Category, &f.User.Suspended)
	if errors.Is(err, pgx.ErrNoRows) {
		f.User = nil
	} else if err != nil {
		return nil, err
	}
	if _, err := results.Exec(); err != nil {
		return nil, err
	}
	var known, available, onLoan []int64
	if err := results.QueryRow().Scan(&f.ActiveLoans, &f.Unpaid, &known, &available, &onLoan); err != nil {
		return nil, err
	}
	f.Known, f.Available, f.OnLoan = set(known), set(available), set(onLoan)
	return f, results.Close()
}

// lockLoanBooks locks the books of loans $1 in id order, before the loans
// (see the lock order): a return gives their copies back, and must not
// deadlock with borrows, which lock books in id order too. A loan's book
// never changes, so reading it before the loan is locked is safe.
const lockLoanBooks = `
	SELECT count(*) FROM (
		SELECT FROM books WHERE id IN (SELECT book_id FROM loans WHERE id = ANY($1::text[]))
		ORDER BY id FOR NO KEY UPDATE
	) AS locked`

// lockLoans locks loans $1 in id order and returns each as it is now, with
// its member's category and suspension. A loan judged open, or renewable,
// must stay so until the change commits: two returns of one loan must not
// both close it, nor two renewals both count as its last allowed one.
const lockLoans = `
	SELECT loans.id, loans.book_id, loans.user_id, loans.borrowed_at, loans.due_at, loans.returned_at,
	       loans.renewals, users.category, users.suspended
	FROM loans JOIN users ON users.id = loans.user_id
	WHERE loans.id = ANY($1::text[])
	ORDER BY loans.id
	FOR NO KEY UPDATE OF loans`

// readLoans begins a transaction, locks the loans ids (and first their books,
// for a return) and returns them by id, with their members by id: the members
// carry only ID, Category and Suspended.
func readLoans(ctx context.Context, conn *pgxpool.Conn, ids []string, withBooks bool) (map[string]*litengine.Loan, map[int64]*litengine.User, error) {
	batch := beginBatch()
	if withBooks {
		batch.Queue(lockLoanBooks, ids)
	}
	batch.Queue(lockLoans, ids)
	results := conn.SendBatch(ctx, batch)
	defer results.Close()
	if _, err := results.Exec(); err != nil { // BEGIN
		return nil, nil, err
	}
	if withBooks {
		if _, err := results.Exec(); err != nil {
			return nil, nil, err
		}
	}
	rows, err := results.Query()
	if err != nil {
		return nil, nil, err
	}
	loans := make(map[string]*litengine.Loan, len(ids))
	users := make(map[int64]*litengine.User)
	for rows.Next() {
		var u litengine.User
		l, err := scanLoan(rows, &u.Category, &u.Suspended)
		if err != nil {
			rows.Close()
			return nil, nil, err
		}
		u.ID = l.UserID
		loans[l.ID], users[u.ID] = l, &u
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	return loans, users, results.Close()
}

// closeLoans, restock and assessFees write a judged return at time $2:
// loans $1 closed; one copy back for each book id in $1 (repeated ids count
// twice); fees $1 (ids) of members $2 on loans $3 of books $4 for amounts $5
// in currency $6, assessed at $7.
const (
	closeLoans = `UPDATE loans SET returned_at = $2 WHERE id = ANY($1::text[])`
	restock    = `
		UPDATE books SET on_loan = on_loan - returned.n, updated_at = $2
		FROM (SELECT book_id, count(*) AS n FROM unnest($1::bigint[]) AS r (book_id) GROUP BY book_id) AS returned
		WHERE books.id = returned.book_id`
	assessFees = `
		INSERT INTO fees (id, user_id, loan_id, book_id, amount, currency, assessed_at)
		SELECT fee.id, fee.user_id, fee.loan_id, fee.book_id, fee.amount, $6, $7
		FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[])
		     AS fee (id, user_id, loan_id, book_id, amount)`
)

// Return closes every loan, or none of them, and assesses the late fee of
// each loan returned after its due date: one transaction in two round trips.
func (db *DB) Return(ctx context.Context, transactionIDs []string) ([]*litengine.Loan, error) {
	if err := litengine.ValidateReturn(transactionIDs); err != nil {
		return nil, err
	}
	var loans []*litengine.Loan
	err := db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		defer endTx(ctx, conn)
		byID, users, err := readLoans(ctx, conn, transactionIDs, true)
		if err != nil {
			return uncommitted(err)
		}
		known, open := make(map[string]bool, len(byID)), make(map[string]bool, len(byID))
		for id, l := range byID {
			known[id], open[id] = true, l.ReturnedAt == nil
		}
		for _, id := range transactionIDs {
			if !open[id] {
				return litengine.ReturnFailure(transactionIDs, known, open)
			}
		}
		loans = make([]*litengine.Loan, len(transactionIDs))
		books := make([]int64, len(transactionIDs))
		var fees struct {
			ids, loans         []string
			users, books, owed []int64
		}
		// Each loan's loan.returned, followed by its fee.assessed if any.
		var events auditEvents
		for i, id := range transactionIDs {
			l := byID[id]
			returnedAt := now
			l.ReturnedAt = &returnedAt
			loans[i], books[i] = l, l.BookID
			if err := events.add(litengine.EventLoanReturned, l.BookID, l.UserID, l.ID, "",
				map[string]any{"returned_at": auditTime(returnedAt)}); err != nil {
				return uncommitted(err)
			}
			amount := litengine.LateFeeOf(db.policies, l, users[l.UserID].Category, now)
			if amount <= 0 {
				continue
			}
			feeID, err := uuid.NewV7()
			if err != nil {
				return uncommitted(err)
			}
			l.LateFee = &litengine.Fee{ID: feeID.String(), UserID: l.UserID, TransactionID: l.ID, BookID: l.BookID,
				Amount: amount, Currency: db.policies.Currency, AssessedAt: now}
			fees.ids, fees.loans = append(fees.ids, l.LateFee.ID), append(fees.loans, l.ID)
			fees.users, fees.books, fees.owed = append(fees.users, l.UserID), append(fees.books, l.BookID), append(fees.owed, amount)
			if err := events.add(litengine.EventFeeAssessed, l.BookID, l.UserID, l.ID, l.LateFee.ID,
				map[string]any{"amount": amount, "currency": l.LateFee.Currency}); err != nil {
				return uncommitted(err)
			}
		}
		batch := &pgx.Batch{}
		batch.Queue(closeLoans, transactionIDs, now)
		batch.Queue(restock, books, now)
		if fees.ids != nil {
			batch.Queue(assessFees, fees.ids, fees.users, fees.loans, fees.books, fees.owed, db.policies.Currency, now)
		}
		events.queue(ctx, batch, now) // last: see the numbering in audit.go
		return commitBatch(ctx, conn, batch)
	})
	if err != nil {
		return nil, err
	}
	return loans, nil
}

// renewLoans writes a judged renewal: loans $1 due at $2 after $3 renewals.
const renewLoans = `
	UPDATE loans SET due_at = r.due_at, renewals = r.renewals
	FROM unnest($1::text[], $2::timestamptz[], $3::integer[]) AS r (id, due_at, renewals)
	WHERE loans.id = r.id`

// Renew extends every loan, or none of them: one transaction in two round
// trips. The members are read, not locked: a suspension that commits while
// the renewal runs orders after it.
func (db *DB) Renew(ctx context.Context, transactionIDs []string) ([]*litengine.Loan, error) {
	if err := litengine.ValidateReturn(transactionIDs); err != nil {
		return nil, err
	}
	var loans []*litengine.Loan
	err := db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		defer endTx(ctx, conn)
		byID, users, err := readLoans(ctx, conn, transactionIDs, false)
		if err != nil {
			return uncommitted(err)
		}
		if err := litengine.JudgeRenew(db.policies, transactionIDs, byID, users, now); err != nil {
			return err
		}
		loans = make([]*litengine.Loan, len(transactionIDs))
		dues := make([]time.Time, len(transactionIDs))
		renewals := make([]int32, len(transactionIDs))
		var events auditEvents
		for i, id := range transactionIDs {
			l := byID[id]
			loans[i] = litengine.Renewed(db.policies, l, users[l.UserID].Category, now)
			dues[i], renewals[i] = loans[i].DueAt, int32(loans[i].Renewals)
			if err := events.add(litengine.EventLoanRenewed, l.BookID, l.UserID, l.ID, "",
				map[string]any{"due_at": auditTime(loans[i].DueAt), "renewals": loans[i].Renewals}); err != nil {
				return uncommitted(err)
			}
		}
		batch := &pgx.Batch{}
		batch.Queue(renewLoans, transactionIDs, dues, renewals)
		events.queue(ctx, batch, now) // last: see the numbering in audit.go
		return commitBatch(ctx, conn, batch)
	})
	if err != nil {
		return nil, err
	}
	return loans, nil
}

const loanColumns = `id, book_id, user_id, borrowed_at, due_at, returned_at, renewals`

// scanLoan scans loanColumns, then extra.
func scanLoan(row pgx.Row, extra ...any) (*litengine.Loan, error) {
	var (
		l        litengine.Loan
		renewals int32
	)
	dest := append([]any{&l.ID, &l.BookID, &l.UserID, &l.BorrowedAt, &l.DueAt, &l.ReturnedAt, &renewals}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	l.Renewals = int(renewals)
	l.BorrowedAt, l.DueAt = l.BorrowedAt.UTC(), l.DueAt.UTC()
	if l.ReturnedAt != nil {
		t := l.ReturnedAt.UTC()
		l.ReturnedAt = &t
	}
	return &l, nil
}

// FindLoans lists one page of a member's loans in the order they were made.
// One statement answers both whether the member exists (a row, maybe of
// NULLs) and the page.
func (db *DB) FindLoans(ctx context.Context, f litengine.LoanFilter) ([]*litengine.Loan, error) {
	var loans []*litengine.Loan
	err := db.run(ctx, func(conn *pgxpool.Conn, _ time.Time) error {
		rows, err := conn.Query(ctx, `
			SELECT loan.id, loan.book_id, loan.borrowed_at, loan.due_at, loan.returned_at, loan.renewals
			FROM users LEFT JOIN LATERAL (
				SELECT id, book_id, borrowed_at, due_at, returned_at, renewals FROM loans
				WHERE user_id = users.id AND id > $2
				  AND ($3 = '' OR ($3 = 'active') = (returned_at IS NULL))
				ORDER BY id
				LIMIT $4
			) AS loan ON true
			WHERE users.id = $1`,
			f.UserID, f.AfterID, f.Status, f.Limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		userFound := false
		loans = make([]*litengine.Loan, 0, max(f.Limit, 0))
		for rows.Next() {
			userFound = true
			var (
				id            *string
				bookID        *int64
				borrowed, due *time.Time
				returnedAt    *time.Time
				renewals      *int32
			)
			if err := rows.Scan(&id, &bookID, &borrowed, &due, &returnedAt, &renewals); err != nil {
				return err
			}
			if id == nil {
				continue // the member has no loans on this page
			}
			l := &litengine.Loan{ID: *id, BookID: *bookID, UserID: f.UserID, BorrowedAt: borrowed.UTC(), DueAt: due.UTC(),
				Renewals: int(*renewals)}
			if returnedAt != nil {
				t := returnedAt.UTC()
				l.ReturnedAt = &t
			}
			loans = append(loans, l)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !userFound {
			return litengine.Errorf(litengine.ENOTFOUND, "User %d not found.", f.UserID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return loans, nil
}

func set[T comparable](s []T) map[T]bool {
	m := make(map[T]bool, len(s))
	for _, v := range s {
		m[v] = true
	}
	return m
}

// FindLoansByID returns the known loans among transactionIDs.
func (db *DB) FindLoansByID(ctx context.Context, transactionIDs []string) ([]*litengine.Loan, error) {
	var loans []*litengine.Loan
	err := db.run(ctx, func(conn *pgxpool.Conn, _ time.Time) error {
		loans = nil
		rows, err := conn.Query(ctx, `SELECT `+loanColumns+` FROM loans WHERE id = ANY($1)`, transactionIDs)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			l, err := scanLoan(rows)
			if err != nil {
				return err
			}
			loans = append(loans, l)
		}
		return rows.Err()
	})
	return loans, err
}
