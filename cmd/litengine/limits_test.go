package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/litengine/litengine/internal/testredis"
)

// newKeyedDB makes a SQLite database with one admin key and returns both.
func newKeyedDB(t *testing.T, bin string) (db, key string) {
	t.Helper()
	db = filepath.Join(t.TempDir(), "limits.db")
	out, err := execOutput(bin, "keys", "create", "--db", db, "--role", "admin")
	if err != nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return db, lines[len(lines)-1]
}

func get(t *testing.T, url, key string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestSharedRateLimit runs two engines over one Redis and hammers both with
// one key: together they admit no more than one budget, the burst plus
// what the rate refills while the test runs.
func TestSharedRateLimit(t *testing.T) {
	url := testredis.URL(t)
	bin := buildBinary(t)
	db, key := newKeyedDB(t, bin)
	const rate, burst = 20, 10
	args := []string{"--db", db, "--redis", url, "--rate-admin", fmt.Sprintf("%d/s:%d", rate, burst)}
	engines := []*engine{startEngine(t, bin, args...), startEngine(t, bin, args...)}

	var admitted, limited, other atomic.Int64
	start := time.Now()
	deadline := start.Add(2 * time.Second)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				switch get(t, engines[i%2].url+"/api/books", key).StatusCode {
				case 200:
					admitted.Add(1)
				case 429:
					limited.Add(1)
				default:
					other.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	allowed := int64(burst + float64(rate)*elapsed.Seconds() + 1)
	t.Logf("two engines, %v: %d admitted, %d limited, at most %d allowed", elapsed.Round(time.Millisecond), admitted.Load(), limited.Load(), allowed)
	if admitted.Load() > allowed || admitted.Load() < burst || limited.Load() == 0 || other.Load() != 0 {
		t.Fatalf("admitted %d (want %d to %d), limited %d, other statuses %d", admitted.Load(), burst, allowed, limited.Load(), other.Load())
	}
}

// An unreachable Redis lets requests through by default (and says so in the
// log and a metric); with --redis-failure closed they get a 503.
func TestRedisUnreachable(t *testing.T) {
	bin := buildBinary(t)
	db, key := newKeyedDB(t, bin)
	open := startEngine(t, bin, "--db", db, "--redis", "redis://127.0.0.1:1/0")
	if resp := get(t, open.url+"/api/books", key); resp.StatusCode != 200 {
		t.Fatalf("fail-open engine: %d, want 200", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", open.url+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "litengine_ratelimit_errors_total 1") { // /api/books; /metrics is never limited
		t.Errorf("metrics do not count the failed decisions:\n%s", grepLines(string(body), "ratelimit"))
	}
	if !strings.Contains(open.log(), "rate limiter unreachable") {
		t.Errorf("no log line for the failed decision")
	}

	closed := startEngine(t, bin, "--db", db, "--redis", "redis://127.0.0.1:1/0", "--redis-failure", "closed")
	if resp := get(t, closed.url+"/api/books", key); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("fail-closed engine: %d %v, want 503 with Retry-After", resp.StatusCode, resp.Header)
	}
}

// A client that sends its headers slowly is cut off at --read-header-timeout,
// and oversized headers get a 431.
func TestSlowAndOversizedClients(t *testing.T) {
	bin := buildBinary(t)
	db, _ := newKeyedDB(t, bin)
	e := startEngine(t, bin, "--db", db, "--read-header-timeout", "1s")
	addr := strings.TrimPrefix(e.url, "http://")

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprint(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n") // and never the blank line
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = bufio.NewReader(conn).ReadString('\n')
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("slow headers: connection still open after %v (%v)", time.Since(start), err)
	}

	big := make([]byte, 48<<10)
	rand.Read(big)
	req, _ := http.NewRequest("GET", e.url+"/healthz", nil)
	req.Header.Set("X-Padding", hex.EncodeToString(big))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("96 KiB of headers: %d, want 431", resp.StatusCode)
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
