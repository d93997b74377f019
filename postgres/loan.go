package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/litengine/litengine"
)

// Each batch is two statements pipelined in one round trip. pgx sends them
// with a single Sync, so PostgreSQL runs them as one implicit transaction
// (READ COMMITTED): both or neither. The lists travel as array parameters, so
// the statements, and their cached plans, are the same whatever the batch size.
//
//  1. The first statement locks every row the batch may change, in one fixed
//     order: loans by id, then books by id. Two batches that overlap, in any
//     order, queue on their first common row instead of each holding a row
//     the other waits for, so they cannot deadlock.
//  2. The second statement reads those rows, which no one else can change now,
//     decides in a one-row "verdict" CTE whether the whole request holds, and
//     changes rows only "WHERE (SELECT ok FROM verdict)": all of them, or,
//     when the verdict is false, none. Its final SELECT returns what the Go
//     side needs to name every culprit.
//
// Why not one statement: its snapshot is taken before it waits for the locks,
// so its UPDATE reads row versions older than the ones locked and judged, and
// re-checks (EvalPlanQual) only the rows that passed on the old version. Under
// load the decision and the change then disagree; the suite's concurrent tests
// caught exactly that. The second statement's snapshot is taken after the
// locks, so what it reads is what it changes.

// lockBooks locks books $1 in id order. NO KEY UPDATE is the lock an UPDATE
// of non-key columns takes anyway; unlike FOR UPDATE it still lets other
// transactions check the foreign keys of loans that reference these books.
const lockBooks = `
	SELECT count(*) FROM (
		SELECT FROM books WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE
	) AS locked`

// borrow lends books $2 to user $1, after lockBooks. Loan ids $3 pair with the
// books in order; $4 is the time and $5 the due date.
const borrow = `
	WITH book AS (
		SELECT id, on_loan < totalqty AS has_copy FROM books WHERE id = ANY($2::bigint[])
	),
	verdict AS (
		SELECT EXISTS (SELECT FROM users WHERE id = $1) AS user_found,
		       (SELECT count(*) FROM book WHERE has_copy) = cardinality($2::bigint[]) AS books_ok
	),
	taken AS (
		UPDATE books SET on_loan = on_loan + 1, updated_at = $4
		WHERE id = ANY($2::bigint[]) AND (SELECT user_found AND books_ok FROM verdict)
		RETURNING 1
	),
	lent AS (
		INSERT INTO loans (id, book_id, user_id, borrowed_at, due_at)
		SELECT loan.id, loan.book_id, $1, $4, $5
		FROM unnest($3::text[], $2::bigint[]) AS loan (id, book_id)
		WHERE (SELECT user_found AND books_ok FROM verdict)
		RETURNING 1
	)
	SELECT user_found, books_ok, (SELECT count(*) FROM taken) + (SELECT count(*) FROM lent),
	       array(SELECT id FROM book), array(SELECT id FROM book WHERE has_copy)
	FROM verdict`

// Borrow lends every book to the user, or none of them, in one round trip.
func (db *DB) Borrow(ctx context.Context, userID int64, bookIDs []int64) ([]*litengine.Loan, error) {
	if err := litengine.ValidateBorrow(userID, bookIDs); err != nil {
		return nil, err
	}
	loans := make([]*litengine.Loan, len(bookIDs))
	err := db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		due := now.Add(db.loanPeriod)
		ids := make([]string, len(bookIDs))
		for i, bookID := range bookIDs {
			id, err := uuid.NewV7()
			if err != nil {
				return err
			}
			ids[i] = id.String()
			loans[i] = &litengine.Loan{ID: ids[i], BookID: bookID, UserID: userID, BorrowedAt: now, DueAt: due}
		}
		batch := &pgx.Batch{}
		batch.Queue(lockBooks, bookIDs)
		batch.Queue(borrow, userID, bookIDs, ids, now, due)
		results := conn.SendBatch(ctx, batch)
		defer results.Close()
		if _, err := results.Exec(); err != nil {
			return err
		}
		var (
			userFound, booksOK bool
			changed            int64
			known, available   []int64
		)
		if err := results.QueryRow().Scan(&userFound, &booksOK, &changed, &known, &available); err != nil {
			return err
		}
		if err := results.Close(); err != nil { // the implicit transaction commits here
			return err
		}
		switch {
		case !userFound:
			return litengine.Errorf(litengine.ENOTFOUND, "User %d not found.", userID)
		case !booksOK:
			return litengine.BorrowFailure(bookIDs, set(known), set(available))
		case changed != 2*int64(len(bookIDs)):
			return fmt.Errorf("postgres: borrow of %d books changed %d rows", len(bookIDs), changed)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return loans, nil
}

// lockLoans locks loans $1 in id order, then their books in id order. The
// array of book ids is an uncorrelated subquery, which PostgreSQL evaluates before
// scanning books, so every loan is locked before the first book.
const lockLoans = `
	WITH loan AS (
		SELECT book_id FROM loans WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE
	)
	SELECT count(*) FROM (
		SELECT FROM books WHERE id = ANY(ARRAY(SELECT book_id FROM loan)) ORDER BY id FOR NO KEY UPDATE
	) AS locked`

// giveBack closes loans $1 at time $2 and gives their copies back, after
// lockLoans. One row per known loan, as it was before, with the verdict.
const giveBack = `
	WITH loan AS (
		SELECT id, book_id, user_id, borrowed_at, due_at, returned_at FROM loans WHERE id = ANY($1::text[])
	),
	verdict AS (
		SELECT count(*) FILTER (WHERE returned_at IS NULL) = cardinality($1::text[]) AS ok FROM loan
	),
	closed AS (
		UPDATE loans SET returned_at = $2
		WHERE id = ANY($1::text[]) AND (SELECT ok FROM verdict)
		RETURNING 1
	),
	restocked AS (
		UPDATE books SET on_loan = on_loan - returned.n, updated_at = $2
		FROM (SELECT book_id, count(*) AS n FROM loan GROUP BY book_id) AS returned
		WHERE books.id = returned.book_id AND (SELECT ok FROM verdict)
	)
	SELECT loan.id, book_id, user_id, borrowed_at, due_at, returned_at IS NOT NULL,
	       verdict.ok, (SELECT count(*) FROM closed)
	FROM loan, verdict`

// Return closes every loan, or none of them, in one round trip.
func (db *DB) Return(ctx context.Context, transactionIDs []string) ([]*litengine.Loan, error) {
	if err := litengine.ValidateReturn(transactionIDs); err != nil {
		return nil, err
	}
	byID := make(map[string]*litengine.Loan, len(transactionIDs))
	err := db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		clear(byID)
		batch := &pgx.Batch{}
		batch.Queue(lockLoans, transactionIDs)
		batch.Queue(giveBack, transactionIDs, now)
		results := conn.SendBatch(ctx, batch)
		defer results.Close()
		if _, err := results.Exec(); err != nil {
			return err
		}
		rows, err := results.Query()
		if err != nil {
			return err
		}
		var (
			ok       bool
			closed   int64
			returned = make(map[string]bool)
		)
		for rows.Next() {
			var (
				l         litengine.Loan
				wasClosed bool
			)
			if err := rows.Scan(&l.ID, &l.BookID, &l.UserID, &l.BorrowedAt, &l.DueAt, &wasClosed, &ok, &closed); err != nil {
				rows.Close()
				return err
			}
			l.BorrowedAt, l.DueAt = l.BorrowedAt.UTC(), l.DueAt.UTC()
			returnedAt := now
			l.ReturnedAt = &returnedAt
			byID[l.ID], returned[l.ID] = &l, wasClosed
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if err := results.Close(); err != nil { // the implicit transaction commits here
			return err
		}
		switch {
		case !ok: // also when no row came back: every id is unknown
			known, open := make(map[string]bool, len(byID)), make(map[string]bool, len(byID))
			for id := range byID {
				known[id], open[id] = true, !returned[id]
			}
			return litengine.ReturnFailure(transactionIDs, known, open)
		case closed != int64(len(transactionIDs)):
			return fmt.Errorf("postgres: return of %d loans closed %d", len(transactionIDs), closed)
		}
		return nil
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

// FindLoans lists one page of a member's loans in the order they were made.
// One statement answers both whether the member exists (a row, maybe of
// NULLs) and the page.
func (db *DB) FindLoans(ctx context.Context, f litengine.LoanFilter) ([]*litengine.Loan, error) {
	var loans []*litengine.Loan
	err := db.run(ctx, func(conn *pgxpool.Conn, _ time.Time) error {
		rows, err := conn.Query(ctx, `
			SELECT loan.id, loan.book_id, loan.borrowed_at, loan.due_at, loan.returned_at
			FROM users LEFT JOIN LATERAL (
				SELECT id, book_id, borrowed_at, due_at, returned_at FROM loans
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
			)
			if err := rows.Scan(&id, &bookID, &borrowed, &due, &returnedAt); err != nil {
				return err
			}
			if id == nil {
				continue // the member has no loans on this page
			}
			l := &litengine.Loan{ID: *id, BookID: *bookID, UserID: f.UserID, BorrowedAt: borrowed.UTC(), DueAt: due.UTC()}
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
		rows, err := conn.Query(ctx, `
			SELECT id, book_id, user_id, borrowed_at, due_at, returned_at FROM loans
			WHERE id = ANY($1)`, transactionIDs)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var l litengine.Loan
			if err := rows.Scan(&l.ID, &l.BookID, &l.UserID, &l.BorrowedAt, &l.DueAt, &l.ReturnedAt); err != nil {
				return err
			}
			l.BorrowedAt, l.DueAt = l.BorrowedAt.UTC(), l.DueAt.UTC()
			if l.ReturnedAt != nil {
				t := l.ReturnedAt.UTC()
				l.ReturnedAt = &t
			}
			loans = append(loans, &l)
		}
		return rows.Err()
	})
	return loans, err
}
