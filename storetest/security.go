package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/litengine/litengine"
)

// testAPIRoles is the role × endpoint matrix: every operation, every role,
// no key, a malformed key, a revoked key, and a member key acting for
// another member.
func testAPIRoles(t *testing.T, c *apiClient) {
	own, other := c.createUser("Own"), c.createUser("Other")
	book := c.createBook("Matrix", 100)
	borrow := func(user int64) string {
		b := decode[struct{ Transactions []wireLoan }](t, c.post("/api/borrow", fmt.Sprintf(`{"user_id":%d,"books":[%d]}`, user, book.ID)).must(t, 201))
		return b.Transactions[0].TransactionID
	}
	ownLoan, otherLoan := borrow(own), borrow(other)

	keys := map[string]string{
		"admin":     c.token,
		"librarian": NewKey(t, c.store, litengine.RoleLibrarian, 0),
		"member":    NewKey(t, c.store, litengine.RoleMember, own),
		"revoked":   NewKey(t, c.store, litengine.RoleAdmin, 0),
		"malformed": "lit_not-a-key",
		"none":      "",
	}
	revokedID := strings.Split(keys["revoked"], "_")[1]
	c.do("DELETE", "/api/keys/"+revokedID, "", "").must(t, 200)
	spare := func() string { // a key for the admin to revoke in its row
		return strings.Split(NewKey(t, c.store, litengine.RoleLibrarian, 0), "_")[1]
	}

	const (
		public = "public" // anyone, no key needed
		staff  = "admin,librarian"
		all    = "admin,librarian,member"
		admin  = "admin"
	)
	type call struct {
		method, path, body string
		roles              string // roles admitted; anything else is 401 or 403
		foreign            bool   // acts for another member: a member key gets 403
	}
	calls := []call{
		{"GET", "/healthz", "", public, false},
		{"GET", "/readyz", "", public, false},
		{"GET", "/api/openapi.yaml", "", public, false},
		{"GET", "/api/books", "", all, false},
		{"GET", fmt.Sprintf("/api/books/%d", book.ID), "", all, false},
		{"POST", "/api/books", `{"title":"New"}`, staff, false},
		{"POST", "/api/inventory", fmt.Sprintf(`{"inventory":[{"bookid":%d,"totalqty":100}]}`, book.ID), staff, false},
		{"POST", "/api/users", `{"name":"New"}`, staff, false},
		{"GET", fmt.Sprintf("/api/users/%d", own), "", all, false},
		{"GET", fmt.Sprintf("/api/users/%d", other), "", all, true},
		{"GET", fmt.Sprintf("/api/users/%d/loans", own), "", all, false},
		{"GET", fmt.Sprintf("/api/users/%d/loans", other), "", all, true},
		{"POST", "/api/borrow", fmt.Sprintf(`{"user_id":%d,"books":[%d]}`, own, book.ID), all, false},
		{"POST", "/api/borrow", fmt.Sprintf(`{"user_id":%d,"books":[%d]}`, other, book.ID), all, true},
		{"POST", "/api/return", fmt.Sprintf(`{"transaction_ids":[%q]}`, ownLoan), all, false},
		{"POST", "/api/return", fmt.Sprintf(`{"transaction_ids":[%q]}`, otherLoan), all, true},
		{"POST", "/api/renew", fmt.Sprintf(`{"transaction_ids":[%q]}`, ownLoan), all, false},
		{"POST", "/api/renew", fmt.Sprintf(`{"transaction_ids":[%q]}`, otherLoan), all, true},
		{"GET", fmt.Sprintf("/api/users/%d/fees", own), "", all, false},
		{"GET", fmt.Sprintf("/api/users/%d/fees", other), "", all, true},
		{"PATCH", fmt.Sprintf("/api/users/%d", other), `{"category":"adult"}`, staff, false},
		{"POST", "/api/fees/pay", `{"payments":[{"fee_id":"none","amount":1}]}`, staff, false},
		{"POST", "/api/fees/none/waive", `{"reason":"test"}`, staff, false},
		{"POST", "/api/keys", `{"role":"librarian"}`, admin, false},
		{"GET", "/api/keys", "", admin, false},
		{"DELETE", "/api/keys/{spare}", "", admin, false},
	}
	for _, cl := range calls {
		for _, who := range []string{"admin", "librarian", "member", "revoked", "malformed", "none"} {
			path := cl.path
			if strings.Contains(path, "{spare}") {
				path = strings.Replace(path, "{spare}", spare(), 1)
			}
			dump := Dump(t, c.db)
			r := c.as(keys[who]).do(cl.method, path, "application/json", cl.body)
			var want int // 0: admitted
			switch {
			case cl.roles == public:
			case who == "revoked" || who == "malformed" || who == "none":
				want = 401
			case !slices.Contains(strings.Split(cl.roles, ","), who), who == "member" && cl.foreign:
				want = 403
			}
			label := fmt.Sprintf("%s %s as %s", cl.method, cl.path, who)
			switch {
			case want == 0 && (r.status == 401 || r.status == 403 || r.status >= 500):
				t.Errorf("%s: status %d, want it admitted: %s", label, r.status, r.body)
			case want != 0 && r.status != want:
				t.Errorf("%s: status %d, want %d: %s", label, r.status, want, r.body)
			case want != 0:
				p := wantProblem(t, r, want)
				kind := map[int]string{401: "unauthorized", 403: "forbidden"}[want]
				if p.Type != "urn:litengine:problem:"+kind {
					t.Errorf("%s: problem type %q, want the %s problem", label, p.Type, kind)
				}
				if want == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s: 401 without a Bearer WWW-Authenticate challenge", label)
				}
				if after := Dump(t, c.db); after != dump {
					t.Errorf("%s: a refused request changed the database", label)
				}
			}
		}
	}
}

// testAPIKeys manages keys over HTTP: a new key works at once, its secret is
// never listed, and a revoked key stops working at once.
func testAPIKeys(t *testing.T, c *apiClient) {
	member := c.createUser("Keyholder")
	type wireKey struct {
		ID        string `json:"id"`
		Role      string `json:"role"`
		UserID    int64  `json:"user_id"`
		Name      string `json:"name"`
		Key       string `json:"key"`
		RevokedAt string `json:"revoked_at"`
	}
	created := decode[wireKey](t, c.post("/api/keys", fmt.Sprintf(`{"role":"member","user_id":%d,"name":"Phone app"}`, member)).must(t, 201))
	if created.Role != "member" || created.UserID != member || created.Name != "Phone app" || !strings.HasPrefix(created.Key, "lit_"+created.ID+"_") {
		t.Fatalf("created %+v", created)
	}
	phone := c.as(created.Key)
	phone.get(fmt.Sprintf("/api/users/%d/loans", member)).must(t, 200)

	list := c.get("/api/keys?limit=100").must(t, 200)
	if bytes.Contains(list.body, []byte(created.Key[len(created.Key)-20:])) || !bytes.Contains(list.body, []byte(created.ID)) {
		t.Fatalf("the list must name the key without its secret: %s", list.body)
	}

	for body, status := range map[string]int{
		`{"role":"member"}`:                                          400, // a member key needs its member
		`{"role":"librarian","user_id":1}`:                           400, // only member keys have one
		`{"role":"member","user_id":999999}`:                         404,
		`{"role":"root"}`:                                            400,
		`{"role":"admin","name":"` + strings.Repeat("n", 101) + `"}`: 400,
	} {
		wantProblem(t, c.post("/api/keys", body), status)
	}

	revoked := decode[wireKey](t, c.do("DELETE", "/api/keys/"+created.ID, "", "").must(t, 200))
	if revoked.RevokedAt == "" {
		t.Fatalf("revoked key without revoked_at: %+v", revoked)
	}
	again := decode[wireKey](t, c.do("DELETE", "/api/keys/"+created.ID, "", "").must(t, 200))
	if again.RevokedAt != revoked.RevokedAt {
		t.Fatalf("a second revocation moved revoked_at from %s to %s", revoked.RevokedAt, again.RevokedAt)
	}
	if p := wantProblem(t, phone.get(fmt.Sprintf("/api/users/%d/loans", member)), 401); !strings.Contains(p.Detail, "revoked") {
		t.Fatalf("revoked key: %+v", p)
	}
	wantProblem(t, c.do("DELETE", "/api/keys/0000", "", ""), 404)
	self := strings.Split(c.token, "_")[1]
	wantProblem(t, c.do("DELETE", "/api/keys/"+self, "", ""), 409)
}

// testAPIIdempotency sends one borrow from 20 goroutines with the same
// Idempotency-Key: it runs once, and every client gets the same answer.
func testAPIIdempotency(t *testing.T, c *apiClient) {
	user := c.createUser("Retrier")
	a, b := c.createBook("A", 5), c.createBook("B", 5)
	body := fmt.Sprintf(`{"user_id":%d,"books":[%d,%d]}`, user, a.ID, b.ID)
	send := func(cl *apiClient, key, body string) apiResponse {
		return cl.do("POST", "/api/borrow", "application/json", body, "Idempotency-Key", key)
	}

	const n = 20
	responses := make([]apiResponse, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { responses[i] = send(c, "retry-1", body) })
	}
	wg.Wait()
	replayed := 0
	for i, r := range responses {
		if r.status != 201 || !bytes.Equal(r.body, responses[0].body) {
			t.Fatalf("response %d: %d %s; want the first response, 201 %s", i, r.status, r.body, responses[0].body)
		}
		if r.header.Get("Idempotent-Replayed") == "true" {
			replayed++
		}
	}
	if replayed != n-1 {
		t.Errorf("%d responses replayed, want %d", replayed, n-1)
	}
	if a, b := c.book(a.ID), c.book(b.ID); a.OnLoan != 1 || b.OnLoan != 1 {
		t.Fatalf("on loan after 20 identical requests: %d and %d, want 1 and 1", a.OnLoan, b.OnLoan)
	}
	CheckStock(t, c.db)

	// The same key with another body is refused, changing nothing.
	other := fmt.Sprintf(`{"user_id":%d,"books":[%d]}`, user, c.createBook("C", 1).ID)
	dump := Dump(t, c.db)
	wantProblem(t, send(c, "retry-1", other), 422)
	if Dump(t, c.db) != dump {
		t.Fatal("a mismatched Idempotency-Key changed the database")
	}
	// Keys are scoped to the API key: another client's "retry-1" is its own.
	librarian := c.as(NewKey(t, c.store, litengine.RoleLibrarian, 0))
	send(librarian, "retry-1", other).must(t, 201)
	// A failure is an answer too: replayed, even once the stock would allow it.
	empty := c.createBook("Empty", 0)
	conflict := fmt.Sprintf(`{"user_id":%d,"books":[%d]}`, user, empty.ID)
	first := send(c, "retry-2", conflict)
	wantProblem(t, first, 409)
	c.post("/api/inventory", fmt.Sprintf(`{"inventory":[{"bookid":%d,"totalqty":1}]}`, empty.ID)).must(t, 200)
	if again := send(c, "retry-2", conflict); again.status != 409 || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replayed failure: %d %s", again.status, again.body)
	}
	// A retried creation creates once and answers with the same Location.
	create := func() apiResponse {
		return c.do("POST", "/api/users", "application/json", `{"name":"Once"}`, "Idempotency-Key", "new-member-1")
	}
	first, again := create().must(t, 201), create().must(t, 201)
	if !bytes.Equal(first.body, again.body) || again.header.Get("Location") == "" || again.header.Get("Location") != first.header.Get("Location") ||
		again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retried creation: %s %v, then %s %v", first.body, first.header, again.body, again.header)
	}
	// Malformed keys are refused before anything runs.
	for _, key := range []string{strings.Repeat("k", 256), "with space", "tab\there"} {
		wantProblem(t, send(c, key, conflict), 400)
	}
}
