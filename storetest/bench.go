package storetest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/httpapi"
)

// RawSQL is one engine's batches written by hand on a plain SQL handle: the
// ceiling that the engine's HTTP API is measured against. Each store keeps its
// own SQL next to its benchmarks.
type RawSQL struct {
	Borrow    func(ctx context.Context, db *sql.DB, user int64, books []int64) error
	Return    func(ctx context.Context, db *sql.DB, transactionIDs []string) error
	Inventory func(ctx context.Context, db *sql.DB, changes []litengine.StockChange) error
}

// benchBooks is the catalogue size of the benchmarks: big enough that random
// batches rarely meet on a row.
const benchBooks = 10000

// Bench runs the batch benchmarks of one engine: each batch through the HTTP
// API (a real loopback server, the engine's full stack) beside the same
// transaction as raw SQL on the same database.
//
//	go test -run '^$' -bench . ./sqlite ./postgres
func Bench(b *testing.B, h Harness, raw RawSQL) {
	b.Run("Borrow5/http", func(b *testing.B) {
		e := newBenchEnv(b, h)
		for i := 0; b.Loop(); i++ {
			e.post(b, "/api/borrow", fmt.Sprintf(`{"user_id":%d,"books":%s}`, e.userFor(i), jsonIDs(batchOf(i, 5))), 201)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
	})
	b.Run("Borrow5/rawsql", func(b *testing.B) {
		e := newBenchEnv(b, h)
		for i := 0; b.Loop(); i++ {
			if err := raw.Borrow(context.Background(), e.db, e.userFor(i), batchOf(i, 5)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
	})
	// 32 concurrent borrowers (16 goroutines per CPU on this machine's 2),
	// at store level: the database side of the engine against raw SQL, without
	// HTTP and a load generator competing for the same CPUs.
	b.Run("Borrow5x32/store", func(b *testing.B) {
		e := newBenchEnv(b, h)
		var next atomic.Int64
		b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				j := int(next.Add(1))
				if _, err := e.store.Borrow(context.Background(), e.userFor(j), batchOf(j, 5)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
	})
	b.Run("Borrow5x32/rawsql", func(b *testing.B) {
		e := newBenchEnv(b, h)
		var next atomic.Int64
		b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				j := int(next.Add(1))
				if err := raw.Borrow(context.Background(), e.db, e.userFor(j), batchOf(j, 5)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
	})
	b.Run("Borrow1x5/http", func(b *testing.B) {
		// Five single-book borrows: the cost of not batching, to compare with Borrow5.
		e := newBenchEnv(b, h)
		for i := 0; b.Loop(); i++ {
			for _, id := range batchOf(i, 5) {
				e.post(b, "/api/borrow", fmt.Sprintf(`{"user_id":%d,"books":[%d]}`, e.userFor(i), id), 201)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches/s")
	})
	b.Run("Return5/http", func(b *testing.B) {
		e := newBenchEnv(b, h)
		batches := e.borrowAll(b, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			ids, _ := json.Marshal(batches[i])
			e.post(b, "/api/return", `{"transaction_ids":`+string(ids)+`}`, 200)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
	})
	b.Run("Return5/rawsql", func(b *testing.B) {
		e := newBenchEnv(b, h)
		batches := e.borrowAll(b, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := raw.Return(context.Background(), e.db, batches[i]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
	})
	b.Run("Inventory10k/http", func(b *testing.B) {
		e := newBenchEnv(b, h)
		bodies := []string{inventoryBody(0), inventoryBody(1)}
		for i := 0; b.Loop(); i++ {
			e.post(b, "/api/inventory", bodies[i%2], 200)
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/update")
	})
	b.Run("Inventory10k/rawsql", func(b *testing.B) {
		e := newBenchEnv(b, h)
		for i := 0; b.Loop(); i++ {
			if err := raw.Inventory(context.Background(), e.db, inventory(i)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/update")
	})
}

// benchEnv is a fresh store with benchBooks books of ample stock, members
// with no loan limit, and its HTTP API on loopback.
type benchEnv struct {
	store  litengine.Store
	db     *sql.DB
	users  []int64
	url    string
	client *http.Client
}

// benchUsers members take turns, ten batches each, like readers at a desk:
// no member holds more than a few dozen loans, and, 1,001 being prime to the
// catalogue's 2,000 batches, no member is lent the same book twice before
// millions of batches.
const benchUsers = 1001

// userFor is the member of the i-th batch.
func (e *benchEnv) userFor(i int) int64 {
	return e.users[(i/10)%len(e.users)]
}

func newBenchEnv(b *testing.B, h Harness) *benchEnv {
	b.Helper()
	ctx := context.Background()
	unlimited := litengine.DefaultPolicies()
	unlimited.Default.MaxActiveLoans = math.MaxInt32
	store, db := h.Open(b, Config{Policies: unlimited})
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
	users := make([]int64, benchUsers)
	for i := range users {
		u, err := store.CreateUser(ctx, &litengine.UserCreate{Name: fmt.Sprint("Bench ", i)})
		if err != nil {
			b.Fatal(err)
		}
		users[i] = u.ID
	}
	srv := httptest.NewServer(httpapi.NewServer(store, httpapi.Limits{}, slog.New(slog.NewTextHandler(io.Discard, nil))).Handler())
	b.Cleanup(srv.Close)
	client := &http.Client{Transport: BearerTransport{Token: NewKey(b, store, litengine.RoleAdmin, 0), Base: srv.Client().Transport}}
	return &benchEnv{store: store, db: db, users: users, url: srv.URL, client: client}
}

func (e *benchEnv) post(b *testing.B, path, body string, want int) {
	resp, err := e.client.Post(e.url+path, "application/json", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Fatalf("POST %s: %d %s", path, resp.StatusCode, out)
	}
}

// borrowAll makes n batches of five loans through the store, before timing.
func (e *benchEnv) borrowAll(b *testing.B, n int) [][]string {
	batches := make([][]string, n)
	for i := range batches {
		loans, err := e.store.Borrow(context.Background(), e.userFor(i), batchOf(i, 5))
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range loans {
			batches[i] = append(batches[i], l.ID)
		}
	}
	return batches
}

// batchOf returns the i-th batch of n distinct book ids.
func batchOf(i, n int) []int64 {
	ids := make([]int64, n)
	for j := range ids {
		ids[j] = int64((i*n+j)%benchBooks + 1)
	}
	return ids
}

func jsonIDs(ids []int64) string {
	b, _ := json.Marshal(ids)
	return string(b)
}

func inventory(round int) []litengine.StockChange {
	changes := make([]litengine.StockChange, benchBooks)
	for i := range changes {
		changes[i] = litengine.StockChange{BookID: int64(i + 1), TotalQty: int64((i+round)%9 + 1)}
	}
	return changes
}

func inventoryBody(round int) string {
	var buf bytes.Buffer
	buf.WriteString(`{"inventory":[`)
	for i, c := range inventory(round) {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"bookid":%d,"totalqty":%d}`, c.BookID, c.TotalQty)
	}
	buf.WriteString(`]}`)
	return buf.String()
}

// InTx runs fn in a transaction on db and commits when it succeeds: the frame
// of each raw-SQL batch.
func InTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
