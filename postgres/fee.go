package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/litengine/litengine"
)

const feeColumns = `id, user_id, loan_id, book_id, amount, paid, currency, assessed_at, waived_at, waive_reason`

func scanFee(row pgx.Row) (*litengine.Fee, error) {
	var f litengine.Fee
	if err := row.Scan(&f.ID, &f.UserID, &f.TransactionID, &f.BookID, &f.Amount, &f.Paid, &f.Currency,
		&f.AssessedAt, &f.WaivedAt, &f.WaiveReason); err != nil {
		return nil, err
	}
	f.AssessedAt = f.AssessedAt.UTC()
	if f.WaivedAt != nil {
		t := f.WaivedAt.UTC()
		f.WaivedAt = &t
	}
	return &f, nil
}

// FindFees lists every fee of a member, oldest first. One statement answers
// both whether the member exists (a row, maybe of NULLs) and the list.
func (db *DB) FindFees(ctx context.Context, userID int64) ([]*litengine.Fee, error) {
	var fees []*litengine.Fee
	err := db.run(ctx, func(conn *pgxpool.Conn, _ time.Time) error {
		fees = []*litengine.Fee{}
		rows, err := conn.Query(ctx, `
			SELECT fee.id, fee.amount, fee.paid, fee.currency, fee.assessed_at, fee.waived_at, fee.waive_reason,
			       fee.loan_id, fee.book_id
			FROM users LEFT JOIN LATERAL (
				SELECT `+feeColumns+` FROM fees WHERE user_id = users.id ORDER BY id
			) AS fee ON true
			WHERE users.id = $1`, userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		userFound := false
		for rows.Next() {
			userFound = true
			var (
				id, currency, reason, loanID *string
				amount, paid, bookID         *int64
				assessedAt, waivedAt         *time.Time
			)
			if err := rows.Scan(&id, &amount, &paid, &currency, &assessedAt, &waivedAt, &reason, &loanID, &bookID); err != nil {
				return err
			}
			if id == nil {
				continue // the member has no fees
			}
			f := &litengine.Fee{ID: *id, UserID: userID, TransactionID: *loanID, BookID: *bookID, Amount: *amount,
				Paid: *paid, Currency: *currency, AssessedAt: assessedAt.UTC(), WaiveReason: *reason}
			if waivedAt != nil {
				t := waivedAt.UTC()
				f.WaivedAt = &t
			}
			fees = append(fees, f)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !userFound {
			return litengine.Errorf(litengine.ENOTFOUND, "User %d not found.", userID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return fees, nil
}

// lockFees locks fees $1 in id order (see the lock order in loan.go) and
// returns each as it is now. A fee judged to owe at least its payment must
// owe it until the payment commits: two batches paying one fee must not both
// pass the check and together pay more than it owes.
const lockFees = `SELECT ` + feeColumns + ` FROM fees WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE`

// payFees writes judged payments: amounts $2 paid on fees $1.
const payFees = `
	UPDATE fees SET paid = paid + p.amount
	FROM unnest($1::text[], $2::bigint[]) AS p (id, amount)
	WHERE fees.id = p.id`

// PayFees records every payment, or none of them: one transaction in two
// round trips.
func (db *DB) PayFees(ctx context.Context, payments []litengine.FeePayment) ([]*litengine.Fee, error) {
	if err := litengine.ValidatePayments(payments); err != nil {
		return nil, err
	}
	ids := make([]string, len(payments))
	amounts := make([]int64, len(payments))
	for i, p := range payments {
		ids[i], amounts[i] = p.FeeID, p.Amount
	}
	var fees []*litengine.Fee
	err := db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		defer endTx(ctx, conn)
		byID, err := readFees(ctx, conn, ids)
		if err != nil {
			return uncommitted(err)
		}
		if err := litengine.PaymentFailure(payments, byID); err != nil {
			return err
		}
		// One fee.paid per payment, with the total paid after it: the
		// validation refuses a fee listed twice.
		fees = make([]*litengine.Fee, len(payments))
		var events auditEvents
		for i, p := range payments {
			f := byID[p.FeeID]
			f.Paid += p.Amount
			fees[i] = f
			if err := events.add(litengine.EventFeePaid, f.BookID, f.UserID, f.TransactionID, f.ID,
				map[string]any{"amount": p.Amount, "paid": f.Paid}); err != nil {
				return uncommitted(err)
			}
		}
		batch := &pgx.Batch{}
		batch.Queue(payFees, ids, amounts)
		events.queue(ctx, batch, now) // last: see the numbering in audit.go
		return commitBatch(ctx, conn, batch)
	})
	if err != nil {
		return nil, err
	}
	return fees, nil
}

// readFees begins a transaction and locks and reads fees ids, by id.
func readFees(ctx context.Context, conn *pgxpool.Conn, ids []string) (map[string]*litengine.Fee, error) {
	batch := beginBatch()
	batch.Queue(lockFees, ids)
	results := conn.SendBatch(ctx, batch)
	defer results.Close()
	if _, err := results.Exec(); err != nil { // BEGIN
		return nil, err
	}
	rows, err := results.Query()
	if err != nil {
		return nil, err
	}
	fees := make(map[string]*litengine.Fee, len(ids))
	for rows.Next() {
		f, err := scanFee(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		fees[f.ID] = f
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return fees, results.Close()
}

// waiveFee waives fee $1 at $2 for reason $3 if it still owes something, and
// appends its fee.waived (type $4, actor $5) with what was forgiven: what it
// owed before, amount - paid, which the waiver does not change. The UPDATE
// locks the fee, and if a payment or waiver committed while it waited, READ
// COMMITTED re-checks its WHERE on the new version: the check and the change
// are one step. The counter is updated from the waived row, so it is locked
// only after the fee (see audit.go). waivedFee then reads the fee as it is,
// in the same implicit transaction, to answer or name why nothing changed;
// that one-row read is all that runs between the counter's lock and COMMIT.
const (
	waiveFee = `
		WITH waived AS (
			UPDATE fees SET waived_at = $2, waive_reason = $3
			WHERE id = $1 AND waived_at IS NULL AND paid < amount
			RETURNING id, user_id, loan_id, book_id, amount - paid AS forgiven
		),
		ev AS (
			SELECT 1 AS ord, $2::timestamptz AS at, $4::text AS type, $5::text AS actor, book_id, user_id,
			       loan_id AS transaction_id, id AS fee_id, jsonb_build_object('amount', forgiven, 'reason', $3::text) AS data
			FROM waived
		),` + auditTail + `
		SELECT count(*) FROM waived`
	waivedFee = `SELECT ` + feeColumns + ` FROM fees WHERE id = $1`
)

// WaiveFee forgives what a fee still owes, with a reason, in one round trip.
func (db *DB) WaiveFee(ctx context.Context, feeID, reason string) (*litengine.Fee, error) {
	if err := litengine.CheckID("fee_id", feeID); err != nil {
		return nil, err
	}
	reason, err := litengine.ValidateWaiveReason(reason)
	if err != nil {
		return nil, err
	}
	var fee *litengine.Fee
	err = db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		batch := &pgx.Batch{}
		batch.Queue(waiveFee, feeID, now, reason, litengine.EventFeeWaived, litengine.ActorFromContext(ctx))
		batch.Queue(waivedFee, feeID)
		results := conn.SendBatch(ctx, batch)
		defer results.Close()
		var waived int64
		if err := results.QueryRow().Scan(&waived); err != nil {
			return err
		}
		fee, err = scanFee(results.QueryRow())
		if errors.Is(err, pgx.ErrNoRows) {
			return litengine.Errorf(litengine.ENOTFOUND, "Fee %s not found.", feeID)
		} else if err != nil {
			return err
		}
		if err := results.Close(); err != nil { // the implicit transaction commits here
			return err
		}
		switch {
		case waived == 1:
			return nil
		case fee.Outstanding() == 0:
			return litengine.Errorf(litengine.ECONFLICT, "Fee %s is already %s.", feeID, fee.Status())
		}
		// Created after the UPDATE's snapshot and before the SELECT's: a fee
		// id is known only once its return committed, so this is a client
		// guessing an id at the right instant; look again.
		return errRetry
	})
	if err != nil {
		return nil, err
	}
	return fee, nil
}
