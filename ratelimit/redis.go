package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// RedisOptions configures [NewRedis]. The zero value is usable.
type RedisOptions struct {
	// Prefix starts every key this limiter writes, after the "rate:" that
	// redis_rate puts first. Default "litengine:rl:". The full key is
	// "rate:" + Prefix + policy name + ":" + key.
	Prefix string
	// Timeout bounds each decision, so a hung Redis costs a request at most
	// this long. Default 100ms.
	Timeout time.Duration
}

// Redis is a [Limiter] whose buckets live in Redis, so every engine process
// shares one limit per key. Each decision is one atomic Lua script (EVALSHA,
// falling back to EVAL), the GCRA of github.com/go-redis/redis_rate. The
// script reads the time with Redis's TIME, so processes with skewed clocks
// agree, and sets each key to expire when its bucket is full again.
//
// Keys are stored verbatim inside Redis keys: pass an identifier (an API key
// id, a client IP), never a secret.
type Redis struct {
	rl      *redis_rate.Limiter
	prefix  string
	timeout time.Duration
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a limiter on client. Any go-redis client works (single
// node, Sentinel, Cluster: one key per script).
func NewRedis(client redis.UniversalClient, opts RedisOptions) *Redis {
	r := &Redis{rl: redis_rate.NewLimiter(client), prefix: opts.Prefix, timeout: opts.Timeout}
	if r.prefix == "" {
		r.prefix = "litengine:rl:"
	}
	if r.timeout <= 0 {
		r.timeout = 100 * time.Millisecond
	}
	return r
}

// Allow implements [Limiter]. Redis errors and the timeout are returned as
// errors; wrap the limiter in [FailOpen] or [FailClosed] to decide what they
// mean for the request.
func (r *Redis) Allow(ctx context.Context, key string, p Policy, cost int) (Decision, error) {
	if err := p.Validate(); err != nil {
		return Decision{}, err
	}
	cost = p.clampCost(cost)
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()

	// go-redis applies a context's deadline to socket reads only when the
	// client has ContextTimeoutEnabled; otherwise it waits out its own
	// ReadTimeout (seconds) and retries. Waiting here instead keeps the
	// timeout whatever the client's options; an abandoned call ends at the
	// client's own timeout.
	type reply struct {
		res *redis_rate.Result
		err error
	}
	done := make(chan reply, 1)
	limit := redis_rate.Limit{Rate: p.Rate, Burst: p.Burst, Period: p.Period}
	go func() {
		// redis_rate asserts the types of the script's reply: a server that
		// answers otherwise must fail this request, not crash the process
		// from a goroutine no handler can recover.
		defer func() {
			if v := recover(); v != nil {
				done <- reply{err: fmt.Errorf("unexpected reply: %v", v)}
			}
		}()
		res, err := r.rl.AllowN(ctx, r.prefix+p.Name+":"+key, limit, cost)
		done <- reply{res, err}
	}()
	select {
	case rep := <-done:
		if rep.err != nil {
			return Decision{}, fmt.Errorf("ratelimit: redis, policy %q: %w", p.Name, rep.err)
		}
		return redisDecision(p, rep.res), nil
	case <-ctx.Done():
		return Decision{}, fmt.Errorf("ratelimit: redis, policy %q: %w", p.Name, ctx.Err())
	}
}

// redisDecision converts redis_rate's result, which marks an allowed request
// with RetryAfter -1 and reports 0 remaining on a denial, to a Decision with
// the same meaning as Memory's.
func redisDecision(p Policy, res *redis_rate.Result) Decision {
	d := Decision{
		Allowed:    res.RetryAfter < 0,
		Limit:      p.Burst,
		Remaining:  res.Remaining,
		ResetAfter: max(res.ResetAfter, 0),
	}
	if !d.Allowed {
		d.RetryAfter = res.RetryAfter
		// A denied request spent nothing; what is left follows from how far
		// the bucket is from full.
		tau := p.Interval() * time.Duration(p.Burst)
		d.Remaining = int(max(tau-d.ResetAfter, 0) / p.Interval())
	}
	return d
}
