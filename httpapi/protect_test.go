package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/httpapi"
	"github.com/litengine/litengine/sqlite"
	"github.com/litengine/litengine/storetest"
)

// newTestServer serves a fresh SQLite store; it returns an admin key for it.
func newTestServer(t *testing.T, limits httpapi.Limits, opts ...httpapi.Option) (*httptest.Server, string) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), sqlite.Options{Synchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.NewServer(store, limits, slog.New(slog.NewTextHandler(io.Discard, nil)), opts...).Handler())
	t.Cleanup(func() { srv.Close(); store.Close() })
	return srv, storetest.NewKey(t, store, litengine.RoleAdmin, 0)
}

func TestCORSAndSecurityHeaders(t *testing.T) {
	srv, admin := newTestServer(t, httpapi.Limits{CORSOrigins: []string{"https://dashboard.example.org"}})
	do := func(method, origin string, header ...string) *http.Response {
		req, _ := http.NewRequest(method, srv.URL+"/api/books", nil)
		req.Header.Set("Origin", origin)
		if method != "OPTIONS" {
			req.Header.Set("Authorization", "Bearer "+admin)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	pre := do("OPTIONS", "https://dashboard.example.org", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type")
	if pre.StatusCode >= 300 || pre.Header.Get("Access-Control-Allow-Origin") != "https://dashboard.example.org" {
		t.Fatalf("preflight from the dashboard: %d %v", pre.StatusCode, pre.Header)
	}
	if got := do("OPTIONS", "https://evil.example", "Access-Control-Request-Method", "POST").Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("preflight from another origin allowed: %q", got)
	}
	get := do("GET", "https://dashboard.example.org")
	if get.StatusCode != 200 || get.Header.Get("Access-Control-Allow-Origin") != "https://dashboard.example.org" {
		t.Fatalf("GET from the dashboard: %d %v", get.StatusCode, get.Header)
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store"} {
		if got := get.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
}

// TestInFlightCap holds the only slot with a request whose body is still
// arriving: the next request is shed at once with a 503, the liveness probe
// still answers.
func TestInFlightCap(t *testing.T) {
	srv, admin := newTestServer(t, httpapi.Limits{MaxInFlight: 1})
	body, feed := io.Pipe()
	done := make(chan int)
	go func() {
		req, _ := http.NewRequest("POST", srv.URL+"/api/users", body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	if _, err := feed.Write([]byte(`{"name":`)); err != nil { // the handler now waits for the rest
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)

	resp, err := http.Get(srv.URL + "/api/books")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("second request: %d %v, want a shed 503", resp.StatusCode, resp.Header)
	}
	if resp, err := http.Get(srv.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz while full: %v %v", resp, err)
	}
	feed.Write([]byte(`"Late"}`))
	feed.Close()
	if code := <-done; code != 201 {
		t.Fatalf("the slow request got %d, want 201", code)
	}
}
