package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/httpapi"
	"github.com/litengine/litengine/ratelimit"
)

// policyValue is a rate-limit flag: "RATE/UNIT:BURST", such as "5/s:50"
// (5 requests a second on average, 50 at once); UNIT is s, m or h.
type policyValue struct{ p ratelimit.Policy }

func (v *policyValue) String() string {
	unit := map[time.Duration]string{time.Second: "s", time.Minute: "m", time.Hour: "h"}[v.p.Period]
	return fmt.Sprintf("%d/%s:%d", v.p.Rate, unit, v.p.Burst)
}

func (v *policyValue) Set(s string) error {
	rate, rest, ok1 := strings.Cut(s, "/")
	unit, burst, ok2 := strings.Cut(rest, ":")
	periods := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}
	r, err1 := strconv.Atoi(rate)
	b, err2 := strconv.Atoi(burst)
	period, ok3 := periods[unit]
	if !ok1 || !ok2 || !ok3 || err1 != nil || err2 != nil {
		return fmt.Errorf("want RATE/UNIT:BURST with UNIT s, m or h, such as 5/s:50")
	}
	if r < 1 || b < 1 {
		return fmt.Errorf("the rate and the burst must be at least 1, as in 5/s:50")
	}
	v.p.Rate, v.p.Period, v.p.Burst = r, period, b
	return nil
}

// limitFlags configure rate limiting.
type limitFlags struct {
	enabled        bool
	roles          map[litengine.Role]*policyValue
	anonymous      policyValue
	redisURL       string
	redisFailure   string
	trustedProxies string
}

func (l *limitFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&l.enabled, "rate-limit", true, "limit each API key, and each client address without a key, to its budget")
	l.roles = map[litengine.Role]*policyValue{
		litengine.RoleAdmin:     {ratelimit.Policy{Name: "admin", Rate: 100, Period: time.Second, Burst: 2000}},
		litengine.RoleLibrarian: {ratelimit.Policy{Name: "librarian", Rate: 50, Period: time.Second, Burst: 1000}},
		litengine.RoleMember:    {ratelimit.Policy{Name: "member", Rate: 5, Period: time.Second, Burst: 50}},
	}
	for _, role := range []litengine.Role{litengine.RoleAdmin, litengine.RoleLibrarian, litengine.RoleMember} {
		fs.Var(l.roles[role], "rate-"+string(role), "budget of each "+string(role)+" key: RATE/UNIT:BURST (a batch costs 1 + 1 per 5 items)")
	}
	l.anonymous = policyValue{ratelimit.Policy{Name: "anonymous", Rate: 2, Period: time.Second, Burst: 20}}
	fs.Var(&l.anonymous, "rate-anonymous", "budget of each client address for requests without a key: RATE/UNIT:BURST")
	fs.StringVar(&l.redisURL, "redis", "", "share rate limits between engine instances through this Redis, e.g. redis://127.0.0.1:6379/0 (default: in-process limits)")
	fs.StringVar(&l.redisFailure, "redis-failure", "open", "when Redis cannot be reached: open (let requests through, log and count them) or closed (answer 503)")
	fs.StringVar(&l.trustedProxies, "trusted-proxies", "", "comma-separated addresses or CIDRs of proxies whose X-Forwarded-For names the client, e.g. 10.0.0.0/8")
}

// build returns the server option for rate limiting, and a function that
// releases what it opened.
func (l *limitFlags) build(ctx context.Context, log *slog.Logger, metrics *httpapi.Metrics) (httpapi.Option, func(), error) {
	noop := func() {}
	if l.redisFailure != "open" && l.redisFailure != "closed" {
		return nil, noop, fmt.Errorf("--redis-failure must be open or closed, not %q", l.redisFailure)
	}
	if !l.enabled {
		return func(*httpapi.Server) {}, noop, nil
	}
	rl := httpapi.RateLimits{Roles: map[litengine.Role]ratelimit.Policy{}, Anonymous: l.anonymous.p}
	for role, v := range l.roles {
		rl.Roles[role] = v.p
	}
	for _, s := range splitList(l.trustedProxies) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, noop, fmt.Errorf("--trusted-proxies: %q is neither an address nor a CIDR", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		rl.TrustedProxies = append(rl.TrustedProxies, p.Masked())
	}
	if l.redisURL == "" {
		rl.Limiter = ratelimit.NewMemory(ratelimit.MemoryOptions{})
		return httpapi.WithRateLimits(rl), noop, nil
	}
	opts, err := redis.ParseURL(l.redisURL)
	if err != nil {
		return nil, noop, fmt.Errorf("--redis: %w", err)
	}
	// A rate-limit decision must be quick or not at all: short timeouts,
	// honoured from the request's context, and no retries.
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = 250*time.Millisecond, 250*time.Millisecond, 250*time.Millisecond
	opts.ContextTimeoutEnabled = true
	opts.MaxRetries = -1
	client := redis.NewClient(opts)
	limiter := ratelimit.NewRedis(client, ratelimit.RedisOptions{})
	if l.redisFailure == "open" {
		rl.Limiter = ratelimit.FailOpen(limiter, func(ctx context.Context, err error) {
			metrics.LimiterErrors.Inc()
			log.WarnContext(ctx, "rate limiter unreachable: request let through", "err", err)
		})
	} else {
		rl.Limiter = ratelimit.FailClosed(limiter)
	}
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		log.Warn("Redis does not answer yet; rate limits follow --redis-failure until it does", "redis-failure", l.redisFailure, "err", err)
	}
	return httpapi.WithRateLimits(rl), func() { client.Close() }, nil
}
