package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/litengine/litengine"
)

// ClaimIdempotencyKey records rec as in progress unless a live record of the
// same key exists, which it returns. The single writer makes the check and
// the insert one atomic step.
func (db *DB) ClaimIdempotencyKey(ctx context.Context, rec *litengine.IdempotencyRecord, staleAfter time.Duration) (*litengine.IdempotencyRecord, error) {
	var existing *litengine.IdempotencyRecord
	err := db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		var err error
		existing, err = scanIdempotency(db.queryRow(ctx, tx, `SELECT `+idempotencyColumns+`
			FROM idempotency_keys WHERE scope = ? AND key = ? AND created_at > ?`,
			rec.Scope, rec.Key, unix(now.Add(-litengine.IdempotencyTTL))), now, staleAfter)
		if err == nil || !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		existing = nil
		rec.CreatedAt = now
		// REPLACE overwrites an expired record of the same key.
		_, err = db.exec(ctx, tx, `
			INSERT OR REPLACE INTO idempotency_keys (scope, key, request_hash, created_at)
			VALUES (?, ?, ?, ?)`, rec.Scope, rec.Key, rec.RequestHash, unix(now))
		return err
	})
	return existing, err
}

const idempotencyColumns = `scope, key, request_hash, status, content_type, location, body, created_at`

func scanIdempotency(row *sql.Row, now time.Time, staleAfter time.Duration) (*litengine.IdempotencyRecord, error) {
	var (
		r       litengine.IdempotencyRecord
		created int64
	)
	if err := row.Scan(&r.Scope, &r.Key, &r.RequestHash, &r.Status, &r.ContentType, &r.Location, &r.Body, &created); err != nil {
		return nil, err
	}
	r.CreatedAt = fromUnix(created)
	r.Stale = r.Status == 0 && now.Sub(r.CreatedAt) > staleAfter
	return &r, nil
}

// FindIdempotencyKey returns a live record.
func (db *DB) FindIdempotencyKey(ctx context.Context, scope, key string, staleAfter time.Duration) (*litengine.IdempotencyRecord, error) {
	now := db.clock()
	r, err := scanIdempotency(db.readRow(ctx, `SELECT `+idempotencyColumns+`
		FROM idempotency_keys WHERE scope = ? AND key = ? AND created_at > ?`,
		scope, key, unix(now.Add(-litengine.IdempotencyTTL))), now, staleAfter)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, litengine.Errorf(litengine.ENOTFOUND, "Idempotency-Key %q not found.", key)
	}
	return r, err
}

// CompleteIdempotencyKey stores the response of a claimed key.
func (db *DB) CompleteIdempotencyKey(ctx context.Context, rec *litengine.IdempotencyRecord) error {
	return db.write(ctx, func(tx *sql.Tx, _ time.Time) error {
		_, err := db.exec(ctx, tx, `
			UPDATE idempotency_keys SET status = ?, content_type = ?, location = ?, body = ?
			WHERE scope = ? AND key = ? AND status = 0`,
			rec.Status, rec.ContentType, rec.Location, rec.Body, rec.Scope, rec.Key)
		return err
	})
}

// ReleaseIdempotencyKey drops a claim still in progress.
func (db *DB) ReleaseIdempotencyKey(ctx context.Context, scope, key string) error {
	return db.write(ctx, func(tx *sql.Tx, _ time.Time) error {
		_, err := db.exec(ctx, tx, `DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND status = 0`, scope, key)
		return err
	})
}

// PurgeIdempotencyKeys deletes expired records.
func (db *DB) PurgeIdempotencyKeys(ctx context.Context) (int64, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		res, err := db.exec(ctx, tx, `DELETE FROM idempotency_keys WHERE created_at <= ?`,
			unix(now.Add(-litengine.IdempotencyTTL)))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
