package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/litengine/litengine/oas"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	requestPathKey
	requestStateKey
)

// requestState is what middleware learns about a request from the layers
// inside it.
type requestState struct {
	errCode string // the domain code of the error the request failed with
	items   int    // items in the body's top-level arrays: what a batch costs
	body    []byte // the body, read whole by withJSONBody
}

func stateOf(ctx context.Context) *requestState {
	st, _ := ctx.Value(requestStateKey).(*requestState)
	return st
}

// RequestID returns the id of the request that ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func requestPath(ctx context.Context) string {
	p, _ := ctx.Value(requestPathKey).(string)
	return p
}

// withRequestID gives every request an id: the caller's X-Request-Id when it is
// short and printable, a random one otherwise. It is echoed in the response,
// carried in problems, and stamped on every log line by LogHandler.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		ctx = context.WithValue(ctx, requestPathKey, r.URL.Path)
		ctx = context.WithValue(ctx, requestStateKey, &requestState{})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func validRequestID(id string) bool {
	return id != "" && len(id) <= 64 && visibleASCII(id)
}

// statusRecorder remembers what a handler answered, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	// Every 503 means "nothing was done, come back shortly".
	if code == http.StatusServiceUnavailable && r.Header().Get("Retry-After") == "" {
		r.Header().Set("Retry-After", "1")
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// withAccessLog logs one line per request and records its metrics.
func (s *Server) withAccessLog(gen *oas.Server, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if s.metrics != nil {
			s.metrics.observe(routeName(gen, r), r.Method, rec.status, time.Since(start))
		}
		level := slog.LevelInfo
		switch {
		case rec.status == http.StatusServiceUnavailable:
			level = slog.LevelWarn // overload or a cancelled request: not a fault of the engine
		case rec.status >= 500:
			level = slog.LevelError
		}
		s.log.LogAttrs(r.Context(), level, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Int("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr),
		)
	})
}

// withRecover turns a panic into a logged 500 problem instead of a dropped
// connection.
func (s *Server) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				s.problem(w, r, http.StatusInternalServerError, "Internal error.")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// withHeadAsGet answers HEAD as GET; net/http drops the body, so probes and
// caches that use HEAD get the same status and headers.
func withHeadAsGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			r = r.Clone(r.Context())
			r.Method = http.MethodGet
		}
		next.ServeHTTP(w, r)
	})
}

// withRequestTimeout bounds each request's work by RequestTimeout.
func (s *Server) withRequestTimeout(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.limits.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// withJSONBody reads a POST or PATCH body whole, within the size cap, and refuses
// what the generated decoder would let through (see checkJSON). A body
// without a Content-Type is read as JSON, the only type the API speaks; one
// that declares another type is refused with 415 by the decoder.
func (s *Server) withJSONBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method != http.MethodPost && r.Method != http.MethodPatch) || !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r) // no operation outside /api reads a body
			return
		}
		if r.ContentLength > s.limits.MaxBodyBytes {
			s.problem(w, r, http.StatusRequestEntityTooLarge, s.tooLarge())
			return
		}
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.limits.MaxBodyBytes))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			s.problem(w, r, http.StatusRequestEntityTooLarge, s.tooLarge())
			return
		case err != nil:
			s.problem(w, r, http.StatusRequestTimeout,
				"The request body did not arrive in time or the connection broke while sending it.")
			return
		}
		items, err := checkJSON(data)
		if err != nil {
			s.problem(w, r, http.StatusBadRequest, "Invalid request body: "+err.Error())
			return
		}
		if st := stateOf(r.Context()); st != nil {
			st.items, st.body = items, data
		}
		if r.Header.Get("Content-Type") == "" {
			r.Header.Set("Content-Type", "application/json")
		}
		r.Body = io.NopCloser(bytes.NewReader(data))
		next.ServeHTTP(w, r)
	})
}

func (s *Server) tooLarge() string {
	return fmt.Sprintf("The request body is larger than the limit of %d bytes.", s.limits.MaxBodyBytes)
}

// LogHandler wraps a slog handler so that every record logged with a request's
// context carries that request's id.
func LogHandler(h slog.Handler) slog.Handler { return requestIDHandler{h} }

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
