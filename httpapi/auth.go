package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/oas"
)

var (
	staff    = []litengine.Role{litengine.RoleAdmin, litengine.RoleLibrarian}
	everyone = []litengine.Role{litengine.RoleAdmin, litengine.RoleLibrarian, litengine.RoleMember}
	admins   = []litengine.Role{litengine.RoleAdmin}
)

// rolesOf lists the roles each operation admits: the x-litengine-roles of the
// spec, which a test keeps equal to this table. Operations where a member is
// admitted also check that the member acts only for itself.
var rolesOf = map[oas.OperationName][]litengine.Role{
	oas.ListBooksOperation:       everyone,
	oas.GetBookOperation:         everyone,
	oas.CreateBookOperation:      staff,
	oas.SetInventoryOperation:    staff,
	oas.CreateUserOperation:      staff,
	oas.GetUserOperation:         everyone,
	oas.ListUserLoansOperation:   everyone,
	oas.BorrowOperation:          everyone,
	oas.ReturnLoansOperation:     everyone,
	oas.RenewLoansOperation:      everyone,
	oas.UpdateUserOperation:      staff,
	oas.ListUserFeesOperation:    everyone,
	oas.PayFeesOperation:         staff,
	oas.WaiveFeeOperation:        staff,
	oas.ListAuditEventsOperation: staff,
	oas.AuditInventoryOperation:  staff,
	oas.ListLoansOperation:       staff,
	oas.CreateKeyOperation:       admins,
	oas.ListKeysOperation:        admins,
	oas.RevokeKeyOperation:       admins,
}

// Authenticator turns a bearer token into a principal; auth.Authenticator is
// the engine's.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*litengine.Principal, error)
	Forget(keyID string)
}

// needsKey reports whether a path is behind authentication: all of /api
// except the spec. Unknown /api paths answer 401 too, so that routes are not
// revealed to anonymous callers.
func needsKey(path string) bool {
	return strings.HasPrefix(path, "/api/") && path != "/api/openapi.yaml"
}

// withAuth authenticates the request's API key before anything else costs
// work, and puts its principal in the context for the rate limiter and the
// handlers.
func (s *Server) withAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A CORS preflight carries no credentials; without CORS an OPTIONS
		// request is like any other and must not reveal which routes exist.
		if !needsKey(r.URL.Path) || (r.Method == http.MethodOptions && len(s.limits.CORSOrigins) > 0) {
			next.ServeHTTP(w, r)
			return
		}
		header := r.Header.Get("Authorization")
		scheme, token, _ := strings.Cut(header, " ")
		if header == "" || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="litengine"`)
			s.unauthorized(w, r, "This endpoint needs an API key: send Authorization: Bearer <key>.")
			return
		}
		p, err := s.auth.Authenticate(r.Context(), strings.TrimSpace(token))
		if err != nil {
			if litengine.ErrorCode(err) == litengine.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="litengine", error="invalid_token"`)
				s.unauthorized(w, r, litengine.ErrorMessage(err))
				return
			}
			writeProblem(w, s.NewError(r.Context(), err))
			return
		}
		next.ServeHTTP(w, r.WithContext(litengine.NewContextWithPrincipal(r.Context(), p)))
	})
}

// unauthorized answers a request without a valid key. It is charged to the
// client's address, so that guessing keys is rate limited like any request.
func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, detail string) {
	if s.limiter != nil && !s.limit(w, r, nil, 1) {
		return
	}
	s.problem(w, r, http.StatusUnauthorized, detail)
}

// HandleBearerAuth is called by the generated router for every operation
// that the spec puts behind bearerAuth: withAuth has already checked the key,
// so this checks that the key's role admits the operation.
func (s *Server) HandleBearerAuth(ctx context.Context, op oas.OperationName, _ oas.BearerAuth) (context.Context, error) {
	p := litengine.PrincipalFromContext(ctx)
	if p == nil {
		return ctx, litengine.Errorf(litengine.EUNAUTHORIZED, "This endpoint needs an API key: send Authorization: Bearer <key>.")
	}
	if !slices.Contains(rolesOf[op], p.Role) {
		return ctx, litengine.Errorf(litengine.EFORBIDDEN, "A %s key may not do this (%s).", p.Role, op)
	}
	return ctx, nil
}

// actFor refuses a member key acting for another member.
func actFor(ctx context.Context, userID int64) error {
	if p := litengine.PrincipalFromContext(ctx); !p.ActsFor(userID) {
		return litengine.Errorf(litengine.EFORBIDDEN, "A member key acts only for its own member (%d), not for member %d.", p.UserID, userID)
	}
	return nil
}

// ownLoans refuses a member key returning or renewing loans of other members, naming
// each. Unknown IDs are left for the store to report. A loan never changes
// hands, so this check cannot go stale before the return runs.
func (s *Server) ownLoans(ctx context.Context, operation string, transactionIDs []string) error {
	p := litengine.PrincipalFromContext(ctx)
	if p == nil || p.Role != litengine.RoleMember {
		return nil
	}
	loans, err := s.store.FindLoansByID(ctx, transactionIDs)
	if err != nil {
		return err
	}
	owner := make(map[string]int64, len(loans))
	for _, l := range loans {
		owner[l.ID] = l.UserID
	}
	var items []litengine.ItemError
	for i, id := range transactionIDs {
		if u, ok := owner[id]; ok && u != p.UserID {
			items = append(items, litengine.ItemError{Field: "transaction_ids", Index: i, TransactionID: id,
				Code: litengine.ItemForbidden, Detail: "Transaction " + id + " is another member's loan."})
		}
	}
	if items != nil {
		return &litengine.Error{Code: litengine.EFORBIDDEN, Items: items,
			Message: fmt.Sprintf("Nothing was %sed: a member key may %s only its own member's loans.", operation, operation)}
	}
	return nil
}
