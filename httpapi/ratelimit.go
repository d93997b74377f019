package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/ratelimit"
)

// RateLimits configure per-client rate limiting.
type RateLimits struct {
	Limiter ratelimit.Limiter
	// Roles are the budgets of API keys, per role; Anonymous is the budget of
	// each client address for requests without a key.
	Roles     map[litengine.Role]ratelimit.Policy
	Anonymous ratelimit.Policy
	// TrustedProxies are the peers whose X-Forwarded-For is believed: a load
	// balancer in front of the engine. From anyone else the header is ignored,
	// so that a client cannot pick its own address.
	TrustedProxies []netip.Prefix
}

// WithRateLimits limits every client to its budget.
func WithRateLimits(rl RateLimits) Option { return func(s *Server) { s.limiter = &rl } }

// itemsPerUnit is how many batch items cost as much as one request: a borrow
// of 50 costs 11, far less than 50 borrows of one, but not nothing.
const itemsPerUnit = 5

// withRateLimit charges each request 1 unit to its client: the API key, or
// the client address without one. It runs before the body is read, so that
// a client over its budget costs no more than this check. The probes and
// /metrics are not limited: an orchestrator and a scraper must always learn
// the truth about the engine (keep /metrics private at the network).
func (s *Server) withRateLimit(next http.Handler) http.Handler {
	if s.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			next.ServeHTTP(w, r)
			return
		}
		if s.limit(w, r, litengine.PrincipalFromContext(r.Context()), 1) {
			next.ServeHTTP(w, r)
		}
	})
}

// withBatchCharge charges a batch for its items once the body is read: 1
// more unit per itemsPerUnit items, so that a borrow of 50 costs 11 in all.
func (s *Server) withBatchCharge(next http.Handler) http.Handler {
	if s.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := stateOf(r.Context())
		if st == nil || st.items/itemsPerUnit == 0 {
			next.ServeHTTP(w, r)
			return
		}
		if s.limit(w, r, litengine.PrincipalFromContext(r.Context()), st.items/itemsPerUnit) {
			next.ServeHTTP(w, r)
		}
	})
}

// limit charges cost to the request's client, sets the RateLimit headers
// and, over the limit, answers 429. It reports whether the request may go on.
func (s *Server) limit(w http.ResponseWriter, r *http.Request, p *litengine.Principal, cost int) bool {
	rl := s.limiter
	policy, key := rl.Anonymous, "ip:"+s.clientIP(r).String()
	if p != nil {
		policy, key = rl.Roles[p.Role], "key:"+p.KeyID
	}
	d, err := rl.Limiter.Allow(r.Context(), key, policy, cost)
	if err != nil {
		// Only a fail-closed limiter returns errors: the operator chose to
		// refuse requests that cannot be counted.
		s.log.WarnContext(r.Context(), "rate limiter unavailable", "err", err)
		s.problem(w, r, http.StatusServiceUnavailable, "The rate limiter is unavailable; retry shortly.")
		return false
	}
	// A batch is charged twice (see withBatchCharge): the headers tell the
	// latest state.
	w.Header().Del("RateLimit")
	w.Header().Del("RateLimit-Policy")
	ratelimit.SetHeaders(w.Header(), policy, d)
	if !d.Allowed {
		s.problem(w, r, http.StatusTooManyRequests, fmt.Sprintf(
			"Rate limit exceeded for policy %q: %d units at once, refilled at %d per %s, and too few are left for this request; retry in %s s.",
			policy.Name, policy.Burst, policy.Rate, policy.Period, w.Header().Get("Retry-After")))
		return false
	}
	return true
}

// clientIP is the peer address, or, when the peer is a trusted proxy, the
// last address in X-Forwarded-For that is not itself a trusted proxy.
func (s *Server) clientIP(r *http.Request) netip.Addr {
	peer := addrOf(r.RemoteAddr)
	if !s.trusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed hop: trust nothing before it
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a
		}
		peer = a
	}
	return peer
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.limiter.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func addrOf(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}
