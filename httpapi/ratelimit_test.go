package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/httpapi"
	"github.com/litengine/litengine/ratelimit"
	"github.com/litengine/litengine/storetest"
)

// limited serves a store whose every role may spend 3 units at once and
// gets one back a second, on a clock the test moves.
func limited(t *testing.T, trusted ...string) (url, admin string, clk *storetest.Clock) {
	clk = storetest.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	policy := func(name string) ratelimit.Policy {
		return ratelimit.Policy{Name: name, Rate: 1, Period: time.Second, Burst: 3}
	}
	rl := httpapi.RateLimits{
		Limiter: ratelimit.NewMemory(ratelimit.MemoryOptions{Now: clk.Now}),
		Roles: map[litengine.Role]ratelimit.Policy{
			litengine.RoleAdmin: policy("admin"), litengine.RoleLibrarian: policy("librarian"), litengine.RoleMember: policy("member"),
		},
		Anonymous: policy("anonymous"),
	}
	for _, p := range trusted {
		rl.TrustedProxies = append(rl.TrustedProxies, netip.MustParsePrefix(p))
	}
	srv, admin := newTestServer(t, httpapi.Limits{}, httpapi.WithRateLimits(rl))
	return srv.URL, admin, clk
}

func send(t *testing.T, method, url, key, body string, header ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
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

func TestRateLimitPerKey(t *testing.T) {
	url, admin, clk := limited(t)
	for i, want := range []string{`"admin";r=2;t=1`, `"admin";r=1;t=2`, `"admin";r=0;t=3`} {
		resp := send(t, "GET", url+"/api/books", admin, "")
		if resp.StatusCode != 200 || resp.Header.Get("RateLimit") != want || resp.Header.Get("RateLimit-Policy") != `"admin";q=3;w=3` {
			t.Fatalf("request %d: %d, RateLimit %q, RateLimit-Policy %q; want 200 and %s", i, resp.StatusCode,
				resp.Header.Get("RateLimit"), resp.Header.Get("RateLimit-Policy"), want)
		}
	}
	over := send(t, "GET", url+"/api/books", admin, "")
	if over.StatusCode != 429 || over.Header.Get("Retry-After") != "1" || over.Header.Get("Content-Type") != "application/problem+json" ||
		over.Header.Get("RateLimit") != `"admin";r=0;t=1` {
		t.Fatalf("over the limit: %d %v", over.StatusCode, over.Header)
	}
	// The probes are never limited.
	if resp := send(t, "GET", url+"/healthz", "", ""); resp.StatusCode != 200 {
		t.Fatalf("healthz while limited: %d", resp.StatusCode)
	}
	clk.Advance(time.Second)
	if resp := send(t, "GET", url+"/api/books", admin, ""); resp.StatusCode != 200 {
		t.Fatalf("a second later: %d, want 200", resp.StatusCode)
	}
}

// A batch costs 1 plus 1 per 5 items: a borrow of 10 spends the whole
// burst of 3 that three single-book borrows would.
func TestRateLimitBatchCost(t *testing.T) {
	url, admin, _ := limited(t)
	books := make([]string, 10)
	for i := range books {
		books[i] = fmt.Sprint(i + 1)
	}
	body := fmt.Sprintf(`{"user_id":1,"books":[%s]}`, strings.Join(books, ","))
	first := send(t, "POST", url+"/api/borrow", admin, body)
	if first.StatusCode == 429 || first.Header.Get("RateLimit") != `"admin";r=0;t=3` {
		t.Fatalf("a borrow of 10: %d, RateLimit %q; want it to spend all 3 units", first.StatusCode, first.Header.Get("RateLimit"))
	}
	if resp := send(t, "GET", url+"/api/books", admin, ""); resp.StatusCode != 429 {
		t.Fatalf("after the batch: %d, want 429", resp.StatusCode)
	}
}

// Without a key, the budget is the client address's. X-Forwarded-For counts
// only from a trusted proxy: from anyone else, a forged header changes nothing.
func TestRateLimitClientAddress(t *testing.T) {
	url, _, _ := limited(t)
	statuses := ""
	for i := range 5 {
		resp := send(t, "GET", url+"/api/openapi.yaml", "", "", "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
		statuses += fmt.Sprint(resp.StatusCode, " ")
	}
	if statuses != "200 200 200 429 429 " {
		t.Fatalf("an untrusted peer forging X-Forwarded-For: %s; want one budget of 3", statuses)
	}
	// Guessing keys spends the address's budget too.
	if resp := send(t, "GET", url+"/api/books", "lit_guess", ""); resp.StatusCode != 429 {
		t.Fatalf("a bad key from a limited address: %d, want 429", resp.StatusCode)
	}

	url, _, _ = limited(t, "127.0.0.0/8")
	for i := range 5 {
		resp := send(t, "GET", url+"/api/openapi.yaml", "", "", "X-Forwarded-For", fmt.Sprintf("198.51.100.7, 203.0.113.%d", i))
		if resp.StatusCode != 200 {
			t.Fatalf("client %d behind a trusted proxy: %d, want its own budget", i, resp.StatusCode)
		}
	}
}

func TestRateLimitProblem(t *testing.T) {
	url, admin, _ := limited(t)
	for range 3 {
		send(t, "GET", url+"/api/books", admin, "")
	}
	req, _ := http.NewRequest("GET", url+"/api/books", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct{ Type, Detail string }
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || p.Type != "urn:litengine:problem:too_many_requests" || p.Detail == "" {
		t.Fatalf("429 problem: %+v %v", p, err)
	}
}
