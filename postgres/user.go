package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/litengine/litengine"
)

// createUser inserts member $1..$5 (name, email, email key, category, time)
// and appends its user.created (type $6, actor $7, data $8) in the same
// statement, numbered once the row is in (see audit.go).
const createUser = `
	WITH created AS (
		INSERT INTO users (name, email, email_key, category, created_at)
		VALUES ($1, NULLIF($2, ''), NULLIF($3, ''), $4, $5)
		RETURNING id
	),
	ev AS (
		SELECT 1 AS ord, $5::timestamptz AS at, $6::text AS type, $7::text AS actor, NULL::bigint AS book_id,
		       id AS user_id, NULL::text AS transaction_id, NULL::text AS fee_id, $8::jsonb AS data
		FROM created
	),` + auditTail + `
	SELECT id FROM created`

// CreateUser registers a member. An email already registered, in any case, is a conflict.
func (db *DB) CreateUser(ctx context.Context, in *litengine.UserCreate) (*litengine.User, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	u := &litengine.User{Name: in.Name, Email: in.Email, Category: in.Category}
	data, err := eventData(map[string]any{"category": u.Category})
	if err != nil {
		return nil, err
	}
	err = db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		u.CreatedAt = now
		err := conn.QueryRow(ctx, createUser,
			u.Name, u.Email, litengine.EmailKey(u.Email), u.Category, now,
			litengine.EventUserCreated, litengine.ActorFromContext(ctx), data).Scan(&u.ID)
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

// updateUser changes member $1's category to $2 and suspension to $3 (NULL:
// unchanged) and appends its user.updated (at $4, type $5, actor $6) with the
// values after the change, whether or not they differ from before: the event
// records the request that set them. The counter is updated from the changed
// row, so it is locked only once the member's row is (see audit.go).
const updateUser = `
	WITH updated AS (
		UPDATE users SET category = coalesce($2, category), suspended = coalesce($3, suspended)
		WHERE id = $1
		RETURNING ` + userColumns + `
	),
	ev AS (
		SELECT 1 AS ord, $4::timestamptz AS at, $5::text AS type, $6::text AS actor, NULL::bigint AS book_id,
		       id AS user_id, NULL::text AS transaction_id, NULL::text AS fee_id,
		       jsonb_build_object('category', category, 'suspended', suspended) AS data
		FROM updated
	),` + auditTail + `
	SELECT ` + userColumns + ` FROM updated`

// UpdateUser changes a member's category or suspension; nil fields stay as
// they are. The UPDATE's row lock waits for a borrow that holds the member
// (see lockMember), so every borrow that starts after it commits sees it.
func (db *DB) UpdateUser(ctx context.Context, id int64, upd *litengine.UserUpdate) (*litengine.User, error) {
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	var u *litengine.User
	err := db.run(ctx, func(conn *pgxpool.Conn, now time.Time) error {
		var err error
		u, err = scanUser(conn.QueryRow(ctx, updateUser, id, upd.Category, upd.Suspended,
			now, litengine.EventUserUpdated, litengine.ActorFromContext(ctx)))
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
