// Package storetest is the conformance suite that every LitEngine store must
// pass, at store level (Run) and through the HTTP API (RunAPI), with the same
// expectations for every engine.
package storetest

import (
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/litengine/litengine"
)

// Config is what the suite asks of a fresh store.
type Config struct {
	Now      func() time.Time
	Policies *litengine.Policies // nil: litengine.DefaultPolicies()
}

// Harness opens fresh, migrated and empty stores of one engine.
type Harness struct {
	// Open returns a new empty store and a plain SQL handle on the same
	// database, used to check invariants and to prove that failed requests
	// changed nothing. Both are closed by the harness at test cleanup.
	Open func(t testing.TB, cfg Config) (litengine.Store, *sql.DB)
}

// Clock is a settable clock for tests.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Dump renders every row of every table in a fixed order, so that two dumps
// are equal exactly when the database did not change.
func Dump(t testing.TB, db *sql.DB) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT id, title, authors, isbn, published_year, totalqty, on_loan, created_at, updated_at FROM books ORDER BY id`,
		`SELECT id, name, email, category, suspended, created_at FROM users ORDER BY id`,
		`SELECT id, book_id, user_id, borrowed_at, due_at, returned_at, renewals FROM loans ORDER BY id`,
		`SELECT id, user_id, loan_id, book_id, amount, paid, currency, assessed_at, waived_at, waive_reason FROM fees ORDER BY id`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("dump: %v", err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("dump: %v", err)
			}
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%v|", v)
			}
			b.WriteByte('\n')
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("dump: %v", err)
		}
		rows.Close()
		b.WriteString("--\n")
	}
	return b.String()
}

// CheckStock fails the test unless every book's on_loan equals its number of
// active loans and never exceeds its totalqty.
func CheckStock(t testing.TB, db *sql.DB) {
	t.Helper()
	rows, err := db.Query(`
		SELECT b.id, b.totalqty, b.on_loan,
		       (SELECT count(*) FROM loans l WHERE l.book_id = b.id AND l.returned_at IS NULL)
		FROM books b ORDER BY b.id`)
	if err != nil {
		t.Fatalf("check stock: %v", err)
	}
	defer rows.Close()
	bad := 0
	for rows.Next() {
		var id, total, onLoan, active int64
		if err := rows.Scan(&id, &total, &onLoan, &active); err != nil {
			t.Fatalf("check stock: %v", err)
		}
		if onLoan != active || onLoan > total || onLoan < 0 {
			bad++
			if bad <= 10 {
				t.Errorf("book %d: totalqty %d, on_loan %d, active loans %d", id, total, onLoan, active)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("check stock: %v", err)
	}
	if bad > 0 {
		t.Fatalf("stock invariant broken for %d books", bad)
	}
}

// BearerTransport sends Token as the API key of every request.
type BearerTransport struct {
	Token string
	Base  http.RoundTripper // nil: http.DefaultTransport
}

// RoundTrip implements http.RoundTripper.
func (b BearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.Token)
	base := b.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}
