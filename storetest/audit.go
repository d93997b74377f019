package storetest

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// WireEvent is an audit event as the API sends it.
type WireEvent struct {
	Seq           int64          `json:"seq"`
	At            string         `json:"at"`
	Type          string         `json:"type"`
	Actor         string         `json:"actor"`
	BookID        int64          `json:"book_id"`
	UserID        int64          `json:"user_id"`
	TransactionID string         `json:"transaction_id"`
	FeeID         string         `json:"fee_id"`
	Data          map[string]any `json:"data"`
}

// FetchEvents pages through GET /api/audit with query q and returns every
// event, checking that seq only grows.
func FetchEvents(t testing.TB, client *http.Client, base string, q url.Values, pageSize int) []WireEvent {
	t.Helper()
	var all []WireEvent
	q = maps.Clone(q)
	if q == nil {
		q = url.Values{}
	}
	q.Set("limit", fmt.Sprint(pageSize))
	for {
		resp, err := client.Get(base + "/api/audit?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /api/audit?%s: %d %s", q.Encode(), resp.StatusCode, body)
		}
		var page struct {
			Items      []WireEvent `json:"items"`
			NextCursor string      `json:"next_cursor"`
		}
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		if err := d.Decode(&page); err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Items {
			if len(all) > 0 && e.Seq <= all[len(all)-1].Seq {
				t.Fatalf("event %d after %d: not in commit order", e.Seq, all[len(all)-1].Seq)
			}
			all = append(all, e)
		}
		if page.NextCursor == "" {
			return all
		}
		q.Set("cursor", page.NextCursor)
	}
}

type replayLoan struct {
	book, user    int64
	due, returned string
}

// CheckReplay replays every audit event from the start and fails unless the
// result is exactly the database's stock (totalqty and on_loan of every
// book) and loans (book, member, due date and return of every loan).
func CheckReplay(t testing.TB, client *http.Client, base string, db *sql.DB) {
	t.Helper()
	events := FetchEvents(t, client, base, nil, 1000)
	type stock struct{ total, onLoan int64 }
	books := map[int64]*stock{}
	loans := map[string]*replayLoan{}
	num := func(e WireEvent, key string) int64 {
		n, err := e.Data[key].(json.Number).Int64()
		if err != nil {
			t.Fatalf("event %d: %s is %v", e.Seq, key, e.Data[key])
		}
		return n
	}
	str := func(e WireEvent, key string) string {
		s, ok := e.Data[key].(string)
		if !ok {
			t.Fatalf("event %d: %s is %v", e.Seq, key, e.Data[key])
		}
		return s
	}
	for _, e := range events {
		switch e.Type {
		case "book.created":
			books[e.BookID] = &stock{total: num(e, "totalqty")}
		case "stock.changed":
			if books[e.BookID].total != num(e, "before") {
				t.Fatalf("event %d: stock of book %d before is %d, the replay has %d", e.Seq, e.BookID, num(e, "before"), books[e.BookID].total)
			}
			books[e.BookID].total = num(e, "after")
		case "loan.borrowed":
			books[e.BookID].onLoan++
			loans[e.TransactionID] = &replayLoan{book: e.BookID, user: e.UserID, due: str(e, "due_at")}
		case "loan.renewed":
			loans[e.TransactionID].due = str(e, "due_at")
		case "loan.returned":
			books[e.BookID].onLoan--
			loans[e.TransactionID].returned = str(e, "returned_at")
		}
	}
	rows, err := db.Query(`SELECT id, totalqty, on_loan FROM books`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var id, total, onLoan int64
		if err := rows.Scan(&id, &total, &onLoan); err != nil {
			t.Fatal(err)
		}
		n++
		if b := books[id]; b == nil || b.total != total || b.onLoan != onLoan {
			t.Errorf("book %d: database totalqty %d on_loan %d, replay %+v", id, total, onLoan, b)
		}
	}
	rows.Close()
	if n != len(books) {
		t.Errorf("%d books in the database, %d in the replay", n, len(books))
	}
	rows, err = db.Query(`SELECT id, book_id, user_id, due_at, returned_at FROM loans`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n = 0
	for rows.Next() {
		var (
			id            string
			book, user    int64
			due, returned any
		)
		if err := rows.Scan(&id, &book, &user, &due, &returned); err != nil {
			t.Fatal(err)
		}
		n++
		want := replayLoan{book: book, user: user, due: rfc3339(due), returned: rfc3339(returned)}
		if got := loans[id]; got == nil || *got != want {
			t.Errorf("loan %s: database %+v, replay %+v", id, want, got)
		}
	}
	if n != len(loans) {
		t.Errorf("%d loans in the database, %d in the replay", n, len(loans))
	}
	t.Logf("replayed %d events: %d books and %d loans match the database", len(events), len(books), len(loans))
}

// rfc3339 renders a stored time (unix seconds in SQLite, a time in
// PostgreSQL) as the API does; "" for NULL.
func rfc3339(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case int64:
		return time.Unix(t, 0).UTC().Format(time.RFC3339)
	case time.Time:
		return t.UTC().Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}
