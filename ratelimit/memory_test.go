package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// member is 10 units per 10s, so one unit comes back every second, with a
// burst of 5.
var member = Policy{Name: "member", Rate: 10, Period: 10 * time.Second, Burst: 5}

func allowed(remaining int, resetAfter time.Duration) Decision {
	return Decision{Allowed: true, Limit: 5, Remaining: remaining, ResetAfter: resetAfter}
}

func denied(remaining int, retryAfter, resetAfter time.Duration) Decision {
	return Decision{Limit: 5, Remaining: remaining, RetryAfter: retryAfter, ResetAfter: resetAfter}
}

func TestMemoryGCRA(t *testing.T) {
	type step struct {
		advance time.Duration
		key     string
		cost    int
		want    Decision
	}
	s := time.Second
	tests := []struct {
		name  string
		steps []step
	}{
		{"burst then deny then refill", []step{
			{0, "a", 1, allowed(4, 1*s)},
			{0, "a", 1, allowed(3, 2*s)},
			{0, "a", 1, allowed(2, 3*s)},
			{0, "a", 1, allowed(1, 4*s)},
			{0, "a", 1, allowed(0, 5*s)},
			{0, "a", 1, denied(0, 1*s, 5*s)},
			{400 * time.Millisecond, "a", 1, denied(0, 600*time.Millisecond, 4600*time.Millisecond)},
			{600 * time.Millisecond, "a", 1, allowed(0, 5*s)}, // one emission interval later
			{0, "a", 1, denied(0, 1*s, 5*s)},
			{5 * s, "a", 1, allowed(4, 1*s)}, // full again
		}},
		{"cost above one", []step{
			{0, "a", 3, allowed(2, 3*s)},
			{0, "a", 3, denied(2, 1*s, 3*s)}, // needs one more unit
			{0, "a", 2, allowed(0, 5*s)},
			{0, "a", 4, denied(0, 4*s, 5*s)},
			{2 * s, "a", 2, allowed(0, 5*s)},
		}},
		{"cost clamped to burst", []step{
			{0, "a", 100, allowed(0, 5*s)},
			{0, "a", 100, denied(0, 5*s, 5*s)},
			{4 * s, "a", 100, denied(4, 1*s, 1*s)},
			{1 * s, "a", 100, allowed(0, 5*s)},
		}},
		{"cost zero and negative only look", []step{
			{0, "a", 0, allowed(5, 0)},
			{0, "a", -3, allowed(5, 0)},
			{0, "a", 2, allowed(3, 2*s)},
			{0, "a", 0, allowed(3, 2*s)},
		}},
		{"keys independent", []step{
			{0, "a", 5, allowed(0, 5*s)},
			{0, "a", 1, denied(0, 1*s, 5*s)},
			{0, "b", 1, allowed(4, 1*s)},
			{0, "", 2, allowed(3, 2*s)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			m := NewMemory(MemoryOptions{Now: clock.Now})
			for i, st := range tt.steps {
				clock.Advance(st.advance)
				got, err := m.Allow(context.Background(), st.key, member, st.cost)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if got != st.want {
					t.Errorf("step %d (key %q, cost %d):\n got %+v\nwant %+v", i, st.key, st.cost, got, st.want)
				}
			}
		})
	}
}

func TestMemoryPoliciesIndependent(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(MemoryOptions{Now: clock.Now})
	ctx := context.Background()
	batch := Policy{Name: "batch", Rate: 1, Period: time.Minute, Burst: 2}
	if d, _ := m.Allow(ctx, "k", member, 5); !d.Allowed {
		t.Fatal("member burst denied")
	}
	d, _ := m.Allow(ctx, "k", batch, 1)
	if !d.Allowed || d.Remaining != 1 || d.Limit != 2 || d.ResetAfter != time.Minute {
		t.Fatalf("batch after member: %+v", d)
	}
}

func TestPolicyValidate(t *testing.T) {
	bad := []Policy{
		{},
		{Name: "x", Rate: 0, Period: time.Second, Burst: 1},
		{Name: "x", Rate: 1, Period: 0, Burst: 1},
		{Name: "x", Rate: 1, Period: time.Second, Burst: 0},
		{Name: "x", Rate: 1_000_000, Period: time.Microsecond, Burst: 1},
		{Name: "x", Rate: 1, Period: 1000 * time.Hour, Burst: 1 << 40},
		{Name: `a"b`, Rate: 1, Period: time.Second, Burst: 1},
		{Name: "a:b", Rate: 1, Period: time.Second, Burst: 1},
		{Name: "", Rate: 1, Period: time.Second, Burst: 1},
	}
	m := NewMemory(MemoryOptions{})
	for _, p := range bad {
		if _, err := m.Allow(context.Background(), "k", p, 1); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("%+v: got %v, want ErrInvalidPolicy", p, err)
		}
	}
	if err := (Policy{Name: "anon-ip_v4.1", Rate: 1, Period: time.Second, Burst: 1}).Validate(); err != nil {
		t.Errorf("valid policy: %v", err)
	}
}

// With the clock frozen no unit comes back, so exactly Burst units pass
// however many goroutines race for them.
func TestMemoryConcurrentOneKey(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(MemoryOptions{Now: clock.Now})
	p := Policy{Name: "member", Rate: 1, Period: time.Second, Burst: 50}
	var units atomic.Int64
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			for range 40 {
				cost := 1 + g%3
				d, err := m.Allow(context.Background(), "shared", p, cost)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					units.Add(int64(cost))
				}
			}
		})
	}
	wg.Wait()
	// Costs of 2 and 3 may leave a unit or two that no request fits; a final
	// request of cost 1 takes them.
	for {
		d, _ := m.Allow(context.Background(), "shared", p, 1)
		if !d.Allowed {
			break
		}
		units.Add(1)
	}
	if got := units.Load(); got != int64(p.Burst) {
		t.Fatalf("admitted %d units, want exactly %d", got, p.Burst)
	}
}

func TestMemoryConcurrentManyKeys(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(MemoryOptions{Now: clock.Now})
	p := Policy{Name: "ip", Rate: 1, Period: time.Second, Burst: 10}
	const keys = 100
	var admitted [keys]atomic.Int64
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 200 {
				k := (g*7 + i) % keys
				d, _ := m.Allow(context.Background(), fmt.Sprint("client-", k), p, 1)
				if d.Allowed {
					admitted[k].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for k := range admitted {
		if got := admitted[k].Load(); got != 10 {
			t.Errorf("key %d: admitted %d, want 10", k, got)
		}
	}
}

func TestMemoryBounded(t *testing.T) {
	clock := newFakeClock()
	const maxKeys = 640
	m := NewMemory(MemoryOptions{Now: clock.Now, MaxKeys: maxKeys, SweepEvery: time.Hour})
	p := Policy{Name: "ip", Rate: 1, Period: time.Minute, Burst: 3}
	for i := range 100_000 {
		clock.Advance(time.Millisecond)
		if _, err := m.Allow(context.Background(), fmt.Sprint("10.0.", i/256, ".", i%256), p, 1); err != nil {
			t.Fatal(err)
		}
		if i%1000 == 0 {
			if n := m.Len(); n > maxKeys {
				t.Fatalf("after %d keys: %d tracked, cap %d", i+1, n, maxKeys)
			}
		}
	}
	if n := m.Len(); n == 0 || n > maxKeys {
		t.Fatalf("tracked %d keys, want 1..%d", n, maxKeys)
	}

	// Keys whose bucket is full again carry nothing: a sweep drops them all.
	clock.Advance(time.Minute)
	before := m.Len()
	if dropped := m.Sweep(); dropped != before {
		t.Errorf("Sweep dropped %d of %d", dropped, before)
	}
	if n := m.Len(); n != 0 {
		t.Errorf("after sweep: %d keys tracked, want 0", n)
	}
}

func TestMemorySweepsByItself(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(MemoryOptions{Now: clock.Now, SweepEvery: time.Minute})
	p := Policy{Name: "ip", Rate: 1, Period: time.Second, Burst: 1}
	for i := range 10_000 {
		m.Allow(context.Background(), fmt.Sprint("key-", i), p, 1)
	}
	if n := m.Len(); n != 10_000 {
		t.Fatalf("tracked %d, want 10000", n)
	}
	// A minute later every bucket is full; requests on new keys sweep each
	// shard they land in.
	clock.Advance(2 * time.Minute)
	for i := range 5000 {
		m.Allow(context.Background(), fmt.Sprint("other-", i), p, 1)
	}
	if n := m.Len(); n != 5000 {
		t.Fatalf("tracked %d after the sweeps, want the 5000 new keys", n)
	}
}

func TestFailOpenAndClosed(t *testing.T) {
	boom := errors.New("store down")
	broken := limiterFunc(func(context.Context, string, Policy, int) (Decision, error) {
		return Decision{}, boom
	})
	var reported []error
	open := FailOpen(broken, func(_ context.Context, err error) { reported = append(reported, err) })
	d, err := open.Allow(context.Background(), "k", member, 2)
	if err != nil || d != allowed(3, 2*time.Second) {
		t.Errorf("FailOpen: %+v, %v", d, err)
	}
	if len(reported) != 1 || !errors.Is(reported[0], boom) {
		t.Errorf("FailOpen reported %v", reported)
	}

	d, err = FailClosed(broken).Allow(context.Background(), "k", member, 1)
	if d.Allowed || d.RetryAfter != time.Second || !errors.Is(err, ErrUnavailable) || !errors.Is(err, boom) {
		t.Errorf("FailClosed: %+v, %v", d, err)
	}

	// A working limiter passes through both untouched.
	clock := newFakeClock()
	m := NewMemory(MemoryOptions{Now: clock.Now})
	for _, l := range []Limiter{FailOpen(m, nil), FailClosed(m)} {
		d, err := l.Allow(context.Background(), fmt.Sprintf("%T", l), member, 5)
		if err != nil || d != allowed(0, 5*time.Second) {
			t.Errorf("%T: %+v, %v", l, d, err)
		}
		d, err = l.Allow(context.Background(), fmt.Sprintf("%T", l), member, 1)
		if err != nil || d != denied(0, time.Second, 5*time.Second) {
			t.Errorf("%T: %+v, %v", l, d, err)
		}
	}
}

type limiterFunc func(ctx context.Context, key string, p Policy, cost int) (Decision, error)

func (f limiterFunc) Allow(ctx context.Context, key string, p Policy, cost int) (Decision, error) {
	return f(ctx, key, p, cost)
}

func BenchmarkMemoryAllow(b *testing.B) {
	m := NewMemory(MemoryOptions{})
	p := Policy{Name: "member", Rate: 1000, Period: time.Second, Burst: 100}
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = fmt.Sprint("api-key-", i)
	}
	var next atomic.Uint32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)) * 7919
		for pb.Next() {
			i++
			if _, err := m.Allow(context.Background(), keys[i%len(keys)], p, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
}
