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
	u := &litengine.User{Name: in.Name, Email: in.Email}
	err := db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		u.CreatedAt = now
		err := conn.QueryRow(ctx, `
			INSERT INTO users (name, email, email_key, created_at)
			VALUES ($1, NULLIF($2, ''), NULLIF($3, ''), $4)
			RETURNING id`,
			u.Name, u.Email, litengine.EmailKey(u.Email), now).Scan(&u.ID)
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

// FindUserByID returns one member.
func (db *DB) FindUserByID(ctx context.Context, id int64) (*litengine.User, error) {
	u := &litengine.User{ID: id}
	err := db.run(ctx, func(conn *pgxpool.Conn, _ time.Time) error {
		var email *string
		err := conn.QueryRow(ctx, `SELECT name, email, created_at FROM users WHERE id = $1`, id).
			Scan(&u.Name, &email, &u.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return litengine.Errorf(litengine.ENOTFOUND, "User %d not found.", id)
		} else if err != nil {
			return err
		}
		if email != nil {
			u.Email = *email
		}
		u.CreatedAt = u.CreatedAt.UTC()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
