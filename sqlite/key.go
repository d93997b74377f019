package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/litengine/litengine"
)

// CreateKey stores a new API key. A member key's user must exist.
func (db *DB) CreateKey(ctx context.Context, k *litengine.APIKey) error {
	if err := k.Validate(); err != nil {
		return err
	}
	return db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		k.CreatedAt = now
		_, err := db.exec(ctx, tx, `
			INSERT INTO api_keys (id, role, user_id, name, secret_hash, created_at)
			VALUES (?, ?, NULLIF(?, 0), ?, ?, ?)`,
			k.ID, string(k.Role), k.UserID, k.Name, k.Hash, unix(now))
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY) {
			return litengine.Errorf(litengine.ENOTFOUND, "User %d not found.", k.UserID)
		}
		return err
	})
}

const keyColumns = `id, role, COALESCE(user_id, 0), name, secret_hash, created_at, revoked_at`

func scanKey(row interface{ Scan(...any) error }) (*litengine.APIKey, error) {
	var (
		k       litengine.APIKey
		role    string
		created int64
		revoked sql.NullInt64
	)
	if err := row.Scan(&k.ID, &role, &k.UserID, &k.Name, &k.Hash, &created, &revoked); err != nil {
		return nil, err
	}
	k.Role, k.CreatedAt = litengine.Role(role), fromUnix(created)
	if revoked.Valid {
		t := fromUnix(revoked.Int64)
		k.RevokedAt = &t
	}
	return &k, nil
}

// FindKey returns one API key, revoked or not.
func (db *DB) FindKey(ctx context.Context, id string) (*litengine.APIKey, error) {
	k, err := scanKey(db.readRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, litengine.Errorf(litengine.ENOTFOUND, "API key %s not found.", id)
	}
	return k, err
}

// ListKeys returns one page of keys in creation order.
func (db *DB) ListKeys(ctx context.Context, f litengine.KeyFilter) ([]*litengine.APIKey, error) {
	rows, err := db.read(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id > ? ORDER BY id LIMIT ?`, f.AfterID, f.Limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []*litengine.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// RevokeKey marks a key revoked; a second revocation keeps the first time.
func (db *DB) RevokeKey(ctx context.Context, id string) (*litengine.APIKey, error) {
	if err := litengine.CheckID("key_id", id); err != nil {
		return nil, err
	}
	var k *litengine.APIKey
	err := db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		var err error
		k, err = scanKey(db.queryRow(ctx, tx, `
			UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?
			RETURNING `+keyColumns, unix(now), id))
		if errors.Is(err, sql.ErrNoRows) {
			return litengine.Errorf(litengine.ENOTFOUND, "API key %s not found.", id)
		}
		return err
	})
	return k, err
}
