package httpapi

import (
	"net/http"

	"github.com/rs/cors"
)

// withCORS lets browser clients on the configured origins (a web dashboard)
// call the API. Without origins, no cross-origin headers are sent and browsers
// keep other sites out.
func (s *Server) withCORS(next http.Handler) http.Handler {
	if len(s.limits.CORSOrigins) == 0 {
		return next
	}
	return cors.New(cors.Options{
		AllowedOrigins: s.limits.CORSOrigins,
		AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPatch, http.MethodDelete},
		AllowedHeaders: []string{"Content-Type", "Authorization", "Idempotency-Key", "X-Request-Id"},
		ExposedHeaders: []string{"Location", "Retry-After", "X-Request-Id", "RateLimit", "RateLimit-Policy",
			"Idempotent-Replayed", "WWW-Authenticate"},
		MaxAge:           600,
		AllowCredentials: false,
	}).Handler(next)
}

// withSecurityHeaders sets the headers that keep a JSON API from being
// rendered, framed or cached by browsers and proxies.
func withSecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		if r.URL.Path != "/api/openapi.yaml" {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// withInFlightCap sheds load: beyond MaxInFlight requests at once, a request
// gets an immediate 503 with Retry-After instead of queueing until it times
// out. The liveness probe is never shed.
func (s *Server) withInFlightCap(next http.Handler) http.Handler {
	slots := make(chan struct{}, s.limits.MaxInFlight)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
		default:
			s.problem(w, r, http.StatusServiceUnavailable, "The engine is at its limit of requests in flight; retry shortly.")
		}
	})
}
