package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/litengine/litengine"
)

const codeForeignKeyViolation = "23503"

// CreateKey stores a new API key. A member key's user must exist.
func (db *DB) CreateKey(ctx context.Context, k *litengine.APIKey) error {
	if err := k.Validate(); err != nil {
		return err
	}
	return db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		k.CreatedAt = now
		_, err := conn.Exec(ctx, `
			INSERT INTO api_keys (id, role, user_id, name, secret_hash, created_at)
			VALUES ($1, $2, NULLIF($3, 0), $4, $5, $6)`,
			k.ID, string(k.Role), k.UserID, k.Name, k.Hash, now)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == codeForeignKeyViolation && pe.ConstraintName == "api_keys_user_fkey" {
			return litengine.Errorf(litengine.ENOTFOUND, "User %d not found.", k.UserID)
		}
		return err
	})
}

const keyColumns = `id, role, COALESCE(user_id, 0), name, secret_hash, created_at, revoked_at`

func scanKey(row pgx.Row) (*litengine.APIKey, error) {
	var (
		k    litengine.APIKey
		role string
	)
	if err := row.Scan(&k.ID, &role, &k.UserID, &k.Name, &k.Hash, &k.CreatedAt, &k.RevokedAt); err != nil {
		return nil, err
	}
	k.Role, k.CreatedAt = litengine.Role(role), k.CreatedAt.UTC()
	if k.RevokedAt != nil {
		t := k.RevokedAt.UTC()
		k.RevokedAt = &t
	}
	return &k, nil
}

// FindKey returns one API key, revoked or not.
func (db *DB) FindKey(ctx context.Context, id string) (*litengine.APIKey, error) {
	var k *litengine.APIKey
	err := db.run(ctx, func(conn *pgxpool.Conn, _ time.Time) error {
		var err error
		k, err = scanKey(conn.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = $1`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return litengine.Errorf(litengine.ENOTFOUND, "API key %s not found.", id)
		}
		return err
	})
	return k, err
}

// ListKeys returns one page of keys in creation order.
func (db *DB) ListKeys(ctx context.Context, f litengine.KeyFilter) ([]*litengine.APIKey, error) {
	var keys []*litengine.APIKey
	err := db.run(ctx, func(conn *pgxpool.Conn, _ time.Time) error {
		keys = nil
		rows, err := conn.Query(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id > $1 ORDER BY id LIMIT $2`, f.AfterID, f.Limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			k, err := scanKey(rows)
			if err != nil {
				return err
			}
			keys = append(keys, k)
		}
		return rows.Err()
	})
	return keys, err
}

// RevokeKey marks a key revoked; a second revocation keeps the first time.
func (db *DB) RevokeKey(ctx context.Context, id string) (*litengine.APIKey, error) {
	if err := litengine.CheckID("key_id", id); err != nil {
		return nil, err
	}
	var k *litengine.APIKey
	err := db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		var err error
		k, err = scanKey(conn.QueryRow(ctx, `
			UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2
			RETURNING `+keyColumns, now, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return litengine.Errorf(litengine.ENOTFOUND, "API key %s not found.", id)
		}
		return err
	})
	return k, err
}
