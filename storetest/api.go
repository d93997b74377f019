package storetest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/api"
	"github.com/litengine/litengine/auth"
	"github.com/litengine/litengine/httpapi"
)

// RunAPI runs the HTTP conformance suite: the real router and handlers over a
// fresh store from h, every response checked against the spec.
func RunAPI(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, c *apiClient)
	}{
		{"Tour", testAPITour},
		{"BadInput", testAPIBadInput},
		{"BatchProblems", testAPIBatchProblems},
		{"LargeInventory", testAPILargeInventory},
		{"Pagination", testAPIPagination},
		{"Meta", testAPIMeta},
		{"NotReadyWithoutDatabase", testAPINotReady},
		{"Roles", testAPIRoles},
		{"Keys", testAPIKeys},
		{"Idempotency", testAPIIdempotency},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newAPIClient(t, h, Config{Now: NewClock(epoch).Now}))
		})
	}
}

// newAPIClient serves a fresh store of h through the real HTTP stack, every
// response checked against the spec, and returns a client holding an admin key.
func newAPIClient(t *testing.T, h Harness, cfg Config) *apiClient {
	store, db := h.Open(t, cfg)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	metrics := httpapi.NewMetrics(prometheus.NewRegistry(), store)
	opts := []httpapi.Option{httpapi.WithMetrics(metrics)}
	if cfg.Policies != nil {
		opts = append(opts, httpapi.WithPolicies(cfg.Policies))
	}
	srv := httptest.NewServer(httpapi.NewServer(store, httpapi.Limits{}, log, opts...).Handler())
	t.Cleanup(srv.Close)
	return &apiClient{t: t, url: srv.URL, db: db, store: store, http: &http.Client{Transport: SpecTransport(t, nil)},
		token: NewKey(t, store, litengine.RoleAdmin, 0)}
}

// apiClient sends requests to the server under test.
type apiClient struct {
	t     *testing.T
	url   string
	db    *sql.DB
	store litengine.Store
	http  *http.Client
	token string // sent as the bearer API key, when set
}

// as returns a client that sends token as its API key ("" for none).
func (c *apiClient) as(token string) *apiClient {
	cc := *c
	cc.token = token
	return &cc
}

// NewKey creates an API key directly in the store and returns its token.
func NewKey(t testing.TB, store litengine.Store, role litengine.Role, userID int64) string {
	t.Helper()
	token, key, err := auth.NewKey(role, userID, string(role))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateKey(context.Background(), key); err != nil {
		t.Fatalf("create %s key: %v", role, err)
	}
	return token
}

type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

// decode unmarshals the body into a value of type T.
func decode[T any](t testing.TB, r apiResponse) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

// do sends a request with the client's key; header adds name, value pairs.
func (c *apiClient) do(method, path, contentType, body string, header ...string) apiResponse {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.send(req)
}

// send sends a prepared request; it may run on any goroutine.
func (c *apiClient) send(req *http.Request) apiResponse {
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Errorf("%s %s: %v", req.Method, req.URL.Path, err)
		return apiResponse{}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Error(err)
	}
	return apiResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

func (c *apiClient) get(path string) apiResponse { c.t.Helper(); return c.do("GET", path, "", "") }

func (c *apiClient) post(path, body string) apiResponse {
	c.t.Helper()
	return c.do("POST", path, "application/json", body)
}

// must fails unless the response has the wanted status.
func (r apiResponse) must(t testing.TB, status int) apiResponse {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

// problem is the wire form of an RFC 9457 problem.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	RequestID string `json:"request_id"`
	Errors    []struct {
		Code          string `json:"code"`
		Detail        string `json:"detail"`
		Pointer       string `json:"pointer"`
		BookID        int64  `json:"book_id"`
		TransactionID string `json:"transaction_id"`
	} `json:"errors"`
}

// wantProblem checks that r is a well-formed problem with the status and
// returns it.
func wantProblem(t testing.TB, r apiResponse, status int) problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	p := decode[problem](t, r)
	if p.Status != status || p.Type == "" || p.Title == "" || p.Detail == "" || p.RequestID == "" {
		t.Fatalf("incomplete problem: %s", r.body)
	}
	if p.RequestID != r.header.Get("X-Request-Id") {
		t.Fatalf("problem request_id %q differs from X-Request-Id %q", p.RequestID, r.header.Get("X-Request-Id"))
	}
	return p
}

type wireBook struct {
	ID        int64    `json:"id"`
	Title     string   `json:"title"`
	Authors   []string `json:"authors"`
	ISBN      string   `json:"isbn"`
	TotalQty  int64    `json:"totalqty"`
	OnLoan    int64    `json:"on_loan"`
	Available int64    `json:"available"`
}

type wireLoan struct {
	TransactionID string `json:"transaction_id"`
	BookID        int64  `json:"book_id"`
	UserID        int64  `json:"user_id"`
	BorrowedAt    string `json:"borrowed_at"`
	DueAt         string `json:"due_at"`
	ReturnedAt    string `json:"returned_at"`
}

func (c *apiClient) createBook(title string, qty int) wireBook {
	c.t.Helper()
	return decode[wireBook](c.t, c.post("/api/books", fmt.Sprintf(`{"title":%q,"totalqty":%d}`, title, qty)).must(c.t, 201))
}

func (c *apiClient) createUser(name string) int64 {
	c.t.Helper()
	u := decode[struct{ ID int64 }](c.t, c.post("/api/users", fmt.Sprintf(`{"name":%q}`, name)).must(c.t, 201))
	return u.ID
}

func (c *apiClient) book(id int64) wireBook {
	c.t.Helper()
	return decode[wireBook](c.t, c.get(fmt.Sprintf("/api/books/%d", id)).must(c.t, 200))
}

func testAPITour(t *testing.T, c *apiClient) {
	r := c.post("/api/books", `{"title":"The Hunger Games","authors":["Suzanne Collins"],"isbn":"0-439-02348-3","published_year":2008,"totalqty":2}`).must(t, 201)
	hunger := decode[wireBook](t, r)
	if r.header.Get("Location") != fmt.Sprintf("/api/books/%d", hunger.ID) || hunger.ISBN != "9780439023481" || hunger.Available != 2 {
		t.Fatalf("created %s, Location %q", r.body, r.header.Get("Location"))
	}
	odyssey := decode[wireBook](t, c.post("/api/books", `{"title":"The Odyssey","authors":["Homer"],"published_year":-720}`).must(t, 201))
	user := c.createUser("Ada")
	wantProblem(t, c.post("/api/books", `{"title":"Copy","isbn":"978-0-439-02348-1"}`), 409)

	inv := c.post("/api/inventory", fmt.Sprintf(`{"inventory":[{"bookid":%d,"totalqty":1}]}`, odyssey.ID)).must(t, 200)
	if want := fmt.Sprintf(`{"inventory":[{"bookid":%d,"totalqty":1,"on_loan":0,"available":1}]}`, odyssey.ID); string(inv.body) != want {
		t.Fatalf("inventory response %s, want %s", inv.body, want)
	}

	borrowed := decode[struct {
		UserID       int64      `json:"user_id"`
		Transactions []wireLoan `json:"transactions"`
	}](t, c.post("/api/borrow", fmt.Sprintf(`{"user_id":%d,"books":[%d,%d]}`, user, odyssey.ID, hunger.ID)).must(t, 201))
	if borrowed.UserID != user || len(borrowed.Transactions) != 2 || borrowed.Transactions[0].BookID != odyssey.ID ||
		borrowed.Transactions[0].BorrowedAt != "2026-03-01T09:30:00Z" || borrowed.Transactions[0].DueAt != "2026-03-15T23:59:59Z" {
		t.Fatalf("borrowed %+v", borrowed)
	}
	if b := c.book(odyssey.ID); b.OnLoan != 1 || b.Available != 0 {
		t.Fatalf("after borrow: %+v", b)
	}

	loans := decode[struct{ Items []wireLoan }](t, c.get(fmt.Sprintf("/api/users/%d/loans?status=active", user)).must(t, 200))
	if len(loans.Items) != 2 || loans.Items[0].TransactionID != borrowed.Transactions[0].TransactionID {
		t.Fatalf("active loans %+v", loans)
	}

	ret := decode[struct{ Returns []wireLoan }](t, c.post("/api/return",
		fmt.Sprintf(`{"transaction_ids":[%q]}`, borrowed.Transactions[1].TransactionID)).must(t, 200))
	if len(ret.Returns) != 1 || ret.Returns[0].BookID != hunger.ID || ret.Returns[0].UserID != user || ret.Returns[0].ReturnedAt != "2026-03-01T09:30:00Z" {
		t.Fatalf("returned %+v", ret)
	}
	loans = decode[struct{ Items []wireLoan }](t, c.get(fmt.Sprintf("/api/users/%d/loans?status=returned", user)).must(t, 200))
	if len(loans.Items) != 1 || loans.Items[0].TransactionID != borrowed.Transactions[1].TransactionID {
		t.Fatalf("returned loans %+v", loans)
	}
	found := decode[struct{ Items []wireBook }](t, c.get("/api/books?q=HUNGER%20games").must(t, 200))
	if len(found.Items) != 1 || found.Items[0].ID != hunger.ID {
		t.Fatalf("search: %+v", found)
	}
	found = decode[struct{ Items []wireBook }](t, c.get("/api/books?q=0-439-02348-3").must(t, 200))
	if len(found.Items) != 1 || found.Items[0].ID != hunger.ID {
		t.Fatalf("search by ISBN-10: %+v", found)
	}
	wantProblem(t, c.get("/api/users/9999"), 404)
	wantProblem(t, c.get("/api/books/9999"), 404)
	wantProblem(t, c.get("/api/users/9999/loans"), 404)
}

// testAPIBadInput sends every kind of bad request and checks that each gets
// a clean 4xx problem and that nothing changed in the database.
func testAPIBadInput(t *testing.T, c *apiClient) {
	book := c.createBook("Stocked", 5)
	user := c.createUser("Reader")
	loan := decode[struct{ Transactions []wireLoan }](t, c.post("/api/borrow", fmt.Sprintf(`{"user_id":%d,"books":[%d]}`, user, book.ID)).must(t, 201)).Transactions[0]
	db := c.db
	before := Dump(t, db)

	big := `{"inventory":[` + strings.Repeat(fmt.Sprintf(`{"bookid":%d,"totalqty":1},`, book.ID), 50000) + `{"bookid":1,"totalqty":1}]}`
	tooManyBooks := make([]string, 51)
	for i := range tooManyBooks {
		tooManyBooks[i] = fmt.Sprint(i + 1)
	}
	b, u := book.ID, user
	for _, tc := range []struct {
		name, method, path, ctype, body string
		status                          int
	}{
		{"malformed JSON", "POST", "/api/borrow", "application/json", `{"user_id":1,`, 400},
		{"not JSON", "POST", "/api/borrow", "application/json", `hello`, 400},
		{"empty body", "POST", "/api/borrow", "application/json", ``, 400},
		{"null body", "POST", "/api/borrow", "application/json", `null`, 400},
		{"array body", "POST", "/api/borrow", "application/json", `[1,2]`, 400},
		{"trailing garbage", "POST", "/api/borrow", "application/json", fmt.Sprintf(`{"user_id":%d,"books":[%d]} x`, u, b), 400},
		{"user_id as string", "POST", "/api/borrow", "application/json", fmt.Sprintf(`{"user_id":"%d","books":[%d]}`, u, b), 400},
		{"books not an array", "POST", "/api/borrow", "application/json", fmt.Sprintf(`{"user_id":%d,"books":%d}`, u, b), 400},
		{"unknown field", "POST", "/api/borrow", "application/json", fmt.Sprintf(`{"user_id":%d,"books":[%d],"extra":1}`, u, b), 400},
		{"missing books", "POST", "/api/borrow", "application/json", fmt.Sprintf(`{"user_id":%d}`, u), 400},
		{"empty books", "POST", "/api/borrow", "application/json", fmt.Sprintf(`{"user_id":%d,"books":[]}`, u), 400},
		{"book id zero", "POST", "/api/borrow", "application/json", fmt.Sprintf(`{"user_id":%d,"books":[%d,0]}`, u, b), 400},
		{"book id negative", "POST", "/api/borrow", "application/json", fmt.Sprintf(`{"user_id":%d,"books":[-%d]}`, u, b), 400},
		{"user id zero", "POST", "/api/borrow", "application/json", fmt.Sprintf(`{"user_id":0,"books":[%d]}`, b), 400},
		{"book id fraction", "POST", "/api/borrow", "application/json", fmt.Sprintf(`{"user_id":%d,"books":[%d.5]}`, u, b), 400},
		{"book id exponent", "POST", "/api/borrow", "application/json", fmt.Sprintf(`{"user_id":%d,"books":[1e0]}`, u), 400},
		{"book id string", "POST", "/api/borrow", "application/json", fmt.Sprintf(`{"user_id":%d,"books":["%d"]}`, u, b), 400},
		{"book id huge", "POST", "/api/borrow", "application/json", fmt.Sprintf(`{"user_id":%d,"books":[99999999999999999999999]}`, u), 400},
		{"duplicate key", "POST", "/api/borrow", "application/json", fmt.Sprintf(`{"user_id":%d,"user_id":9999,"books":[%d]}`, u, b), 400},
		{"invalid UTF-8", "POST", "/api/books", "application/json", "{\"title\":\"bad \xff\xfe\"}", 400},
		{"control character in title", "POST", "/api/books", "application/json", `{"title":"\u0000"}`, 400},
		{"deep nesting", "POST", "/api/borrow", "application/json", strings.Repeat("[", 10000) + strings.Repeat("]", 10000), 400},
		{"SQL-looking title is just text", "POST", "/api/users", "application/json", `{"name":"x'); DROP TABLE books; --","email":"nope"}`, 400},
		{"same book twice", "POST", "/api/borrow", "application/json", fmt.Sprintf(`{"user_id":%d,"books":[%d,%d]}`, u, b, b), 400},
		{"too many books", "POST", "/api/borrow", "application/json", fmt.Sprintf(`{"user_id":%d,"books":[%s]}`, u, strings.Join(tooManyBooks, ",")), 400},
		{"unknown user", "POST", "/api/borrow", "application/json", fmt.Sprintf(`{"user_id":9999,"books":[%d]}`, b), 404},
		{"wrong content type", "POST", "/api/borrow", "text/plain", fmt.Sprintf(`{"user_id":%d,"books":[%d]}`, u, b), 415},
		{"no content type is read as JSON", "POST", "/api/borrow", "", fmt.Sprintf(`{"user_id":9999,"books":[%d]}`, b), 404},
		{"empty transaction ids", "POST", "/api/return", "application/json", `{"transaction_ids":[]}`, 400},
		{"empty transaction id", "POST", "/api/return", "application/json", `{"transaction_ids":[""]}`, 400},
		{"numeric transaction id", "POST", "/api/return", "application/json", `{"transaction_ids":[1]}`, 400},
		{"repeated transaction id", "POST", "/api/return", "application/json", fmt.Sprintf(`{"transaction_ids":[%q,%q]}`, loan.TransactionID, loan.TransactionID), 400},
		{"NUL in a transaction id", "POST", "/api/return", "application/json", `{"transaction_ids":["a\u0000b"]}`, 400},
		{"NUL in a search", "GET", "/api/books?q=a%00b", "", "", 400},
		{"NUL in a cursor", "GET", fmt.Sprintf("/api/users/%d/loans?cursor=bDoAAA", u), "", "", 400},
		{"NUL in a fee id", "POST", "/api/fees/a%00b/waive", "application/json", `{"reason":"x"}`, 400},
		{"invalid UTF-8 in a fee id", "POST", "/api/fees/%FF/waive", "application/json", `{"reason":"x"}`, 400},
		{"NUL in a key id", "DELETE", "/api/keys/%00", "", "", 400},
		{"invalid UTF-8 in a key id", "DELETE", "/api/keys/%C3%28", "", "", 400},
		{"NUL in an audit filter", "GET", "/api/audit?transaction_id=%00", "", "", 400},
		{"invalid UTF-8 in an audit filter", "GET", "/api/audit?transaction_id=%FF", "", "", 400},
		{"NUL in a payment", "POST", "/api/fees/pay", "application/json", `{"payments":[{"fee_id":"a\u0000","amount":1}]}`, 400},
		{"zero payment", "POST", "/api/fees/pay", "application/json", `{"payments":[{"fee_id":"a","amount":0}]}`, 400},
		{"float payment", "POST", "/api/fees/pay", "application/json", `{"payments":[{"fee_id":"a","amount":1.5}]}`, 400},
		{"huge payment", "POST", "/api/fees/pay", "application/json", `{"payments":[{"fee_id":"a","amount":99999999999999999999}]}`, 400},
		{"suspended as a number", "PATCH", fmt.Sprintf("/api/users/%d", u), "application/json", `{"suspended":1}`, 400},
		{"category with capitals", "PATCH", fmt.Sprintf("/api/users/%d", u), "application/json", `{"category":"Adult"}`, 400},
		{"unknown member to update", "PATCH", "/api/users/999999", "application/json", `{"suspended":true}`, 404},
		{"empty waive reason", "POST", "/api/fees/a/waive", "application/json", `{"reason":""}`, 400},
		{"overdue status required", "GET", "/api/loans", "", "", 400},
		{"unknown audit type", "GET", "/api/audit?type=loan.stolen", "", "", 400},
		{"audit time not RFC 3339", "GET", "/api/audit?since=yesterday", "", "", 400},
		{"unknown transaction id", "POST", "/api/return", "application/json", `{"transaction_ids":["nope"]}`, 404},
		{"unknown field in return", "POST", "/api/return", "application/json", fmt.Sprintf(`{"transaction_ids":[%q],"book_ids":[1]}`, loan.TransactionID), 400},
		{"empty inventory", "POST", "/api/inventory", "application/json", `{"inventory":[]}`, 400},
		{"negative totalqty", "POST", "/api/inventory", "application/json", fmt.Sprintf(`{"inventory":[{"bookid":%d,"totalqty":-1}]}`, b), 400},
		{"fractional totalqty", "POST", "/api/inventory", "application/json", fmt.Sprintf(`{"inventory":[{"bookid":%d,"totalqty":2.5}]}`, b), 400},
		{"string totalqty", "POST", "/api/inventory", "application/json", fmt.Sprintf(`{"inventory":[{"bookid":%d,"totalqty":"2"}]}`, b), 400},
		{"missing totalqty", "POST", "/api/inventory", "application/json", fmt.Sprintf(`{"inventory":[{"bookid":%d}]}`, b), 400},
		{"bookid zero", "POST", "/api/inventory", "application/json", `{"inventory":[{"bookid":0,"totalqty":1}]}`, 400},
		{"unknown field in item", "POST", "/api/inventory", "application/json", fmt.Sprintf(`{"inventory":[{"bookid":%d,"totalqty":1,"qty":2}]}`, b), 400},
		{"same bookid twice", "POST", "/api/inventory", "application/json", fmt.Sprintf(`{"inventory":[{"bookid":%d,"totalqty":1},{"bookid":%d,"totalqty":2}]}`, b, b), 400},
		{"unknown bookid", "POST", "/api/inventory", "application/json", `{"inventory":[{"bookid":9999,"totalqty":1}]}`, 404},
		{"below on loan", "POST", "/api/inventory", "application/json", fmt.Sprintf(`{"inventory":[{"bookid":%d,"totalqty":0}]}`, b), 409},
		{"body over the cap", "POST", "/api/inventory", "application/json", big, 413},
		{"book without title", "POST", "/api/books", "application/json", `{"authors":["x"]}`, 400},
		{"book with blank title", "POST", "/api/books", "application/json", `{"title":"   "}`, 400},
		{"book with bad isbn", "POST", "/api/books", "application/json", `{"title":"x","isbn":"0439023484"}`, 400},
		{"book with negative stock", "POST", "/api/books", "application/json", `{"title":"x","totalqty":-1}`, 400},
		{"user with bad email", "POST", "/api/users", "application/json", `{"name":"x","email":"nope"}`, 400},
		{"user without name", "POST", "/api/users", "application/json", `{"email":"a@b.org"}`, 400},
		{"path id not a number", "GET", "/api/books/abc", "", "", 400},
		{"path id zero", "GET", "/api/books/0", "", "", 400},
		{"limit too large", "GET", "/api/books?limit=1000", "", "", 400},
		{"bad cursor", "GET", "/api/books?cursor=zzz", "", "", 400},
		{"bad loan status", "GET", fmt.Sprintf("/api/users/%d/loans?status=lost", u), "", "", 400},
		{"wrong method", "DELETE", "/api/borrow", "", "", 405},
		{"unknown path", "GET", "/api/nothing", "", "", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, c.do(tc.method, tc.path, tc.ctype, tc.body), tc.status)
			if after := Dump(t, db); after != before {
				t.Fatalf("the request changed the database")
			}
		})
	}
}

func testAPIBatchProblems(t *testing.T, c *apiClient) {
	user := c.createUser("Reader")
	a, none := c.createBook("A", 1), c.createBook("None", 0)
	before := Dump(t, c.db)
	p := wantProblem(t, c.post("/api/borrow", fmt.Sprintf(`{"user_id":%d,"books":[%d,%d,424242]}`, user, a.ID, none.ID)), 404)
	if len(p.Errors) != 2 || p.Errors[0].Code != "unavailable" || p.Errors[0].BookID != none.ID || p.Errors[0].Pointer != "/books/1" ||
		p.Errors[1].Code != "not_found" || p.Errors[1].BookID != 424242 || p.Errors[1].Pointer != "/books/2" {
		t.Fatalf("problem %+v", p)
	}
	p = wantProblem(t, c.post("/api/borrow", fmt.Sprintf(`{"user_id":%d,"books":[%d,%d]}`, user, a.ID, none.ID)), 409)
	if len(p.Errors) != 1 || p.Errors[0].Code != "unavailable" || p.Errors[0].BookID != none.ID {
		t.Fatalf("problem %+v", p)
	}
	p = wantProblem(t, c.post("/api/borrow", fmt.Sprintf(`{"user_id":%d,"books":[%d,0,-3]}`, user, a.ID)), 400)
	if len(p.Errors) != 2 || p.Errors[0].Pointer != "/books/1" || p.Errors[1].Pointer != "/books/2" || p.Errors[1].Code != "invalid" {
		t.Fatalf("schema problem %+v", p)
	}
	p = wantProblem(t, c.post("/api/inventory", `{"inventory":[{"bookid":1,"totalqty":-1},{"bookid":0,"totalqty":2}]}`), 400)
	if len(p.Errors) != 2 || p.Errors[0].Pointer != "/inventory/0/totalqty" || p.Errors[1].Pointer != "/inventory/1/bookid" {
		t.Fatalf("schema problem %+v", p)
	}
	p = wantProblem(t, c.post("/api/return", `{"transaction_ids":["x","y"]}`), 404)
	if len(p.Errors) != 2 || p.Errors[1].TransactionID != "y" || p.Errors[1].Code != "not_found" {
		t.Fatalf("problem %+v", p)
	}
	if after := Dump(t, c.db); after != before {
		t.Fatal("failed batches changed the database")
	}
}

func testAPILargeInventory(t *testing.T, c *apiClient) {
	const n = 10000
	rows := make([]litengine.BookImport, n)
	for i := range rows {
		rows[i] = litengine.BookImport{ID: int64(i + 1), Title: fmt.Sprintf("Book %d", i+1)}
	}
	if _, err := c.store.ImportBooks(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	inventory := func(items int, unknown int64) string {
		var b bytes.Buffer
		b.WriteString(`{"inventory":[`)
		for i := range items {
			if i > 0 {
				b.WriteByte(',')
			}
			id := int64(i%n + 1)
			if i == items-1 && unknown != 0 {
				id = unknown
			}
			fmt.Fprintf(&b, `{"bookid":%d,"totalqty":%d}`, id, i%7)
		}
		b.WriteString(`]}`)
		return b.String()
	}
	before := Dump(t, c.db)
	p := wantProblem(t, c.post("/api/inventory", inventory(n, 20000)), 404)
	if len(p.Errors) != 1 || p.Errors[0].BookID != 20000 || p.Errors[0].Pointer != fmt.Sprintf("/inventory/%d", n-1) {
		t.Fatalf("problem %+v", p.Errors)
	}
	wantProblem(t, c.post("/api/inventory", inventory(n+1, 0)), 400)
	if after := Dump(t, c.db); after != before {
		t.Fatal("a failed inventory update changed the database")
	}

	inv := decode[struct {
		Inventory []struct{ Bookid, Totalqty, Available int64 }
	}](t, c.post("/api/inventory", inventory(n, 0)).must(t, 200))
	if len(inv.Inventory) != n {
		t.Fatalf("%d items in the response, want %d", len(inv.Inventory), n)
	}
	for i, it := range inv.Inventory {
		if it.Bookid != int64(i+1) || it.Totalqty != int64(i%7) || it.Available != int64(i%7) {
			t.Fatalf("item %d: %+v", i, it)
		}
	}
	if b := c.book(n); b.TotalQty != int64((n-1)%7) {
		t.Fatalf("book %d: %+v", n, b)
	}
}

func testAPIPagination(t *testing.T, c *apiClient) {
	var want []int64
	for i := range 9 { // three full pages: the last must have no next_cursor
		want = append(want, c.createBook(fmt.Sprintf("Paged %d", i), 0).ID)
	}
	var got []int64
	path := "/api/books?q=paged&limit=3"
	for pages := 0; ; pages++ {
		if pages >= 3 {
			t.Fatal("a page after the last full one")
		}
		page := decode[struct {
			Items      []wireBook `json:"items"`
			NextCursor string     `json:"next_cursor"`
		}](t, c.get(path).must(t, 200))
		for _, b := range page.Items {
			got = append(got, b.ID)
		}
		if page.NextCursor == "" {
			break
		}
		path = "/api/books?q=paged&limit=3&cursor=" + page.NextCursor
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paged %v, want %v", got, want)
	}
}

func testAPIMeta(t *testing.T, c *apiClient) {
	r := c.get("/healthz").must(t, 200)
	if string(r.body) != `{"status":"ok"}` {
		t.Fatalf("healthz %s", r.body)
	}
	if r := c.do("HEAD", "/healthz", "", ""); r.status != 200 || len(r.body) != 0 {
		t.Fatalf("HEAD /healthz: %d %q", r.status, r.body)
	}
	r = c.get("/api/openapi.yaml").must(t, 200)
	if !bytes.Equal(r.body, api.OpenAPI) {
		t.Fatal("GET /api/openapi.yaml does not serve the spec")
	}
	if r := c.do("GET", "/healthz", "", ""); r.header.Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id")
	}
	if r := c.get("/readyz").must(t, 200); string(r.body) != `{"status":"ok"}` {
		t.Fatalf("readyz %s", r.body)
	}
	c.post("/api/borrow", `{"user_id":1,"books":[1,1]}`)
	metrics := string(c.get("/metrics").must(t, 200).body)
	for _, want := range []string{
		`litengine_http_requests_total{method="GET",route="getReady",status="200"} 1`,
		`litengine_http_requests_total{method="POST",route="borrow",status="400"} 1`,
		`litengine_errors_total{code="invalid"} 1`,
		`litengine_batch_items_count{operation="borrow"} 1`,
		`litengine_http_request_duration_seconds_bucket{route="getHealth"`,
		`litengine_db_pool_open_connections`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// testAPINotReady closes the database under a running server: the liveness
// probe stays up and readiness answers 503 with Retry-After.
func testAPINotReady(t *testing.T, c *apiClient) {
	if err := c.store.Close(); err != nil {
		t.Fatal(err)
	}
	c.get("/healthz").must(t, 200)
	r := c.get("/readyz")
	wantProblem(t, r, 503)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
}
