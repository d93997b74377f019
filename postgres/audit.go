package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/litengine/litengine"
)

// The audit trail. Every change appends its events in its own transaction,
// in request order, stamped with the transaction's time and the request's
// actor, so the trail holds exactly what committed.
//
// Numbering. An event's seq is its place in COMMIT order, handed out by the
// one row of audit_seq (see migrations/00004_audit.sql): the last statement
// of every transaction that appends events adds their number to it and
// inserts them as last-n+1..last. Its row lock is held until COMMIT, so a
// transaction reads the total only after the previous holder committed: the
// numbers follow the commit order without gaps, and a reader paging by seq
// never sees a number appear below one it has passed, which a sequence,
// drawn before commit in any order, would not guarantee. Every writer queues
// on that row, so it is taken last, after every other lock (the lock order
// ends member → books → loans → fees → audit_seq), and held only for the
// rest of that one statement and the COMMIT.
//
// Two forms. Explicit transactions, which know every event in Go before they
// commit, queue appendEvents as the last write of their commit batch.
// Single-statement changes, whose events depend on what the statement does
// (the id it draws, the values before it), end that statement with
// auditTail instead, fed by a CTE ev of the rows it changed; the counter is
// updated from a count over ev, so it is locked only once the change itself
// is done. Either way no round trip is added.

// auditTail ends a statement whose CTE ev (ord, at, type, actor, book_id,
// user_id, transaction_id, fee_id, data) lists the events to append, ord
// giving their order: it numbers them with the counter and inserts them.
// Without events it neither updates nor locks the counter. It follows the
// CTE ev and its comma, and the statement's final SELECT follows it.
const auditTail = `
	counter AS (
		UPDATE audit_seq SET last = last + total.n
		FROM (SELECT count(*) AS n FROM ev) AS total
		WHERE total.n > 0
		RETURNING audit_seq.last - total.n AS first
	),
	logged AS (
		INSERT INTO audit_events (seq, at, type, actor, book_id, user_id, transaction_id, fee_id, data)
		SELECT counter.first + row_number() OVER (ORDER BY ev.ord),
		       ev.at, ev.type, ev.actor, ev.book_id, ev.user_id, ev.transaction_id, ev.fee_id, ev.data
		FROM ev CROSS JOIN counter
		RETURNING seq
	)`

// appendEvents appends events $3.. (type, book, member, transaction, fee,
// data, paired by position; zero ids and empty strings are NULL) at time $1
// by actor $2, numbered in array order.
const appendEvents = `
	WITH ev AS (
		SELECT e.ord, $1::timestamptz AS at, e.type, $2::text AS actor,
		       NULLIF(e.book_id, 0) AS book_id, NULLIF(e.user_id, 0) AS user_id,
		       NULLIF(e.transaction_id, '') AS transaction_id, NULLIF(e.fee_id, '') AS fee_id, e.data::jsonb AS data
		FROM unnest($3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::text[])
		     WITH ORDINALITY AS e (type, book_id, user_id, transaction_id, fee_id, data, ord)
	),` + auditTail + `
	SELECT count(*) FROM logged`

// auditEvents collects the events of one transaction in request order,
// column by column, for appendEvents' arrays.
type auditEvents struct {
	types, transactions, fees, data []string
	books, users                    []int64
}

// add appends one event; zero ids and empty strings are left NULL.
func (e *auditEvents) add(typ string, bookID, userID int64, transactionID, feeID string, data map[string]any) error {
	raw, err := litengine.EncodeEventData(data)
	if err != nil {
		return err
	}
	e.types, e.books, e.users = append(e.types, typ), append(e.books, bookID), append(e.users, userID)
	e.transactions, e.fees = append(e.transactions, transactionID), append(e.fees, feeID)
	e.data = append(e.data, string(raw))
	return nil
}

// queue queues appendEvents on b, stamped with now and the actor of ctx; it
// must be b's last write (see the numbering). Without events it queues nothing.
func (e *auditEvents) queue(ctx context.Context, b *pgx.Batch, now time.Time) {
	if len(e.types) == 0 {
		return
	}
	b.Queue(appendEvents, now, litengine.ActorFromContext(ctx), e.types, e.books, e.users, e.transactions, e.fees, e.data)
}

// auditTime is how event data carries a time: RFC 3339, UTC.
func auditTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// eventData encodes one event's data for a single-statement change that
// knows it before it runs, as a jsonb parameter.
func eventData(data map[string]any) (string, error) {
	raw, err := litengine.EncodeEventData(data)
	return string(raw), err
}

// FindAuditEvents lists one page of events in commit order. Only the filters
// that are set reach the SQL, so that the planner sees a plain equality, even
// in a generic plan, and picks that filter's (column, seq) index; each
// combination is prepared once by the connection's statement cache.
func (db *DB) FindAuditEvents(ctx context.Context, f litengine.AuditFilter) ([]*litengine.AuditEvent, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var (
		q    strings.Builder
		args = []any{f.AfterSeq}
	)
	q.WriteString(`
		SELECT seq, at, type, actor, book_id, user_id, transaction_id, fee_id, data::text
		FROM audit_events WHERE seq > $1`)
	where := func(cond string, arg any) {
		args = append(args, arg)
		fmt.Fprintf(&q, ` AND %s $%d`, cond, len(args))
	}
	if f.BookID != 0 {
		where(`book_id =`, f.BookID)
	}
	if f.UserID != 0 {
		where(`user_id =`, f.UserID)
	}
	if f.TransactionID != "" {
		where(`transaction_id =`, f.TransactionID)
	}
	if f.Type != "" {
		where(`type =`, f.Type)
	}
	// Events are stamped in whole seconds: one at second s is at or after
	// Since, and before Until, exactly when s is at or after the bound
	// rounded up (PostgreSQL would truncate a bound's nanoseconds).
	if !f.Since.IsZero() {
		where(`at >=`, ceilSecond(f.Since))
	}
	if !f.Until.IsZero() {
		where(`at <`, ceilSecond(f.Until))
	}
	args = append(args, f.Limit)
	fmt.Fprintf(&q, ` ORDER BY seq LIMIT $%d`, len(args))

	var events []*litengine.AuditEvent
	err := db.run(ctx, func(conn *pgxpool.Conn, _ time.Time) error {
		events = []*litengine.AuditEvent{}
		rows, err := conn.Query(ctx, q.String(), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				e                    litengine.AuditEvent
				bookID, userID       *int64
				transactionID, feeID *string
				data                 string
			)
			if err := rows.Scan(&e.Seq, &e.At, &e.Type, &e.Actor, &bookID, &userID, &transactionID, &feeID, &data); err != nil {
				return err
			}
			e.At = e.At.UTC()
			if bookID != nil {
				e.BookID = *bookID
			}
			if userID != nil {
				e.UserID = *userID
			}
			if transactionID != nil {
				e.TransactionID = *transactionID
			}
			if feeID != nil {
				e.FeeID = *feeID
			}
			if e.Data, err = litengine.DecodeEventData([]byte(data)); err != nil {
				return fmt.Errorf("postgres: audit event %d: %w", e.Seq, err)
			}
			events = append(events, &e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return events, nil
}

// ceilSecond is t rounded up to a whole second, in UTC.
func ceilSecond(t time.Time) time.Time {
	s := t.UTC().Truncate(time.Second)
	if s.Before(t) {
		s = s.Add(time.Second)
	}
	return s
}

// AuditStock compares one page of books' counters with their loans. It is
// one statement, so it reads one snapshot: a borrow or a return changes the
// counter and the loans in one transaction, and the statement sees both or
// neither, so a sound book never shows as inconsistent because of a write in
// between. The counts read only the active-loans index of each book
// (loans_book_active); the Inconsistent filter looks at every book after the
// cursor until the page is full.
func (db *DB) AuditStock(ctx context.Context, f litengine.StockAuditFilter) ([]*litengine.StockAudit, error) {
	var audits []*litengine.StockAudit
	err := db.run(ctx, func(conn *pgxpool.Conn, _ time.Time) error {
		audits = []*litengine.StockAudit{}
		rows, err := conn.Query(ctx, `
			SELECT books.id, books.totalqty, books.on_loan, active.n
			FROM books CROSS JOIN LATERAL (
				SELECT count(*) AS n FROM loans WHERE book_id = books.id AND returned_at IS NULL
			) AS active
			WHERE books.id > $1
			  AND (NOT $2 OR books.on_loan <> active.n OR books.on_loan < 0 OR books.on_loan > books.totalqty)
			ORDER BY books.id
			LIMIT $3`, f.AfterID, f.Inconsistent, f.Limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s litengine.StockAudit
			if err := rows.Scan(&s.BookID, &s.TotalQty, &s.OnLoan, &s.ActiveLoans); err != nil {
				return err
			}
			audits = append(audits, &s)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return audits, nil
}

// FindOverdueLoans lists one page of active loans past due at the store's
// clock, in transaction order, with what a return now would assess. It walks
// the loans_active_due index, which holds due_at, and reads a loan's row and
// member only for the loans it returns.
func (db *DB) FindOverdueLoans(ctx context.Context, f litengine.OverdueFilter) ([]*litengine.OverdueLoan, error) {
	var overdue []*litengine.OverdueLoan
	err := db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		overdue = []*litengine.OverdueLoan{}
		rows, err := conn.Query(ctx, `
			SELECT loans.id, loans.book_id, loans.user_id, loans.borrowed_at, loans.due_at, loans.returned_at,
			       loans.renewals, users.category
			FROM loans JOIN users ON users.id = loans.user_id
			WHERE loans.returned_at IS NULL AND loans.due_at < $1 AND loans.id > $2
			ORDER BY loans.id
			LIMIT $3`, now, f.AfterID, f.Limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var category string
			l, err := scanLoan(rows, &category)
			if err != nil {
				return err
			}
			days := db.policies.OverdueDays(l.DueAt, now)
			overdue = append(overdue, &litengine.OverdueLoan{
				Loan:        *l,
				DaysOverdue: days,
				AccruedFee:  db.policies.For(category).LateFee(days),
			})
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return overdue, nil
}
