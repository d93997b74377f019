package auth

import (
	"context"
	"sync"
	"time"

	"github.com/litengine/litengine"
)

// Authenticator turns a bearer token into the principal it stands for.
//
// Verified keys are cached for CacheTTL so that a request does not cost a
// database lookup; a revocation therefore reaches other engine instances
// within CacheTTL, and this instance at once (Forget).
type Authenticator struct {
	keys     litengine.KeyService
	cacheTTL time.Duration

	mu    sync.Mutex
	cache map[string]cached // by key id
}

type cached struct {
	key     *litengine.APIKey
	expires time.Time
}

// maxCached bounds the cache; past it the cache starts over, which costs
// only lookups.
const maxCached = 100_000

// NewAuthenticator checks tokens against keys. A zero cacheTTL disables the
// cache.
func NewAuthenticator(keys litengine.KeyService, cacheTTL time.Duration) *Authenticator {
	return &Authenticator{keys: keys, cacheTTL: cacheTTL, cache: make(map[string]cached)}
}

// Authenticate returns the principal of token, or an unauthorized error that
// says why without telling a guesser which part was wrong.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (*litengine.Principal, error) {
	id, secret, ok := ParseToken(token)
	if !ok {
		return nil, litengine.Errorf(litengine.EUNAUTHORIZED, "The API key is malformed: a key reads lit_<id>_<secret>.")
	}
	key, err := a.find(ctx, id)
	if litengine.ErrorCode(err) == litengine.ENOTFOUND || (err == nil && !Matches(key, secret)) {
		return nil, litengine.Errorf(litengine.EUNAUTHORIZED, "The API key is not valid.")
	} else if err != nil {
		return nil, err
	}
	if key.RevokedAt != nil {
		return nil, litengine.Errorf(litengine.EUNAUTHORIZED, "The API key was revoked.")
	}
	return &litengine.Principal{KeyID: key.ID, Role: key.Role, UserID: key.UserID}, nil
}

func (a *Authenticator) find(ctx context.Context, id string) (*litengine.APIKey, error) {
	if a.cacheTTL <= 0 {
		return a.keys.FindKey(ctx, id)
	}
	now := time.Now()
	a.mu.Lock()
	c, ok := a.cache[id]
	a.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.key, nil
	}
	key, err := a.keys.FindKey(ctx, id)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	if len(a.cache) >= maxCached {
		clear(a.cache)
	}
	a.cache[id] = cached{key: key, expires: now.Add(a.cacheTTL)}
	a.mu.Unlock()
	return key, nil
}

// Forget drops a key from the cache, so that its revocation takes effect on
// this instance at once.
func (a *Authenticator) Forget(id string) {
	a.mu.Lock()
	delete(a.cache, id)
	a.mu.Unlock()
}
