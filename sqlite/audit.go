package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/litengine/litengine"
)

// auditEvent is one event a write appends, as the insert reads it from JSON.
// Zero ids are left out and stored as NULL.
type auditEvent struct {
	Type          string `json:"t"`
	BookID        int64  `json:"b,omitempty"`
	UserID        int64  `json:"u,omitempty"`
	TransactionID string `json:"x,omitempty"`
	FeeID         string `json:"f,omitempty"`
	Data          string `json:"d"` // litengine.EncodeEventData
}

// auditEvents collects a transaction's events in request order.
type auditEvents []auditEvent

// add appends an event with data encoded as every store keeps it.
func (evs *auditEvents) add(e auditEvent, data map[string]any) error {
	raw, err := litengine.EncodeEventData(data)
	if err != nil {
		return err
	}
	e.Data = string(raw)
	*evs = append(*evs, e)
	return nil
}

// auditTime is how event data carries a time: RFC 3339, UTC.
func auditTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// appendEvents inserts the events in one statement, whatever their number, in
// the transaction that made the changes, stamped with its time and the
// request's actor. json_each yields the array in order, so seq follows the
// request order; the write lock the transaction holds until COMMIT makes it
// the commit order too.
func (db *DB) appendEvents(ctx context.Context, tx *sql.Tx, now time.Time, evs auditEvents) error {
	if len(evs) == 0 {
		return nil
	}
	payload, err := json.Marshal(evs)
	if err != nil {
		return err
	}
	_, err = db.exec(ctx, tx, `
		INSERT INTO audit_events (at, type, actor, book_id, user_id, transaction_id, fee_id, data)
		SELECT ?, value ->> 't', ?, value ->> 'b', value ->> 'u', value ->> 'x', value ->> 'f', value ->> 'd'
		FROM json_each(?) ORDER BY key`,
		unix(now), litengine.ActorFromContext(ctx), string(payload))
	return err
}

// FindAuditEvents lists one page of events in commit order. Only the filters
// that are set reach the SQL, so that the planner sees a plain equality and
// picks that filter's (column, seq) index; each combination is prepared once.
func (db *DB) FindAuditEvents(ctx context.Context, f litengine.AuditFilter) ([]*litengine.AuditEvent, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var (
		q    strings.Builder
		args = []any{f.AfterSeq}
	)
	q.WriteString(`
		SELECT seq, at, type, actor, book_id, user_id, transaction_id, fee_id, data
		FROM audit_events WHERE seq > ?`)
	if f.BookID != 0 {
		q.WriteString(` AND book_id = ?`)
		args = append(args, f.BookID)
	}
	if f.UserID != 0 {
		q.WriteString(` AND user_id = ?`)
		args = append(args, f.UserID)
	}
	if f.TransactionID != "" {
		q.WriteString(` AND transaction_id = ?`)
		args = append(args, f.TransactionID)
	}
	if f.Type != "" {
		q.WriteString(` AND type = ?`)
		args = append(args, f.Type)
	}
	// Times are stored in whole seconds: an event at second s is at or after
	// Since, and before Until, exactly when s is at or after the bound
	// rounded up.
	if !f.Since.IsZero() {
		q.WriteString(` AND at >= ?`)
		args = append(args, ceilUnix(f.Since))
	}
	if !f.Until.IsZero() {
		q.WriteString(` AND at < ?`)
		args = append(args, ceilUnix(f.Until))
	}
	q.WriteString(` ORDER BY seq LIMIT ?`)
	args = append(args, f.Limit)

	rows, err := db.read(ctx, q.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	events := []*litengine.AuditEvent{}
	for rows.Next() {
		var (
			e                    litengine.AuditEvent
			at                   int64
			bookID, userID       sql.NullInt64
			transactionID, feeID sql.NullString
			data                 string
		)
		if err := rows.Scan(&e.Seq, &at, &e.Type, &e.Actor, &bookID, &userID, &transactionID, &feeID, &data); err != nil {
			return nil, err
		}
		e.At = fromUnix(at)
		e.BookID, e.UserID = bookID.Int64, userID.Int64
		e.TransactionID, e.FeeID = transactionID.String, feeID.String
		if e.Data, err = litengine.DecodeEventData([]byte(data)); err != nil {
			return nil, err
		}
		events = append(events, &e)
	}
	return events, rows.Err()
}

// ceilUnix is t in whole seconds since the epoch, rounded up.
func ceilUnix(t time.Time) int64 {
	s := t.Unix() // rounds down: the nanoseconds are never negative
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// AuditStock compares one page of books' counters with their loans. It is
// one statement, so it reads one snapshot: the counters and the loans it
// counts are from the same commit, and a consistent book never shows as
// inconsistent because of a write in between. The counts read only the
// active-loans index of each book; the Inconsistent filter looks at every
// book after the cursor until the page is full.
func (db *DB) AuditStock(ctx context.Context, f litengine.StockAuditFilter) ([]*litengine.StockAudit, error) {
	inconsistent := 0
	if f.Inconsistent {
		inconsistent = 1
	}
	rows, err := db.read(ctx, `
		SELECT id, totalqty, on_loan, active FROM (
			SELECT id, totalqty, on_loan,
			       (SELECT count(*) FROM loans WHERE book_id = books.id AND returned_at IS NULL) AS active
			FROM books WHERE id > ?)
		WHERE ? = 0 OR on_loan <> active OR on_loan < 0 OR on_loan > totalqty
		ORDER BY id
		LIMIT ?`, f.AfterID, inconsistent, f.Limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	audits := []*litengine.StockAudit{}
	for rows.Next() {
		var s litengine.StockAudit
		if err := rows.Scan(&s.BookID, &s.TotalQty, &s.OnLoan, &s.ActiveLoans); err != nil {
			return nil, err
		}
		audits = append(audits, &s)
	}
	return audits, rows.Err()
}

// FindOverdueLoans lists one page of active loans past due at the store's
// clock, in transaction order, with what a return now would assess. It walks
// the loans_active_due index, which holds due_at, and reads a loan's row and
// member only for the loans it returns.
func (db *DB) FindOverdueLoans(ctx context.Context, f litengine.OverdueFilter) ([]*litengine.OverdueLoan, error) {
	now := db.clock()
	rows, err := db.read(ctx, `
		SELECT `+loanColumns+`, (SELECT category FROM users WHERE users.id = loans.user_id)
		FROM loans
		WHERE returned_at IS NULL AND due_at < ? AND id > ?
		ORDER BY id
		LIMIT ?`, unix(now), f.AfterID, f.Limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	overdue := []*litengine.OverdueLoan{}
	for rows.Next() {
		var category sql.NullString
		l, err := scanLoan(rows, &category)
		if err != nil {
			return nil, err
		}
		days := db.policies.OverdueDays(l.DueAt, now)
		overdue = append(overdue, &litengine.OverdueLoan{
			Loan:        *l,
			DaysOverdue: days,
			AccruedFee:  db.policies.For(category.String).LateFee(days),
		})
	}
	return overdue, rows.Err()
}
