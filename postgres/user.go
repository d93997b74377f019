package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/litengine/litengine"
)

// CreateUser registers a member. An email already registered, in any case, is a conflict.
func (db *DB) CreateUser(ctx context.Context, in *litengine.UserCreate) (*litengine.User, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	u := &litengine.User{Name: in.Name, Email: in.Email, Category: in.Category}
	err := db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		u.CreatedAt = now
		err := conn.QueryRow(ctx, `
			INSERT INTO users (name, email, email_key, category, created_at)
			VALUES ($1, NULLIF($2, ''), NULLIF($3, ''), $4, $5)
			RETURNING id`,
			u.Name, u.Email, litengine.EmailKey(u.Email), u.Category, now).Scan(&u.ID)
		if isUnique(err, "users_email_key_key") {
			return litengine.Errorf(litengine.ECONFLICT, "A user with email %s already exists.", u.Email)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

const userColumns = `id, name, email, category, suspended, created_at`

func scanUser(row pgx.Row) (*litengine.User, error) {
	var (
		u     litengine.User
		email *string
	)
	if err := row.Scan(&u.ID, &u.Name, &email, &u.Category, &u.Suspended, &u.CreatedAt); err != nil {
		return nil, err
	}
	if email != nil {
		u.Email = *email
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return &u, nil
}

// FindUserByID returns one member.
func (db *DB) FindUserByID(ctx context.Context, id int64) (*litengine.User, error) {
	var u *litengine.User
	err := db.run(ctx, func(conn *pgxpool.Conn, _ time.Time) error {
		var err error
		u, err = scanUser(conn.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return litengine.Errorf(litengine.ENOTFOUND, "User %d not found.", id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// UpdateUser changes a member's category or suspension; nil fields stay as
// they are. The UPDATE's row lock waits for a borrow that holds the member
// (see lockMember), so every borrow that starts after it commits sees it.
func (db *DB) UpdateUser(ctx context.Context, id int64, upd *litengine.UserUpdate) (*litengine.User, error) {
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	var u *litengine.User
	err := db.run(ctx, func(conn *pgxpool.Conn, _ time.Time) error {
		var err error
		u, err = scanUser(conn.QueryRow(ctx, `
			UPDATE users SET category = coalesce($2, category), suspended = coalesce($3, suspended)
			WHERE id = $1
			RETURNING `+userColumns, id, upd.Category, upd.Suspended))
		if errors.Is(err, pgx.ErrNoRows) {
			return litengine.Errorf(litengine.ENOTFOUND, "User %d not found.", id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
