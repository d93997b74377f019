// Package httpapi serves LitEngine's HTTP API: it implements the handler
// generated from api/openapi.yaml, maps domain values to the wire and back, and
// turns every error into RFC 9457 problem+json.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/api"
	"github.com/litengine/litengine/auth"
	"github.com/litengine/litengine/oas"
)

// Limits protect the engine from oversized requests and careless clients.
type Limits struct {
	// RequestTimeout bounds a request's work: past it, a write waiting for
	// the database gives up and rolls back, and the client gets a 503,
	// instead of committing after the client has stopped listening.
	RequestTimeout time.Duration
	MaxBodyBytes   int64 // request body cap
	MaxBorrow      int   // books per borrow
	MaxReturn      int   // loans per return
	MaxInventory   int   // items per inventory update
	MaxInFlight    int   // requests served at once; more are shed with a 503
	// CORSOrigins are the browser origins allowed to call the API, such as
	// "https://dashboard.example.org"; "*" allows any. Empty: none.
	CORSOrigins []string
}

// DefaultLimits are the limits unless configured otherwise. 1 MiB holds a
// 10,000-item inventory update with room to spare.
var DefaultLimits = Limits{RequestTimeout: 30 * time.Second, MaxBodyBytes: 1 << 20, MaxBorrow: 50, MaxReturn: 50, MaxInventory: 10000, MaxInFlight: 1024}

// Server is the HTTP face of a store.
type Server struct {
	store    litengine.Store
	limits   Limits
	log      *slog.Logger
	metrics  *Metrics
	auth     Authenticator
	limiter  *RateLimits // nil: no rate limiting
	policies *litengine.Policies
}

// Option configures a Server.
type Option func(*Server)

// WithAuthenticator checks API keys with a; by default the server checks
// them against its store, caching each for DefaultKeyCacheTTL.
func WithAuthenticator(a Authenticator) Option { return func(s *Server) { s.auth = a } }

// DefaultKeyCacheTTL bounds how long another engine instance may still
// accept a revoked key.
const DefaultKeyCacheTTL = 5 * time.Second

// WithPolicies tells the server the library's rules (its currency, for the
// fee ledger); the store applies them. Default: litengine.DefaultPolicies().
func WithPolicies(p *litengine.Policies) Option { return func(s *Server) { s.policies = p } }

// WithMetrics records Prometheus metrics in m and serves them at GET /metrics.
func WithMetrics(m *Metrics) Option { return func(s *Server) { s.metrics = m } }

var _ oas.Handler = (*Server)(nil)

// NewServer returns a server for store. Zero limits take their defaults.
func NewServer(store litengine.Store, limits Limits, log *slog.Logger, opts ...Option) *Server {
	d := DefaultLimits
	if limits.RequestTimeout <= 0 {
		limits.RequestTimeout = d.RequestTimeout
	}
	if limits.MaxBodyBytes <= 0 {
		limits.MaxBodyBytes = d.MaxBodyBytes
	}
	if limits.MaxBorrow <= 0 {
		limits.MaxBorrow = d.MaxBorrow
	}
	if limits.MaxReturn <= 0 {
		limits.MaxReturn = d.MaxReturn
	}
	if limits.MaxInFlight <= 0 {
		limits.MaxInFlight = d.MaxInFlight
	}
	if limits.MaxInventory <= 0 {
		limits.MaxInventory = d.MaxInventory
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Server{store: store, limits: limits, log: log}
	for _, o := range opts {
		o(s)
	}
	if s.policies == nil {
		s.policies = litengine.DefaultPolicies()
	}
	if s.auth == nil {
		s.auth = auth.NewAuthenticator(store, DefaultKeyCacheTTL)
	}
	return s
}

// Handler returns the complete HTTP handler: the generated router behind the
// middleware every request goes through, and the spec itself.
func (s *Server) Handler() http.Handler {
	gen, err := oas.NewServer(s, s,
		oas.WithErrorHandler(s.decodeError),
		oas.WithNotFound(s.notFound),
		oas.WithMethodNotAllowed(s.methodNotAllowed),
	)
	if err != nil {
		panic(err) // only on invalid options: a programming error
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/openapi.yaml", serveSpec)
	if s.metrics != nil {
		mux.Handle("GET /metrics", s.metrics.handler)
	}
	mux.Handle("/", gen)
	// Outermost first: cheap refusals (overload, no key, over the rate
	// limit) come before any work on the body; a batch pays for its items
	// once its body is read.
	return s.withRequestID(s.withAccessLog(gen, s.withRecover(withSecurityHeaders(
		s.withCORS(s.withInFlightCap(withHeadAsGet(s.withRequestTimeout(
			s.withAuth(s.withRateLimit(s.withJSONBody(s.withBatchCharge(s.withIdempotency(mux)))))))))))))
}

func serveSpec(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(api.OpenAPI)
}

// GetReady reports whether the database answers. A load balancer uses it to
// stop sending requests while the database is unreachable.
func (s *Server) GetReady(ctx context.Context) (*oas.Health, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "database not ready", "err", err)
		return nil, &litengine.Error{Code: litengine.EUNAVAILABLE, Message: "The database is unreachable."}
	}
	return &oas.Health{Status: "ok"}, nil
}

// GetHealth reports that the process is up. It does not touch the database:
// it is the liveness probe.
func (s *Server) GetHealth(ctx context.Context) (*oas.Health, error) {
	return &oas.Health{Status: "ok"}, nil
}
