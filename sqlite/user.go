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
	u := &litengine.User{Name: in.Name, Email: in.Email, Category: in.Category}
	err := db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		u.CreatedAt = now
		err := db.queryRow(ctx, tx, `
			INSERT INTO users (name, email, email_key, category, created_at)
			VALUES (?, NULLIF(?, ''), NULLIF(?, ''), ?, ?)
			RETURNING id`,
			u.Name, u.Email, litengine.EmailKey(u.Email), u.Category, unix(now)).Scan(&u.ID)
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
			return litengine.Errorf(litengine.ECONFLICT, "A user with email %s already exists.", u.Email)
		} else if err != nil {
			return err
		}
		var evs auditEvents
		if err := evs.add(auditEvent{Type: litengine.EventUserCreated, UserID: u.ID},
			map[string]any{"category": u.Category}); err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, now, evs)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

const userColumns = `id, name, email, category, suspended, created_at`

// scanUser scans the userColumns of a row, then any further columns into extra.
func scanUser(s scanner, extra ...any) (*litengine.User, error) {
	var (
		u       litengine.User
		email   sql.NullString
		created int64
	)
	if err := s.Scan(append([]any{&u.ID, &u.Name, &email, &u.Category, &u.Suspended, &created}, extra...)...); err != nil {
		return nil, err
	}
	u.Email, u.CreatedAt = email.String, fromUnix(created)
	return &u, nil
}

// userNotFound turns sql.ErrNoRows from reading user id into not_found.
func userNotFound(err error, id int64) error {
	if errors.Is(err, sql.ErrNoRows) {
		return litengine.Errorf(litengine.ENOTFOUND, "User %d not found.", id)
	}
	return err
}

// FindUserByID returns one member.
func (db *DB) FindUserByID(ctx context.Context, id int64) (*litengine.User, error) {
	u, err := scanUser(db.readRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return nil, userNotFound(err, id)
	}
	return u, nil
}

// UpdateUser changes a member's category or suspension; nil fields stay as
// they are.
func (db *DB) UpdateUser(ctx context.Context, id int64, upd *litengine.UserUpdate) (*litengine.User, error) {
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	// NULL keeps the column: the driver gets an untyped nil, not a typed nil pointer.
	var category, suspended any
	if upd.Category != nil {
		category = *upd.Category
	}
	if upd.Suspended != nil {
		suspended = 0
		if *upd.Suspended {
			suspended = 1
		}
	}
	var u *litengine.User
	err := db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		var err error
		u, err = scanUser(db.queryRow(ctx, tx, `
			UPDATE users SET category = coalesce(?, category), suspended = coalesce(?, suspended)
			WHERE id = ?
			RETURNING `+userColumns, category, suspended, id))
		if err != nil {
			return userNotFound(err, id)
		}
		// The values after the change, whether or not they differ from
		// before: the event records the request that set them.
		var evs auditEvents
		if err := evs.add(auditEvent{Type: litengine.EventUserUpdated, UserID: u.ID},
			map[string]any{"category": u.Category, "suspended": u.Suspended}); err != nil {
			return err
		}
		return db.appendEvents(ctx, tx, now, evs)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
