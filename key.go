package litengine

import (
	"context"
	"time"
)

// Role is what an API key may do.
type Role string

// Roles: admin does everything; a librarian runs the library for every
// member; a member key acts for one member only.
const (
	RoleAdmin     Role = "admin"
	RoleLibrarian Role = "librarian"
	RoleMember    Role = "member"
)

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleLibrarian || r == RoleMember
}

// APIKey is a client's credential. Only a hash of its secret is stored: the
// secret is shown once, when the key is created.
type APIKey struct {
	ID        string // public, sorts in creation order
	Role      Role
	UserID    int64 // the member a member key acts for; 0 for other roles
	Name      string
	Hash      []byte // SHA-256 of the secret
	CreatedAt time.Time
	RevokedAt *time.Time
}

// MaxKeyNameRunes bounds a key's label.
const MaxKeyNameRunes = 100

// Validate checks a new key's role, member and label.
func (k *APIKey) Validate() error {
	if !k.Role.Valid() {
		return Errorf(EINVALID, "role must be admin, librarian or member.")
	}
	if k.Role == RoleMember && k.UserID <= 0 {
		return Errorf(EINVALID, "A member key must name its member in user_id.")
	}
	if k.Role != RoleMember && k.UserID != 0 {
		return Errorf(EINVALID, "Only a member key acts for one member; drop user_id for role %s.", k.Role)
	}
	if !Printable(k.Name) || len([]rune(k.Name)) > MaxKeyNameRunes {
		return Errorf(EINVALID, "name must be at most %d printable characters.", MaxKeyNameRunes)
	}
	k.Name = CleanText(k.Name)
	return nil
}

// KeyFilter selects one page of keys, oldest first.
type KeyFilter struct {
	AfterID string
	Limit   int
}

// KeyService stores API keys.
type KeyService interface {
	// CreateKey stores k and sets its CreatedAt; a member key's user must exist.
	CreateKey(ctx context.Context, k *APIKey) error
	// FindKey returns the key with this id, revoked or not.
	FindKey(ctx context.Context, id string) (*APIKey, error)
	ListKeys(ctx context.Context, f KeyFilter) ([]*APIKey, error)
	// RevokeKey marks the key revoked; revoking twice keeps the first time.
	RevokeKey(ctx context.Context, id string) (*APIKey, error)
}

// Principal is who a request acts as: the key it presented.
type Principal struct {
	KeyID  string
	Role   Role
	UserID int64 // for a member key
}

// ActsFor reports whether the principal may act for member userID: staff for
// everyone, a member key only for its own member.
func (p *Principal) ActsFor(userID int64) bool {
	if p == nil {
		return false
	}
	return p.Role != RoleMember || p.UserID == userID
}

type principalKey struct{}

// NewContextWithPrincipal returns ctx carrying p.
func NewContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the request's principal, or nil.
func PrincipalFromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
