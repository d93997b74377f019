package litengine

import (
	"context"
	"net/mail"
	"strings"
	"time"
)

// User is a library member. Its ID is the user_id of the circulation batches.
type User struct {
	ID        int64
	Name      string
	Email     string
	Category  string // selects the member's loan policy; "" is the default policy
	Suspended bool   // a suspended member may not borrow or renew
	CreatedAt time.Time
}

// UserCreate is a new member as a client sends it.
type UserCreate struct {
	Name     string
	Email    string
	Category string
}

// UserUpdate changes a member; nil fields stay as they are.
type UserUpdate struct {
	Category  *string
	Suspended *bool
}

// Validate checks the category name.
func (u *UserUpdate) Validate() error {
	if u.Category != nil && *u.Category != "" && !ValidCategory(*u.Category) {
		return Errorf(EINVALID, "category %q must be 1 to 32 lower-case letters, digits, '-' or '_', starting with a letter.", *u.Category)
	}
	return nil
}

// Validate cleans and checks the fields. An email must be a bare address.
func (u *UserCreate) Validate() error {
	if !Printable(u.Name) || !Printable(u.Email) {
		return Errorf(EINVALID, "The name or email contains control characters or invalid UTF-8.")
	}
	u.Name = CleanText(u.Name)
	if u.Name == "" {
		return Errorf(EINVALID, "User name is required.")
	}
	if u.Category != "" && !ValidCategory(u.Category) {
		return Errorf(EINVALID, "category %q must be 1 to 32 lower-case letters, digits, '-' or '_', starting with a letter.", u.Category)
	}
	u.Email = strings.TrimSpace(u.Email)
	if u.Email != "" {
		addr, err := mail.ParseAddress(u.Email)
		if err != nil || addr.Address != u.Email || addr.Name != "" {
			return Errorf(EINVALID, "%q is not a valid email address.", u.Email)
		}
	}
	return nil
}

// EmailKey is the form under which emails are unique: case does not matter.
func EmailKey(email string) string { return strings.ToLower(email) }

// UserService manages members.
type UserService interface {
	CreateUser(ctx context.Context, u *UserCreate) (*User, error)
	FindUserByID(ctx context.Context, id int64) (*User, error)
	UpdateUser(ctx context.Context, id int64, upd *UserUpdate) (*User, error)
}
