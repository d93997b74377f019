package httpapi

import (
	"context"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/auth"
	"github.com/litengine/litengine/oas"
)

// CreateKey issues an API key; its secret is in this response only.
func (s *Server) CreateKey(ctx context.Context, req *oas.KeyCreate) (*oas.KeyCreated, error) {
	token, k, err := auth.NewKey(litengine.Role(req.Role), req.UserID.Value, req.Name.Value)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateKey(ctx, k); err != nil {
		return nil, err
	}
	out := &oas.KeyCreated{ID: k.ID, Role: oas.Role(k.Role), Name: k.Name, CreatedAt: k.CreatedAt, Key: token}
	if k.UserID != 0 {
		out.UserID = oas.NewOptInt64(k.UserID)
	}
	return out, nil
}

// ListKeys lists keys in creation order, without their secrets.
func (s *Server) ListKeys(ctx context.Context, params oas.ListKeysParams) (*oas.KeyPage, error) {
	after, err := decodeCursor("k", params.Cursor)
	if err != nil {
		return nil, err
	}
	limit := params.Limit.Or(20)
	keys, err := s.store.ListKeys(ctx, litengine.KeyFilter{AfterID: after, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	more := len(keys) > limit
	keys = keys[:min(len(keys), limit)]
	page := &oas.KeyPage{Items: make([]oas.Key, len(keys))}
	for i, k := range keys {
		page.Items[i] = toKey(k)
	}
	if more {
		page.NextCursor = oas.NewOptString(encodeCursor("k", keys[len(keys)-1].ID))
	}
	return page, nil
}

// RevokeKey revokes a key; this instance stops accepting it at once.
func (s *Server) RevokeKey(ctx context.Context, params oas.RevokeKeyParams) (*oas.Key, error) {
	if p := litengine.PrincipalFromContext(ctx); p != nil && p.KeyID == params.KeyID {
		return nil, litengine.Errorf(litengine.ECONFLICT, "A key cannot revoke itself: use another admin key, so that one always remains.")
	}
	k, err := s.store.RevokeKey(ctx, params.KeyID)
	if err != nil {
		return nil, err
	}
	s.auth.Forget(k.ID)
	out := toKey(k)
	return &out, nil
}

func toKey(k *litengine.APIKey) oas.Key {
	out := oas.Key{ID: k.ID, Role: oas.Role(k.Role), Name: k.Name, CreatedAt: k.CreatedAt}
	if k.UserID != 0 {
		out.UserID = oas.NewOptInt64(k.UserID)
	}
	if k.RevokedAt != nil {
		out.RevokedAt = oas.NewOptDateTime(*k.RevokedAt)
	}
	return out
}
