// Package ratelimit limits requests per client (an API key or an IP address)
// with GCRA, the generic cell rate algorithm, where a request may cost more
// than one unit (a batch of N items costs N).
//
// GCRA keeps one timestamp per key, the theoretical arrival time (TAT): the
// moment the key's bucket would be full again. Each unit moves the TAT forward
// by the emission interval T = Period/Rate; a request passes when the new TAT
// is at most Burst×T ahead of now. The result is the same as a token bucket of
// Burst units refilled at Rate per Period, without a timer or a counter.
//
// Two limiters implement [Limiter]: [Memory] for a single engine process and
// [Redis] for limits shared by every engine process. [FailOpen] and
// [FailClosed] decide what a failing limiter means for the request, and
// [SetHeaders] tells the client where it stands.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Policy is one rate limit: Rate units per Period on average, with up to Burst
// units at once.
type Policy struct {
	// Name identifies the policy in the RateLimit headers and separates its
	// keys from those of other policies. Letters, digits, '.', '_' and '-'.
	Name   string
	Rate   int           // units per Period, at least 1
	Period time.Duration // at least 1ns per unit
	Burst  int           // bucket size, at least 1; also the largest cost
}

// ErrInvalidPolicy is wrapped by the error for a policy that cannot limit
// anything (zero rate, burst or period, or a bad name).
var ErrInvalidPolicy = errors.New("ratelimit: invalid policy")

// Validate reports why p cannot be used, or nil.
func (p Policy) Validate() error {
	if p.Name == "" {
		return fmt.Errorf("%w: empty name", ErrInvalidPolicy)
	}
	for i := 0; i < len(p.Name); i++ {
		c := p.Name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: name %q: only letters, digits, '.', '_' and '-'", ErrInvalidPolicy, p.Name)
		}
	}
	if p.Rate < 1 || p.Burst < 1 || p.Period <= 0 {
		return fmt.Errorf("%w %q: rate, burst and period must be positive", ErrInvalidPolicy, p.Name)
	}
	t := p.Interval()
	if t <= 0 {
		return fmt.Errorf("%w %q: rate above one unit per nanosecond", ErrInvalidPolicy, p.Name)
	}
	// Burst×T must not overflow int64 nanoseconds, with room for the TAT.
	if int64(t) > math.MaxInt64/4/int64(p.Burst) {
		return fmt.Errorf("%w %q: burst × period/rate too long", ErrInvalidPolicy, p.Name)
	}
	return nil
}

// Interval is the emission interval: the time one unit takes to come back.
func (p Policy) Interval() time.Duration {
	if p.Rate <= 0 {
		return 0
	}
	return p.Period / time.Duration(p.Rate)
}

// clampCost limits cost to [0, Burst]: a request costing more than a full
// bucket could never pass, so it costs a full bucket instead.
func (p Policy) clampCost(cost int) int {
	return min(max(cost, 0), p.Burst)
}

// Decision is the outcome of one request against one policy.
type Decision struct {
	Allowed bool
	// Limit is the policy's Burst: the most units a key can spend at once.
	Limit int
	// Remaining is the number of units the key could spend right now, after
	// this decision (rounded down).
	Remaining int
	// RetryAfter is zero when allowed; otherwise the wait until the same
	// request would pass.
	RetryAfter time.Duration
	// ResetAfter is the time until the bucket is full again (Remaining ==
	// Limit) if the key spends nothing more.
	ResetAfter time.Duration
}

// Limiter decides whether the client identified by key may spend cost units
// under policy p.
//
// The key space is per policy name: the same key under two policies has two
// buckets. A cost above p.Burst is clamped to p.Burst; a negative cost counts
// as 0, and cost 0 reports the key's state without spending anything.
type Limiter interface {
	Allow(ctx context.Context, key string, p Policy, cost int) (Decision, error)
}

// gcra is the algorithm shared by the limiters, on nanosecond timestamps:
// given the stored TAT (zero or in the past for a full bucket) it returns the
// decision and the TAT to store.
func gcra(p Policy, cost int, now, tat int64) (Decision, int64) {
	t := int64(p.Interval())
	tau := t * int64(p.Burst) // how far ahead of now the TAT may be
	tat = max(tat, now)
	newTAT := tat + t*int64(cost)
	allowAt := newTAT - tau
	if now < allowAt {
		return Decision{
			Allowed:    false,
			Limit:      p.Burst,
			Remaining:  int(max(tau-(tat-now), 0) / t),
			RetryAfter: time.Duration(allowAt - now),
			ResetAfter: time.Duration(tat - now),
		}, tat
	}
	return Decision{
		Allowed:    true,
		Limit:      p.Burst,
		Remaining:  int((tau - (newTAT - now)) / t),
		ResetAfter: time.Duration(newTAT - now),
	}, newTAT
}

// ErrUnavailable is wrapped by the error of a [FailClosed] limiter whose inner
// limiter failed. The engine answers such a request with 503.
var ErrUnavailable = errors.New("ratelimit: limiter unavailable")

// FailOpen returns a Limiter that allows the request when inner fails, so an
// outage of the shared store does not take the API down with it. onError (if
// not nil) receives every such error, for the log and a metric.
//
// The Decision then reads as if the key's bucket had been full: Remaining is
// Burst-cost and ResetAfter the time to refill cost units.
func FailOpen(inner Limiter, onError func(ctx context.Context, err error)) Limiter {
	return failOpen{inner: inner, onError: onError}
}

type failOpen struct {
	inner   Limiter
	onError func(context.Context, error)
}

func (f failOpen) Allow(ctx context.Context, key string, p Policy, cost int) (Decision, error) {
	d, err := f.inner.Allow(ctx, key, p, cost)
	if err == nil {
		return d, nil
	}
	if f.onError != nil {
		f.onError(ctx, err)
	}
	cost = p.clampCost(cost)
	return Decision{
		Allowed:    true,
		Limit:      p.Burst,
		Remaining:  max(p.Burst-cost, 0),
		ResetAfter: p.Interval() * time.Duration(cost),
	}, nil
}

// FailClosed returns a Limiter that denies the request when inner fails: the
// Decision is not allowed, with a RetryAfter of one second, and the error
// wraps both [ErrUnavailable] and the inner error. Use it where letting
// requests through unchecked costs more than refusing them.
func FailClosed(inner Limiter) Limiter {
	return failClosed{inner: inner}
}

type failClosed struct{ inner Limiter }

func (f failClosed) Allow(ctx context.Context, key string, p Policy, cost int) (Decision, error) {
	d, err := f.inner.Allow(ctx, key, p, cost)
	if err == nil {
		return d, nil
	}
	return Decision{Allowed: false, Limit: p.Burst, RetryAfter: time.Second}, fmt.Errorf("%w: %w", ErrUnavailable, err)
}
