package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/litengine/litengine"
)

const feeColumns = `id, user_id, loan_id, book_id, amount, paid, currency, assessed_at, waived_at, waive_reason`

func scanFee(s scanner) (*litengine.Fee, error) {
	var (
		f        litengine.Fee
		assessed int64
		waived   sql.NullInt64
	)
	if err := s.Scan(&f.ID, &f.UserID, &f.TransactionID, &f.BookID, &f.Amount, &f.Paid, &f.Currency,
		&assessed, &waived, &f.WaiveReason); err != nil {
		return nil, err
	}
	f.AssessedAt = fromUnix(assessed)
	if waived.Valid {
		t := fromUnix(waived.Int64)
		f.WaivedAt = &t
	}
	return &f, nil
}

func scanFees(rows *sql.Rows) ([]*litengine.Fee, error) {
	defer rows.Close()
	fees := []*litengine.Fee{}
	for rows.Next() {
		f, err := scanFee(rows)
		if err != nil {
			return nil, err
		}
		fees = append(fees, f)
	}
	return fees, rows.Err()
}

// FindFees lists every fee of a member, open and settled, oldest first.
func (db *DB) FindFees(ctx context.Context, userID int64) ([]*litengine.Fee, error) {
	if err := userExists(db.readRow(ctx, userExistsSQL, userID), userID); err != nil {
		return nil, err
	}
	rows, err := db.read(ctx, `SELECT `+feeColumns+` FROM fees WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, err
	}
	return scanFees(rows)
}

// PayFees records every payment in one transaction, or none of them.
func (db *DB) PayFees(ctx context.Context, payments []litengine.FeePayment) ([]*litengine.Fee, error) {
	if err := litengine.ValidatePayments(payments); err != nil {
		return nil, err
	}
	pairs := make([][2]any, len(payments))
	for i, p := range payments {
		pairs[i] = [2]any{p.FeeID, p.Amount}
	}
	payload, _ := json.Marshal(pairs)
	byID := make(map[string]*litengine.Fee, len(payments))
	err := db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		// No row locks: the IMMEDIATE transaction on the only writer
		// connection holds the database's write lock, so the fees judged here
		// stay as read until commit.
		rows, err := db.query(ctx, tx, `
			SELECT `+feeColumns+` FROM fees WHERE id IN (SELECT value ->> 0 FROM json_each(?))`, string(payload))
		if err != nil {
			return err
		}
		found, err := scanFees(rows)
		if err != nil {
			return err
		}
		fees := make(map[string]*litengine.Fee, len(found))
		for _, f := range found {
			fees[f.ID] = f
		}
		if err := litengine.PaymentFailure(payments, fees); err != nil {
			return err
		}
		rows, err = db.query(ctx, tx, `
			UPDATE fees SET paid = paid + item.value ->> 1
			FROM json_each(?) AS item
			WHERE fees.id = item.value ->> 0
			RETURNING `+feeColumns, string(payload))
		if err != nil {
			return err
		}
		paid, err := scanFees(rows)
		if err != nil {
			return err
		}
		for _, f := range paid {
			byID[f.ID] = f
		}
		// One event per payment, in request order, with the total paid
		// after it: the validation refuses a fee listed twice.
		evs := make(auditEvents, 0, len(payments))
		for _, p := range payments {
			f := byID[p.FeeID]
			if err := evs.add(auditEvent{Type: litengine.EventFeePaid, BookID: f.BookID, UserID: f.UserID, TransactionID: f.TransactionID, FeeID: f.ID},
				map[string]any{"amount": p.Amount, "paid": f.Paid}); err != nil {
				return err
			}
		}
		return db.appendEvents(ctx, tx, now, evs)
	})
	if err != nil {
		return nil, err
	}
	fees := make([]*litengine.Fee, len(payments))
	for i, p := range payments {
		fees[i] = byID[p.FeeID]
	}
	return fees, nil
}

// WaiveFee forgives what is outstanding of a fee, with a reason.
func (db *DB) WaiveFee(ctx context.Context, feeID, reason string) (*litengine.Fee, error) {
	if err := litengine.CheckID("fee_id", feeID); err != nil {
		return nil, err
	}
	reason, err := litengine.ValidateWaiveReason(reason)
	if err != nil {
		return nil, err
	}
	var f *litengine.Fee
	err = db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		// No row lock: the IMMEDIATE transaction on the only writer
		// connection holds the database's write lock, so the fee stays as
		// read until commit.
		var err error
		f, err = scanFee(db.queryRow(ctx, tx, `SELECT `+feeColumns+` FROM fees WHERE id = ?`, feeID))
		if errors.Is(err, sql.ErrNoRows) {
			return litengine.Errorf(litengine.ENOTFOUND, "Fee %s not found.", feeID)
		} else if err != nil {
			return err
		}
		if f.Outstanding() == 0 {
			return litengine.Errorf(litengine.ECONFLICT, "Fee %s is already %s.", feeID, f.Status())
		}
		// What is forgiven is what was outstanding before the waiver.
		forgiven := f.Outstanding()
		if _, err := db.exec(ctx, tx, `UPDATE fees SET waived_at = ?, waive_reason = ? WHERE id = ?`, unix(now), reason, feeID); err != nil {
			return err
		}
		f.WaivedAt, f.WaiveReason = &now, reason
		var evs auditEvents
		if err := evs.add(auditEvent{Type: litengine.EventFeeWaived, BookID: f.BookID, UserID: f.UserID, TransactionID: f.TransactionID, FeeID: f.ID},
			map[string]any{"amount": forgiven, "reason": reason}); err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, now, evs)
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}
