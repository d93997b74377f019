package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/litengine/litengine"
)

// CreateUser registers a member. An email already registered, in any case, is a conflict.
func (db *DB) CreateUser(ctx context.Context, in *litengine.UserCreate) (*litengine.User, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	u := &litengine.User{Name: in.Name, Email: in.Email}
	err := db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		u.CreatedAt = now
		err := db.queryRow(ctx, tx, `
			INSERT INTO users (name, email, email_key, created_at)
			VALUES (?, NULLIF(?, ''), NULLIF(?, ''), ?)
			RETURNING id`,
			u.Name, u.Email, litengine.EmailKey(u.Email), unix(now)).Scan(&u.ID)
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
			return litengine.Errorf(litengine.ECONFLICT, "A user with email %s already exists.", u.Email)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// FindUserByID returns one member.
func (db *DB) FindUserByID(ctx context.Context, id int64) (*litengine.User, error) {
	var (
		u       = litengine.User{ID: id}
		email   sql.NullString
		created int64
	)
	err := db.readRow(ctx, `SELECT name, email, created_at FROM users WHERE id = ?`, id).
		Scan(&u.Name, &email, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, litengine.Errorf(litengine.ENOTFOUND, "User %d not found.", id)
	} else if err != nil {
		return nil, err
	}
	u.Email, u.CreatedAt = email.String, fromUnix(created)
	return &u, nil
}
