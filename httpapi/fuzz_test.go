package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/httpapi"
	"github.com/litengine/litengine/sqlite"
	"github.com/litengine/litengine/storetest"
)

// FuzzRequest sends arbitrary bodies to every POST endpoint over a real
// store: whatever the bytes, the answer is never a 5xx, every error is a
// problem, and the stock invariant holds. The seeds in testdata/fuzz run as
// an ordinary test; go test -fuzz=FuzzRequest ./httpapi explores further.
func FuzzRequest(f *testing.F) {
	for _, seed := range []string{
		`{"user_id":1,"books":[1,2]}`,
		`{"user_id":1,"books":[1,1]}`,
		`{"transaction_ids":["x"]}`,
		`{"inventory":[{"bookid":1,"totalqty":3}]}`,
		`{"title":"T","authors":["A"],"isbn":"0439023483","published_year":-720,"totalqty":2}`,
		`{"name":"N","email":"n@example.org"}`,
		`{"user_id":1,"user_id":2,"books":[1]}`,
		"{\"title\":\"\xff\"}",
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		`{"inventory":[{"bookid":1e3,"totalqty":-0}]}`,
		`{"payments":[{"fee_id":"x","amount":1}]}`,
		`{"role":"member","user_id":1,"name":"n"}`,
	} {
		for path := range 8 {
			f.Add(uint8(path), []byte(seed))
		}
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"), sqlite.Options{Synchronous: "normal"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	if _, err := store.CreateBook(ctx, &litengine.BookCreate{Title: "One", TotalQty: 2}); err != nil {
		f.Fatal(err)
	}
	if _, err := store.CreateUser(ctx, &litengine.UserCreate{Name: "Reader"}); err != nil {
		f.Fatal(err)
	}
	handler := httpapi.NewServer(store, httpapi.Limits{}, slog.New(slog.NewTextHandler(io.Discard, nil))).Handler()
	admin := storetest.NewKey(f, store, litengine.RoleAdmin, 0)
	paths := []string{"/api/borrow", "/api/return", "/api/inventory", "/api/books", "/api/users", "/api/renew", "/api/fees/pay", "/api/keys"}

	f.Fuzz(func(t *testing.T, path uint8, body []byte) {
		req := httptest.NewRequest(http.MethodPost, paths[int(path)%len(paths)], strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+admin)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: status %d: %s", req.URL.Path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s %q: error %d is not a problem: %s", req.URL.Path, body, rec.Code, rec.Body)
		}
		b, err := store.FindBookByID(ctx, 1)
		if err != nil || b.OnLoan < 0 || b.OnLoan > b.TotalQty {
			t.Fatalf("after %s %q: book 1 is %+v, %v", req.URL.Path, body, b, err)
		}
	})
}
