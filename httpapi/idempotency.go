package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"time"

	"github.com/litengine/litengine"
)

// idempotentPaths are the POST operations that honour Idempotency-Key: the
// batches, and the creations that a retry would otherwise repeat.
var idempotentPaths = map[string]bool{"/api/borrow": true, "/api/return": true, "/api/renew": true,
	"/api/inventory": true, "/api/fees/pay": true, "/api/books": true, "/api/users": true}

// maxIdempotencyKey bounds the header, as the spec does.
const maxIdempotencyKey = 255

// idempotencyPoll is how often a duplicate checks whether the first request
// finished.
const idempotencyPoll = 20 * time.Millisecond

// withIdempotency makes a retried batch safe. The first request with a key
// claims it in the database and runs; its response is stored. A retry with
// the same key and body gets that response again without running; one that
// arrives while the first still runs waits for it. The record is in the
// database, so every engine instance answers the same.
//
// A response that changed nothing and may succeed later (a 5xx, such as a
// timeout) releases the claim, so that a retry runs again. A request whose
// connection to the database died in flight keeps its claim: its outcome is
// unknown, and running it again could apply it twice.
func (s *Server) withIdempotency(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, present := r.Header["Idempotency-Key"]
		p := litengine.PrincipalFromContext(r.Context())
		if !present || r.Method != http.MethodPost || !idempotentPaths[r.URL.Path] || p == nil {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) != 1 || key[0] == "" || len(key[0]) > maxIdempotencyKey || !visibleASCII(key[0]) {
			s.problem(w, r, http.StatusBadRequest, "Idempotency-Key must be sent once, as 1 to 255 visible ASCII characters (a UUID, say).")
			return
		}
		h := sha256.New()
		h.Write([]byte(r.Method + " " + r.URL.Path + "\n" + r.Header.Get("Content-Type") + "\n"))
		if st := stateOf(r.Context()); st != nil {
			h.Write(st.body) // read whole by withJSONBody
		}
		rec := &litengine.IdempotencyRecord{Scope: p.KeyID, Key: key[0], RequestHash: h.Sum(nil)}

		done, err := s.awaitIdempotent(w, r, rec)
		if err != nil {
			writeProblem(w, s.NewError(r.Context(), err))
			return
		}
		if done {
			return
		}
		capture := &captureWriter{ResponseWriter: w}
		next.ServeHTTP(capture, r)
		s.settleIdempotent(r.Context(), rec, capture)
	})
}

// staleAfter is how long a claim may stay in progress: past it, the request
// that made it cannot still be running.
func (s *Server) staleAfter() time.Duration { return s.limits.RequestTimeout + 10*time.Second }

// awaitIdempotent claims rec, or answers from the record that holds its key;
// done tells whether the request was answered.
func (s *Server) awaitIdempotent(w http.ResponseWriter, r *http.Request, rec *litengine.IdempotencyRecord) (done bool, err error) {
	ctx := r.Context()
	for {
		existing, err := s.store.ClaimIdempotencyKey(ctx, rec, s.staleAfter())
		if err != nil || existing == nil {
			return false, err
		}
		for {
			switch {
			case !bytes.Equal(existing.RequestHash, rec.RequestHash):
				return true, &litengine.Error{Code: litengine.EMISMATCH, Message: "This Idempotency-Key was used with another request " +
					"(a different body or endpoint) in the last 24 hours; use a new key for a new request."}
			case existing.Status != 0:
				h := w.Header()
				h.Set("Content-Type", existing.ContentType)
				if existing.Location != "" {
					h.Set("Location", existing.Location)
				}
				h.Set("Idempotent-Replayed", "true")
				w.WriteHeader(existing.Status)
				_, _ = w.Write(existing.Body)
				return true, nil
			case existing.Stale:
				return true, litengine.Errorf(litengine.ECONFLICT, "An earlier request with this Idempotency-Key never finished "+
					"(its connection to the database was lost), so its outcome is unknown: look (at the member's loans, say), "+
					"then send a new request with a new key.")
			}
			select {
			case <-ctx.Done():
				return true, litengine.Errorf(litengine.EUNAVAILABLE, "A request with this Idempotency-Key is still running; retry shortly to get its response.")
			case <-time.After(idempotencyPoll):
			}
			existing, err = s.store.FindIdempotencyKey(ctx, rec.Scope, rec.Key, s.staleAfter())
			if litengine.ErrorCode(err) == litengine.ENOTFOUND {
				break // released: claim it again
			} else if err != nil {
				return true, err
			}
		}
	}
}

// settleIdempotent stores the response of a claimed key, or releases the
// claim when the request changed nothing and may succeed if retried. It
// runs even when the client has gone: the record must match what happened.
func (s *Server) settleIdempotent(ctx context.Context, rec *litengine.IdempotencyRecord, c *captureWriter) {
	code := ""
	if st := stateOf(ctx); st != nil {
		code = st.errCode
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var err error
	switch {
	case code == litengine.EUNKNOWN:
		return // keep the claim: see withIdempotency
	case c.status >= 500 || c.status == 0:
		err = s.store.ReleaseIdempotencyKey(ctx, rec.Scope, rec.Key)
	default:
		rec.Status, rec.ContentType, rec.Body = c.status, c.Header().Get("Content-Type"), c.body.Bytes()
		rec.Location = c.Header().Get("Location")
		err = s.store.CompleteIdempotencyKey(ctx, rec)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		s.log.ErrorContext(ctx, "could not record the outcome of an Idempotency-Key", "err", err)
	}
}

// captureWriter passes a response through and keeps a copy of it.
type captureWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	c.body.Write(b)
	return c.ResponseWriter.Write(b)
}

func (c *captureWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '!' || s[i] > '~' {
			return false
		}
	}
	return true
}
