package httpapi

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/oas"
)

// Cursors are opaque to clients: a kind prefix and the last key of the page,
// base64url-encoded, so that a books cursor is not mistaken for a loans cursor.

func encodeCursor(kind, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + key))
}

func decodeCursor(kind string, c oas.OptString) (string, error) {
	if !c.Set || c.Value == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	key, ok := strings.CutPrefix(string(raw), kind+":")
	if err != nil || !ok || key == "" || !litengine.Printable(key) {
		return "", litengine.Errorf(litengine.EINVALID, "cursor %q is not a cursor of this list; pass next_cursor unchanged.", c.Value)
	}
	return key, nil
}

func decodeIDCursor(kind string, c oas.OptString) (int64, error) {
	key, err := decodeCursor(kind, c)
	if err != nil || key == "" {
		return 0, err
	}
	id, err := strconv.ParseInt(key, 10, 64)
	if err != nil || id < 0 {
		return 0, litengine.Errorf(litengine.EINVALID, "cursor %q is not a cursor of this list; pass next_cursor unchanged.", c.Value)
	}
	return id, nil
}
