package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/litengine/litengine"
)

// ClaimIdempotencyKey records rec as in progress unless a live record of the
// same key exists, which it returns. INSERT … ON CONFLICT makes concurrent
// claims wait for each other, so exactly one wins; an expired record is
// overwritten in place.
func (db *DB) ClaimIdempotencyKey(ctx context.Context, rec *litengine.IdempotencyRecord, staleAfter time.Duration) (*litengine.IdempotencyRecord, error) {
	var existing *litengine.IdempotencyRecord
	err := db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		existing = nil
		tag, err := conn.Exec(ctx, `
			INSERT INTO idempotency_keys AS k (scope, key, request_hash, created_at)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (scope, key) DO UPDATE
			SET request_hash = EXCLUDED.request_hash, status = 0, content_type = '', location = '', body = NULL,
			    created_at = EXCLUDED.created_at
			WHERE k.created_at <= $5`,
			rec.Scope, rec.Key, rec.RequestHash, now, now.Add(-litengine.IdempotencyTTL))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			rec.CreatedAt = now
			return nil
		}
		existing, err = scanIdempotency(conn.QueryRow(ctx, `SELECT `+idempotencyColumns+`
			FROM idempotency_keys WHERE scope = $1 AND key = $2`, rec.Scope, rec.Key), now, staleAfter)
		if errors.Is(err, pgx.ErrNoRows) {
			return errRetry // released between the two statements: claim again
		}
		return err
	})
	return existing, err
}

const idempotencyColumns = `scope, key, request_hash, status, content_type, location, body, created_at`

func scanIdempotency(row pgx.Row, now time.Time, staleAfter time.Duration) (*litengine.IdempotencyRecord, error) {
	var r litengine.IdempotencyRecord
	if err := row.Scan(&r.Scope, &r.Key, &r.RequestHash, &r.Status, &r.ContentType, &r.Location, &r.Body, &r.CreatedAt); err != nil {
		return nil, err
	}
	r.CreatedAt = r.CreatedAt.UTC()
	r.Stale = r.Status == 0 && now.Sub(r.CreatedAt) > staleAfter
	return &r, nil
}

// FindIdempotencyKey returns a live record.
func (db *DB) FindIdempotencyKey(ctx context.Context, scope, key string, staleAfter time.Duration) (*litengine.IdempotencyRecord, error) {
	var r *litengine.IdempotencyRecord
	err := db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		var err error
		r, err = scanIdempotency(conn.QueryRow(ctx, `SELECT `+idempotencyColumns+`
			FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at > $3`,
			scope, key, now.Add(-litengine.IdempotencyTTL)), now, staleAfter)
		if errors.Is(err, pgx.ErrNoRows) {
			return litengine.Errorf(litengine.ENOTFOUND, "Idempotency-Key %q not found.", key)
		}
		return err
	})
	return r, err
}

// CompleteIdempotencyKey stores the response of a claimed key.
func (db *DB) CompleteIdempotencyKey(ctx context.Context, rec *litengine.IdempotencyRecord) error {
	return db.run(ctx, func(conn *pgxpool.Conn, _ time.Time) error {
		_, err := conn.Exec(ctx, `
			UPDATE idempotency_keys SET status = $1, content_type = $2, location = $3, body = $4
			WHERE scope = $5 AND key = $6 AND status = 0`,
			rec.Status, rec.ContentType, rec.Location, rec.Body, rec.Scope, rec.Key)
		return err
	})
}

// ReleaseIdempotencyKey drops a claim still in progress.
func (db *DB) ReleaseIdempotencyKey(ctx context.Context, scope, key string) error {
	return db.run(ctx, func(conn *pgxpool.Conn, _ time.Time) error {
		_, err := conn.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status = 0`, scope, key)
		return err
	})
}

// PurgeIdempotencyKeys deletes expired records.
func (db *DB) PurgeIdempotencyKeys(ctx context.Context) (int64, error) {
	var n int64
	err := db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		tag, err := conn.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at <= $1`, now.Add(-litengine.IdempotencyTTL))
		n = tag.RowsAffected()
		return err
	})
	return n, err
}
