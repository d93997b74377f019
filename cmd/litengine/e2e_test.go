package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/litengine/litengine/internal/dataset"
	"github.com/litengine/litengine/storetest"
)

var build struct {
	once sync.Once
	bin  string
	err  error
}

// buildBinary compiles the real litengine command once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "litengine-e2e")
		if err != nil {
			build.err = err
			return
		}
		build.bin = filepath.Join(dir, "litengine")
		if out, err := exec.Command("go", "build", "-o", build.bin, ".").CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.bin != "" {
		os.RemoveAll(filepath.Dir(build.bin))
	}
	os.Exit(code)
}

// execOutput runs the binary and returns what it printed.
func execOutput(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

// engine is a running litengine serve process.
type engine struct {
	url  string
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs bytes.Buffer
}

// log returns what the engine has logged so far.
func (e *engine) log() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.logs.String()
}

// startEngine runs "litengine serve" on a free port and waits until it listens.
func startEngine(t *testing.T, bin string, args ...string) *engine {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--admin-key-file", ""}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e := &engine{cmd: cmd}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
			}
			e.mu.Lock()
			e.logs.Write(sc.Bytes())
			e.logs.WriteByte('\n')
			e.mu.Unlock()
		}
	}()
	select {
	case a := <-addr:
		e.url = "http://" + a
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("engine did not start: %s", stderr.String())
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("engine exited with %v: %s", err, stderr.String())
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Error("engine did not stop on SIGINT")
		}
	})
	return e
}

// client sends JSON to the engine and checks every response against the spec.
type client struct {
	t    *testing.T
	url  string
	http *http.Client
}

func (c *client) call(method, path string, body any, out any) int {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Errorf("%s %s: %v", method, path, err)
		return 0
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Errorf("%s %s: %v", method, path, err)
		return 0
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Errorf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	if resp.StatusCode >= 500 {
		c.t.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode
}

// stockRule turns a goodbooks row into a stock level, deterministically: the
// more ratings a book has, the more copies a library would hold.
func stockRule(ratings int) int64 {
	switch {
	case ratings >= 1_000_000:
		return 8
	case ratings >= 200_000:
		return 4
	case ratings >= 50_000:
		return 2
	default:
		return 1
	}
}

type borrowed struct {
	UserID       int64 `json:"user_id"`
	Transactions []struct {
		TransactionID string `json:"transaction_id"`
		BookID        int64  `json:"book_id"`
	} `json:"transactions"`
}

// TestRealCatalogue is the end-to-end acceptance run: import the real
// catalogue with the real binary, stock every book in one request, let 32
// clients fight over a few hot books until their stock runs out, return half
// of the loans, then check the stock of every book against the loans.
func TestRealCatalogue(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run skipped in -short mode")
	}
	csvPath := dataset.Path(t, dataset.Goodbooks)
	bin := buildBinary(t)
	dbPath := filepath.Join(t.TempDir(), "e2e.db")

	for run, want := range []string{"10000 created", "10000 unchanged"} {
		out, err := exec.Command(bin, "import", "--db", dbPath, csvPath).CombinedOutput()
		if err != nil || !strings.Contains(string(out), want) {
			t.Fatalf("import run %d: %v\n%s", run+1, err, out)
		}
	}

	// The stock rule reads ratings_count from the same file.
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	stock := map[int64]int64{}
	var inventory []map[string]int64
	for _, r := range rows[1:] {
		id, _ := strconv.ParseInt(r[col["book_id"]], 10, 64)
		ratings, _ := strconv.Atoi(r[col["ratings_count"]])
		stock[id] = stockRule(ratings)
		inventory = append(inventory, map[string]int64{"bookid": id, "totalqty": stock[id]})
	}
	if len(inventory) != 10000 {
		t.Fatalf("%d catalogue rows, want 10000", len(inventory))
	}

	// The first start of an engine on a database without keys writes an
	// admin key to --admin-key-file. Rate limits are off: this run measures
	// correctness under contention, not the limits.
	keyFile := filepath.Join(t.TempDir(), "admin.key")
	e := startEngine(t, bin, "--db", dbPath, "--admin-key-file", keyFile, "--rate-limit=false")
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatalf("the engine wrote no admin key: %v", err)
	}
	transport := storetest.BearerTransport{Token: strings.TrimSpace(string(key)), Base: &http.Transport{MaxIdleConnsPerHost: 64}}
	c := &client{t: t, url: e.url, http: &http.Client{Transport: storetest.SpecTransport(t, transport), Timeout: time.Minute}}

	var invResp struct {
		Inventory []struct{ Bookid, Totalqty, Available int64 }
	}
	if s := c.call("POST", "/api/inventory", map[string]any{"inventory": inventory}, &invResp); s != 200 || len(invResp.Inventory) != 10000 {
		t.Fatalf("inventory of 10,000 books in one request: status %d, %d items", s, len(invResp.Inventory))
	}

	const nUsers = 1000
	users := make([]int64, nUsers)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < nUsers; i += 8 {
				var u struct{ ID int64 }
				if s := c.call("POST", "/api/users", map[string]string{"name": fmt.Sprintf("Member %d", i)}, &u); s != 201 {
					t.Errorf("create user %d: status %d", i, s)
				}
				users[i] = u.ID
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// Hot books: the eight most-rated titles, ids 1..8 in this file.
	hot := []int64{1, 2, 3, 4, 5, 6, 7, 8}
	var hotStock int64
	for _, id := range hot {
		hotStock += stock[id]
	}

	var (
		mu        sync.Mutex
		loans     = map[string]int64{} // transaction id -> book id, from successful responses
		perBook   = map[int64]int64{}
		conflicts atomic.Int64
	)
	record := func(b borrowed, want []int64) {
		got := make([]int64, len(b.Transactions))
		for i, tx := range b.Transactions {
			got[i] = tx.BookID
		}
		if !slices.Equal(got, want) {
			t.Errorf("borrow of %v answered loans for %v", want, got)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, tx := range b.Transactions {
			loans[tx.TransactionID] = tx.BookID
			perBook[tx.BookID]++
		}
	}
	borrow := func(rng *rand.Rand, books []int64) int {
		var b borrowed
		s := c.call("POST", "/api/borrow", map[string]any{"user_id": users[rng.IntN(nUsers)], "books": books}, &b)
		switch s {
		case 201:
			record(b, books)
		case 409:
			conflicts.Add(1)
		default:
			t.Errorf("borrow %v: status %d", books, s)
		}
		return s
	}

	// Phase 1: 32 clients borrow random batches of 1-3 hot books.
	deadline := time.Now().Add(60 * time.Second)
	for w := range 32 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for misses := 0; misses < 40 && time.Now().Before(deadline); {
				perm := rng.Perm(len(hot))[:1+rng.IntN(3)]
				batch := make([]int64, len(perm))
				for i, p := range perm {
					batch[i] = hot[p]
				}
				if borrow(rng, batch) == 201 {
					misses = 0
				} else {
					misses++
				}
			}
		})
	}
	wg.Wait()
	// Phase 2: the same clients drain what multi-book batches left, one book at a time.
	for w := range 32 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for _, id := range hot {
				for borrow(rng, []int64{id}) == 201 {
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, id := range hot {
		if perBook[id] != stock[id] {
			t.Errorf("book %d: %d successful loans, stock %d", id, perBook[id], stock[id])
		}
	}
	if int64(len(loans)) != hotStock {
		t.Fatalf("%d loans in successful responses, want exactly the %d hot copies", len(loans), hotStock)
	}
	t.Logf("%d loans made, %d borrow requests refused with 409", len(loans), conflicts.Load())

	// Return half of the loans by transaction id, in batches, concurrently.
	ids := make([]string, 0, len(loans))
	for id := range loans {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	returned := map[string]bool{}
	var batches [][]string
	for i := 0; i < len(ids); i += 2 {
		returned[ids[i]] = true
		if n := len(batches); n == 0 || len(batches[n-1]) == 5 {
			batches = append(batches, nil)
		}
		batches[len(batches)-1] = append(batches[len(batches)-1], ids[i])
	}
	for _, b := range batches {
		wg.Go(func() {
			var r struct {
				Returns []struct{ TransactionID string }
			}
			if s := c.call("POST", "/api/return", map[string]any{"transaction_ids": b}, &r); s != 200 || len(r.Returns) != len(b) {
				t.Errorf("return %v: status %d", b, s)
			}
		})
	}
	wg.Wait()

	// Every book, as the API reports it, against the loans we were given.
	active := map[int64]int64{}
	for id, book := range loans {
		if !returned[id] {
			active[book]++
		}
	}
	seen := 0
	for path := "/api/books?limit=100"; path != ""; {
		var page struct {
			Items []struct {
				ID        int64 `json:"id"`
				Totalqty  int64 `json:"totalqty"`
				OnLoan    int64 `json:"on_loan"`
				Available int64 `json:"available"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		if s := c.call("GET", path, nil, &page); s != 200 {
			t.Fatalf("list books: %d", s)
		}
		for _, b := range page.Items {
			seen++
			if b.Totalqty != stock[b.ID] || b.OnLoan != active[b.ID] || b.Available != b.Totalqty-active[b.ID] {
				t.Errorf("book %d: totalqty %d on_loan %d available %d; want %d, %d, %d",
					b.ID, b.Totalqty, b.OnLoan, b.Available, stock[b.ID], active[b.ID], stock[b.ID]-active[b.ID])
			}
		}
		path = ""
		if page.NextCursor != "" {
			path = "/api/books?limit=100&cursor=" + page.NextCursor
		}
	}
	if seen != 10000 {
		t.Fatalf("listed %d books, want 10000", seen)
	}

	// And the database itself: exactly the loans that were answered, no trace
	// of any refused batch, and the stored counters equal to the active loans.
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored, open int64
	if err := db.QueryRowContext(context.Background(),
		`SELECT count(*), count(*) FILTER (WHERE returned_at IS NULL) FROM loans`).Scan(&stored, &open); err != nil {
		t.Fatal(err)
	}
	if stored != int64(len(loans)) || open != int64(len(loans)-len(returned)) {
		t.Fatalf("database holds %d loans (%d open); responses gave %d (%d open)", stored, open, len(loans), len(loans)-len(returned))
	}
	storetest.CheckStock(t, db)

	// The audit trail, replayed from the import on, rebuilds that database.
	storetest.CheckReplay(t, &http.Client{Transport: transport, Timeout: time.Minute}, e.url, db)
}
