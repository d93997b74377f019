package ratelimit

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/litengine/litengine/internal/testredis"
)

// testRedis returns a client for the tests' Redis (see testredis.URL).
func testRedis(tb testing.TB) *redis.Client {
	tb.Helper()
	opt, err := redis.ParseURL(testredis.URL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	client := redis.NewClient(opt)
	tb.Cleanup(func() { client.Close() })
	return client
}

// testPrefix returns a key prefix no other test run uses, and deletes the
// keys under it when the test ends.
func testPrefix(tb testing.TB, client *redis.Client) string {
	tb.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "litengine:rl:test:" + hex.EncodeToString(b) + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, "*"+prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("cleaning up %s: %v", prefix, err)
		}
	})
	return prefix
}

// within reports whether got is in (want-slack, want].
func within(got, want, slack time.Duration) bool {
	return got <= want && got > want-slack
}

func TestRedisGCRA(t *testing.T) {
	client := testRedis(t)
	prefix := testPrefix(t, client)
	r := NewRedis(client, RedisOptions{Prefix: prefix, Timeout: time.Second})
	ctx := context.Background()
	const slack = 200 * time.Millisecond // real time passes between calls

	// member: one unit back per second, burst 5.
	for i := range 5 {
		d, err := r.Allow(ctx, "a", member, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed || d.Remaining != 4-i || d.Limit != 5 || d.RetryAfter != 0 ||
			!within(d.ResetAfter, time.Duration(i+1)*time.Second, slack) {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	d, err := r.Allow(ctx, "a", member, 1)
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed || d.Remaining != 0 || !within(d.RetryAfter, time.Second, slack) || !within(d.ResetAfter, 5*time.Second, slack) {
		t.Fatalf("after the burst: %+v", d)
	}

	// The key expires once its bucket is full again.
	ttl, err := client.TTL(ctx, "rate:"+prefix+"member:a").Result()
	if err != nil || ttl <= 0 || ttl > 5*time.Second {
		t.Errorf("TTL %v, %v; want (0, 5s]", ttl, err)
	}

	// Other keys are untouched.
	if d, _ := r.Allow(ctx, "b", member, 1); !d.Allowed || d.Remaining != 4 {
		t.Errorf("key b: %+v", d)
	}

	// Cost above one, and a denied batch leaves what remains.
	if d, _ := r.Allow(ctx, "c", member, 3); !d.Allowed || d.Remaining != 2 {
		t.Errorf("batch of 3: %+v", d)
	}
	d, _ = r.Allow(ctx, "c", member, 3)
	if d.Allowed || d.Remaining != 2 || !within(d.RetryAfter, time.Second, slack) {
		t.Errorf("second batch of 3: %+v", d)
	}

	// A cost above the burst is clamped to the burst.
	if d, _ := r.Allow(ctx, "d", member, 100); !d.Allowed || d.Remaining != 0 || !within(d.ResetAfter, 5*time.Second, slack) {
		t.Errorf("cost 100: %+v", d)
	}
	if d, _ := r.Allow(ctx, "d", member, 100); d.Allowed || !within(d.RetryAfter, 5*time.Second, slack) {
		t.Errorf("cost 100 again: %+v", d)
	}

	// Cost 0 looks without spending.
	if d, _ := r.Allow(ctx, "c", member, 0); !d.Allowed || d.Remaining != 2 {
		t.Errorf("cost 0: %+v", d)
	}

	if _, err := r.Allow(ctx, "a", Policy{Name: "x"}, 1); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("invalid policy: %v", err)
	}
}

func TestRedisRefill(t *testing.T) {
	client := testRedis(t)
	r := NewRedis(client, RedisOptions{Prefix: testPrefix(t, client)})
	ctx := context.Background()
	fast := Policy{Name: "fast", Rate: 10, Period: time.Second, Burst: 2} // 100ms per unit
	for range 2 {
		if d, err := r.Allow(ctx, "k", fast, 1); err != nil || !d.Allowed {
			t.Fatalf("burst: %+v, %v", d, err)
		}
	}
	d, err := r.Allow(ctx, "k", fast, 1)
	if err != nil || d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 100*time.Millisecond {
		t.Fatalf("after burst: %+v, %v", d, err)
	}
	time.Sleep(d.RetryAfter + 5*time.Millisecond)
	if d, err := r.Allow(ctx, "k", fast, 1); err != nil || !d.Allowed {
		t.Fatalf("after RetryAfter: %+v, %v", d, err)
	}
}

// Two limiters on two clients, like two engine processes, share one limit.
func TestRedisSharedLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 1.5s")
	}
	clientA := testRedis(t)
	clientB := testRedis(t)
	prefix := testPrefix(t, clientA)
	limiters := []*Redis{
		NewRedis(clientA, RedisOptions{Prefix: prefix, Timeout: time.Second}),
		NewRedis(clientB, RedisOptions{Prefix: prefix, Timeout: time.Second}),
	}
	p := Policy{Name: "shared", Rate: 100, Period: time.Second, Burst: 20}
	const run = 1500 * time.Millisecond

	var admitted, requests, failures atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(run)
	for g := range 32 {
		l := limiters[g%2]
		wg.Go(func() {
			for time.Now().Before(deadline) {
				d, err := l.Allow(context.Background(), "one-key", p, 1)
				requests.Add(1)
				if err != nil {
					failures.Add(1)
					continue
				}
				if d.Allowed {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	if f := failures.Load(); f > 0 {
		t.Fatalf("%d of %d requests failed", f, requests.Load())
	}
	// Redis's clock starts after ours and stops before it, so the bound holds
	// with one unit to spare for float rounding in the script.
	most := float64(p.Burst) + float64(p.Rate)*elapsed.Seconds() + 1
	least := float64(p.Rate) * (elapsed - 200*time.Millisecond).Seconds()
	got := float64(admitted.Load())
	t.Logf("%d requests in %v, %v admitted (bounds %.0f..%.0f)", requests.Load(), elapsed, got, least, most)
	if got > most || got < least {
		t.Fatalf("admitted %v, want %.0f..%.0f", got, least, most)
	}
	if requests.Load() < 2*admitted.Load() {
		t.Fatalf("only %d requests: the limit was never tested", requests.Load())
	}
}

func TestRedisUnreachable(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { client.Close() })
	r := NewRedis(client, RedisOptions{})
	ctx := context.Background()

	start := time.Now()
	_, err := r.Allow(ctx, "k", member, 1)
	if err == nil {
		t.Fatal("Allow on an unreachable Redis succeeded")
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("error took %v", took)
	}

	var reported atomic.Int64
	d, err := FailOpen(r, func(_ context.Context, err error) {
		if err != nil {
			reported.Add(1)
		}
	}).Allow(ctx, "k", member, 1)
	if err != nil || !d.Allowed || reported.Load() != 1 {
		t.Errorf("FailOpen: %+v, %v, %d reported", d, err, reported.Load())
	}

	d, err = FailClosed(r).Allow(ctx, "k", member, 1)
	if d.Allowed || !errors.Is(err, ErrUnavailable) {
		t.Errorf("FailClosed: %+v, %v", d, err)
	}
}

// A Redis that accepts connections and never answers costs a request the
// timeout, even though the client waits seconds by its own settings.
func TestRedisHung(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	conns.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
		}
	})
	client := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), MaxRetries: -1})
	t.Cleanup(func() {
		client.Close()
		ln.Close()
		conns.Wait()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
	})

	r := NewRedis(client, RedisOptions{Timeout: 100 * time.Millisecond})
	start := time.Now()
	_, err = r.Allow(context.Background(), "k", member, 1)
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a deadline error", err)
	}
	if took < 100*time.Millisecond || took > 400*time.Millisecond {
		t.Errorf("took %v, want about the 100ms timeout", took)
	}
}

// A server whose script reply is not what redis_rate expects fails the
// request with an error instead of crashing the process.
func TestRedisOddReply(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var served sync.WaitGroup
	served.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			served.Go(func() { serveOddRedis(c) })
		}
	})
	client := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), Protocol: 2, MaxRetries: -1})
	t.Cleanup(func() {
		client.Close()
		ln.Close()
		served.Wait()
	})

	_, err = NewRedis(client, RedisOptions{Timeout: time.Second}).Allow(context.Background(), "k", member, 1)
	if err == nil || !strings.Contains(err.Error(), "unexpected reply") {
		t.Fatalf("got %v, want an error about the reply", err)
	}
}

// serveOddRedis speaks just enough RESP2 for a client to connect, and answers
// every script with the integer 1.
func serveOddRedis(c net.Conn) {
	defer c.Close()
	rd := bufio.NewReader(c)
	for {
		var args []string
		line, err := rd.ReadString('\n')
		if err != nil {
			return
		}
		n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "*")))
		if n < 1 {
			return
		}
		for range n {
			if _, err := rd.ReadString('\n'); err != nil { // $len
				return
			}
			arg, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			args = append(args, strings.TrimSpace(arg))
		}
		reply := "+OK\r\n"
		switch cmd := strings.ToUpper(args[0]); {
		case cmd == "HELLO":
			reply = "-ERR unknown command 'HELLO'\r\n" // as Redis 5 does
		case strings.HasPrefix(cmd, "EVAL"):
			reply = ":1\r\n"
		}
		if _, err := io.WriteString(c, reply); err != nil {
			return
		}
	}
}

func BenchmarkRedisAllow(b *testing.B) {
	client := testRedis(b)
	r := NewRedis(client, RedisOptions{Prefix: testPrefix(b, client)})
	p := Policy{Name: "member", Rate: 1000, Period: time.Second, Burst: 100}
	var next atomic.Uint32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		key := "api-key-" + string(rune('a'+next.Add(1)%26))
		for pb.Next() {
			if _, err := r.Allow(context.Background(), key, p, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
}
