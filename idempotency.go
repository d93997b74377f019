package litengine

import (
	"context"
	"time"
)

// IdempotencyTTL is how long a stored response answers retries that carry
// the same Idempotency-Key.
const IdempotencyTTL = 24 * time.Hour

// IdempotencyRecord is one Idempotency-Key and, once the request finished,
// the response it got. It lives in the database so that every engine
// instance answers a retry the same way.
type IdempotencyRecord struct {
	Scope       string // the API key id: clients never see each other's keys
	Key         string
	RequestHash []byte // SHA-256 of method, path and body
	Status      int    // 0 while the first request is still running
	ContentType string
	Location    string // of a creation, sent again with the replay
	Body        []byte
	CreatedAt   time.Time
	// Stale is set on a record still in progress after the claim's
	// staleAfter: its request died with its engine, outcome unknown.
	Stale bool
}

// IdempotencyService stores Idempotency-Keys.
type IdempotencyService interface {
	// ClaimIdempotencyKey records rec as in progress and returns nil, unless
	// a record younger than IdempotencyTTL has the same scope and key: then it
	// returns that record and claims nothing. Concurrent claims of one key
	// have exactly one winner.
	ClaimIdempotencyKey(ctx context.Context, rec *IdempotencyRecord, staleAfter time.Duration) (*IdempotencyRecord, error)
	// FindIdempotencyKey returns the record, or not_found.
	FindIdempotencyKey(ctx context.Context, scope, key string, staleAfter time.Duration) (*IdempotencyRecord, error)
	// CompleteIdempotencyKey stores the response of a claimed key.
	CompleteIdempotencyKey(ctx context.Context, rec *IdempotencyRecord) error
	// ReleaseIdempotencyKey drops a claim whose request changed nothing, so
	// that a retry runs it again.
	ReleaseIdempotencyKey(ctx context.Context, scope, key string) error
	// PurgeIdempotencyKeys deletes records older than IdempotencyTTL.
	PurgeIdempotencyKeys(ctx context.Context) (int64, error)
}
