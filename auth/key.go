// Package auth issues and checks LitEngine API keys. A key reads
// "lit_<id>_<secret>": the id finds the stored key, the 256-bit secret proves
// possession and is stored only as its SHA-256 hash. A fast hash is enough
// because the secret is random, not a password a person chose.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"

	"github.com/google/uuid"

	"github.com/litengine/litengine"
)

const (
	prefix    = "lit_"
	idLen     = 32 // hex of a UUIDv7: ids sort in creation order
	secretLen = 64 // hex of 32 random bytes
)

// NewKey returns a new key's secret token, shown once to whoever created it,
// and the key to store, holding only the hash of that secret.
func NewKey(role litengine.Role, userID int64, name string) (token string, key *litengine.APIKey, err error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", nil, err
	}
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", nil, err
	}
	idHex := hex.EncodeToString(id[:])
	secretHex := hex.EncodeToString(secret[:])
	key = &litengine.APIKey{ID: idHex, Role: role, UserID: userID, Name: name, Hash: hash(secretHex)}
	return prefix + idHex + "_" + secretHex, key, nil
}

// ParseToken splits a token into its id and secret; ok is false for anything
// that is not shaped like a key.
func ParseToken(token string) (id, secret string, ok bool) {
	rest, found := strings.CutPrefix(token, prefix)
	if !found || len(rest) != idLen+1+secretLen || rest[idLen] != '_' {
		return "", "", false
	}
	id, secret = rest[:idLen], rest[idLen+1:]
	if !isHex(id) || !isHex(secret) {
		return "", "", false
	}
	return id, secret, true
}

// Matches reports, in constant time, whether secret is the key's secret.
func Matches(key *litengine.APIKey, secret string) bool {
	return subtle.ConstantTimeCompare(hash(secret), key.Hash) == 1
}

func hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
