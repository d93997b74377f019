package httpapi

import (
	"context"
	"strconv"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/oas"
)

// CreateUser registers a member.
func (s *Server) CreateUser(ctx context.Context, req *oas.UserCreate, _ oas.CreateUserParams) (*oas.UserHeaders, error) {
	u, err := s.store.CreateUser(ctx, &litengine.UserCreate{Name: req.Name, Email: req.Email.Value, Category: string(req.Category.Value)})
	if err != nil {
		return nil, err
	}
	return &oas.UserHeaders{Location: "/api/users/" + strconv.FormatInt(u.ID, 10), Response: toUser(u)}, nil
}

// GetUser returns a member.
func (s *Server) GetUser(ctx context.Context, params oas.GetUserParams) (*oas.User, error) {
	if err := actFor(ctx, params.ID); err != nil {
		return nil, err
	}
	u, err := s.store.FindUserByID(ctx, params.ID)
	if err != nil {
		return nil, err
	}
	out := toUser(u)
	return &out, nil
}

// ListUserLoans lists a member's loans, oldest first.
func (s *Server) ListUserLoans(ctx context.Context, params oas.ListUserLoansParams) (*oas.LoanPage, error) {
	if err := actFor(ctx, params.ID); err != nil {
		return nil, err
	}
	after, err := decodeCursor("l", params.Cursor)
	if err != nil {
		return nil, err
	}
	limit := params.Limit.Or(20)
	// One more than the page tells whether another page follows.
	loans, err := s.store.FindLoans(ctx, litengine.LoanFilter{
		UserID: params.ID, Status: string(params.Status.Value), AfterID: after, Limit: limit + 1,
	})
	if err != nil {
		return nil, err
	}
	more := len(loans) > limit
	loans = loans[:min(len(loans), limit)]
	page := &oas.LoanPage{Items: make([]oas.Loan, len(loans))}
	for i, l := range loans {
		page.Items[i] = toLoan(l)
	}
	if more {
		page.NextCursor = oas.NewOptString(encodeCursor("l", loans[len(loans)-1].ID))
	}
	return page, nil
}

// UpdateUser changes a member's category or suspends and reinstates it.
func (s *Server) UpdateUser(ctx context.Context, req *oas.UserUpdate, params oas.UpdateUserParams) (*oas.User, error) {
	upd := &litengine.UserUpdate{}
	if req.Category.Set {
		c := string(req.Category.Value)
		upd.Category = &c
	}
	if req.Suspended.Set {
		upd.Suspended = &req.Suspended.Value
	}
	u, err := s.store.UpdateUser(ctx, params.ID, upd)
	if err != nil {
		return nil, err
	}
	out := toUser(u)
	return &out, nil
}

func toUser(u *litengine.User) oas.User {
	out := oas.User{ID: u.ID, Name: u.Name, Category: u.Category, Suspended: u.Suspended, CreatedAt: u.CreatedAt}
	if u.Email != "" {
		out.Email = oas.NewOptString(u.Email)
	}
	return out
}
