package sqlite_test

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
	"path/filepath"
	"strings"
	"testing"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/httpapi"
	"github.com/litengine/litengine/sqlite"
)

// The benchmarks compare each batch through the HTTP API (a real loopback
// server, the engine's full stack) with the same transaction written as raw
// SQL on the same database file: the ceiling the engine can approach.
//
//	go test -run '^$' -bench . -benchtime 3s ./sqlite

const benchBooks = 1000

// benchDB opens a store on a fresh file with benchBooks books of ample stock
// and one member, and a raw connection on the same file configured alike.
func benchDB(b *testing.B, sync string) (*sqlite.DB, *sql.DB, int64) {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "bench.db")
	store, err := sqlite.Open(ctx, path, sqlite.Options{Synchronous: sync})
	if err != nil {
		b.Fatal(err)
	}
	rows := make([]litengine.BookImport, benchBooks)
	changes := make([]litengine.StockChange, benchBooks)
	for i := range rows {
		rows[i] = litengine.BookImport{ID: int64(i + 1), Title: fmt.Sprintf("Book %d", i+1)}
		changes[i] = litengine.StockChange{BookID: int64(i + 1), TotalQty: 1_000_000_000}
	}
	if _, err := store.ImportBooks(ctx, rows); err != nil {
		b.Fatal(err)
	}
	if _, err := store.SetInventory(ctx, changes); err != nil {
		b.Fatal(err)
	}
	u, err := store.CreateUser(ctx, &litengine.UserCreate{Name: "Bench"})
	if err != nil {
		b.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous("+sync+")&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	b.Cleanup(func() { raw.Close(); store.Close() })
	return store, raw, u.ID
}

// benchServer serves the store's HTTP API on loopback.
func benchServer(b *testing.B, store litengine.Store) (string, *http.Client) {
	srv := httptest.NewServer(httpapi.NewServer(store, httpapi.Limits{}, slog.New(slog.NewTextHandler(io.Discard, nil))).Handler())
	b.Cleanup(srv.Close)
	return srv.URL, srv.Client()
}

func post(b *testing.B, c *http.Client, url, body string, want int) []byte {
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	return out
}

// fiveBooks returns the i-th batch of five distinct book ids.
func fiveBooks(i int) [5]int64 {
	var ids [5]int64
	for j := range ids {
		ids[j] = int64((i*5+j)%benchBooks + 1)
	}
	return ids
}

func BenchmarkBorrow5(b *testing.B) {
	for _, sync := range []string{"full", "normal"} {
		b.Run("sync="+sync+"/http", func(b *testing.B) {
			store, _, user := benchDB(b, sync)
			url, c := benchServer(b, store)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				ids := fiveBooks(i)
				post(b, c, url+"/api/borrow", fmt.Sprintf(`{"user_id":%d,"books":[%d,%d,%d,%d,%d]}`, user, ids[0], ids[1], ids[2], ids[3], ids[4]), 201)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
		})
		b.Run("sync="+sync+"/rawsql", func(b *testing.B) {
			_, raw, user := benchDB(b, sync)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				ids := fiveBooks(i)
				if err := rawBorrow(ctx, raw, user, ids); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
		})
	}
}

// rawBorrow is the borrow transaction by hand: check the member, take a copy
// of each book, insert the loans.
func rawBorrow(ctx context.Context, db *sql.DB, user int64, ids [5]int64) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, user).Scan(&one); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE books SET on_loan = on_loan + 1, updated_at = unixepoch()
		WHERE id IN (?, ?, ?, ?, ?) AND on_loan < totalqty`, ids[0], ids[1], ids[2], ids[3], ids[4])
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 5 {
		return fmt.Errorf("took %d copies", n)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO loans (id, book_id, user_id, borrowed_at, due_at) VALUES
		(lower(hex(randomblob(16))), ?, ?, unixepoch(), unixepoch() + 1209600),
		(lower(hex(randomblob(16))), ?, ?, unixepoch(), unixepoch() + 1209600),
		(lower(hex(randomblob(16))), ?, ?, unixepoch(), unixepoch() + 1209600),
		(lower(hex(randomblob(16))), ?, ?, unixepoch(), unixepoch() + 1209600),
		(lower(hex(randomblob(16))), ?, ?, unixepoch(), unixepoch() + 1209600)`,
		ids[0], user, ids[1], user, ids[2], user, ids[3], user, ids[4], user)
	if err != nil {
		return err
	}
	return tx.Commit()
}

func BenchmarkReturn5(b *testing.B) {
	// borrowAll makes the b.N batches of five loans to return, before timing.
	borrowAll := func(b *testing.B, store *sqlite.DB, user int64) [][]string {
		batches := make([][]string, b.N)
		for i := range batches {
			loans, err := store.Borrow(context.Background(), user, fiveIDs(i))
			if err != nil {
				b.Fatal(err)
			}
			for _, l := range loans {
				batches[i] = append(batches[i], l.ID)
			}
		}
		return batches
	}
	for _, sync := range []string{"full", "normal"} {
		b.Run("sync="+sync+"/http", func(b *testing.B) {
			store, _, user := benchDB(b, sync)
			url, c := benchServer(b, store)
			bodies := make([]string, b.N)
			for i, batch := range borrowAll(b, store, user) {
				ids, _ := json.Marshal(batch)
				bodies[i] = `{"transaction_ids":` + string(ids) + `}`
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				post(b, c, url+"/api/return", bodies[i], 200)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
		})
		b.Run("sync="+sync+"/rawsql", func(b *testing.B) {
			store, raw, user := benchDB(b, sync)
			ctx := context.Background()
			batches := borrowAll(b, store, user)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := rawReturn(ctx, raw, [5]string(batches[i])); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
		})
	}
}

func fiveIDs(i int) []int64 { ids := fiveBooks(i); return ids[:] }

// rawReturn is the return transaction by hand: close the loans, give the
// copies back.
func rawReturn(ctx context.Context, db *sql.DB, ids [5]string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE loans SET returned_at = unixepoch()
		WHERE id IN (?, ?, ?, ?, ?) AND returned_at IS NULL`, ids[0], ids[1], ids[2], ids[3], ids[4])
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 5 {
		return fmt.Errorf("closed %d loans", n)
	}
	_, err = tx.ExecContext(ctx, `UPDATE books SET on_loan = on_loan - r.n, updated_at = unixepoch()
		FROM (SELECT book_id, count(*) AS n FROM loans WHERE id IN (?, ?, ?, ?, ?) GROUP BY book_id) AS r
		WHERE books.id = r.book_id`, ids[0], ids[1], ids[2], ids[3], ids[4])
	if err != nil {
		return err
	}
	return tx.Commit()
}

func BenchmarkInventory10k(b *testing.B) {
	const n = 10000
	setup := func(b *testing.B) (*sqlite.DB, *sql.DB) {
		store, raw, _ := benchDB(b, "full")
		rows := make([]litengine.BookImport, n)
		for i := range rows {
			rows[i] = litengine.BookImport{ID: int64(i + 1), Title: fmt.Sprintf("Book %d", i+1)}
		}
		if _, err := store.ImportBooks(context.Background(), rows); err != nil {
			b.Fatal(err)
		}
		return store, raw
	}
	body := func(round int) string {
		var buf bytes.Buffer
		buf.WriteString(`{"inventory":[`)
		for i := range n {
			if i > 0 {
				buf.WriteByte(',')
			}
			fmt.Fprintf(&buf, `{"bookid":%d,"totalqty":%d}`, i+1, (i+round)%9+1)
		}
		buf.WriteString(`]}`)
		return buf.String()
	}
	b.Run("http", func(b *testing.B) {
		store, _ := setup(b)
		url, c := benchServer(b, store)
		bodies := []string{body(0), body(1)}
		for i := 0; b.Loop(); i++ {
			post(b, c, url+"/api/inventory", bodies[i%2], 200)
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/update")
	})
	b.Run("rawsql", func(b *testing.B) {
		_, raw := setup(b)
		ctx := context.Background()
		for i := 0; b.Loop(); i++ {
			pairs := make([][2]int, n)
			for j := range pairs {
				pairs[j] = [2]int{j + 1, (j+i)%9 + 1}
			}
			payload, _ := json.Marshal(pairs)
			tx, err := raw.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			_, err = tx.ExecContext(ctx, `UPDATE books SET totalqty = item.value ->> 1, updated_at = unixepoch()
				FROM json_each(?) AS item WHERE books.id = item.value ->> 0`, string(payload))
			if err != nil {
				b.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/update")
	})
}
