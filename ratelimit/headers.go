package ratelimit

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SetHeaders writes the RateLimit-Policy and RateLimit fields of
// draft-ietf-httpapi-ratelimit-headers-11 (May 2026; the structured-field
// form since -08) for one policy, and Retry-After when d is a denial:
//
//	RateLimit-Policy: "member";q=20;w=10
//	RateLimit: "member";r=0;t=1
//	Retry-After: 1
//
// GCRA maps onto the draft's quota policy as q = Burst and w = the time to
// refill a whole burst, Burst×Period/Rate, in seconds rounded up (at least
// 1): the units a client may spend at once, and the window over which q
// units come back, so q/w is the sustained rate (exactly, when Burst×
// Period/Rate is a whole number of seconds).
//
// r is d.Remaining (rounded down). t is the effective window, "the number of
// seconds within which the client can use no more than the available quota":
//   - allowed: the seconds until the bucket is full again, d.ResetAfter
//     rounded up. Spending r within t is always within the limit; more units
//     come back during t, so it is a safe bound, not a tight one.
//   - denied: the seconds until the request could pass, d.RetryAfter rounded
//     up (at least 1), equal to Retry-After, because the draft says
//     Retry-After should not point before the end of the effective window.
//
// Retry-After (delay-seconds) is d.RetryAfter rounded up, at least 1.
//
// Call it once per policy that applied to the request: the items are added
// as further members of each list, and Retry-After keeps the largest value.
func SetHeaders(h http.Header, p Policy, d Decision) {
	name := sfString(p.Name)
	q := strconv.Itoa(p.Burst)
	w := strconv.FormatInt(max(ceilSeconds(p.Interval()*time.Duration(p.Burst)), 1), 10)
	h.Add("RateLimit-Policy", name+";q="+q+";w="+w)

	t := ceilSeconds(d.ResetAfter)
	if !d.Allowed {
		retry := max(ceilSeconds(d.RetryAfter), 1)
		t = retry
		if old, err := strconv.ParseInt(h.Get("Retry-After"), 10, 64); err != nil || old < retry {
			h.Set("Retry-After", strconv.FormatInt(retry, 10))
		}
	}
	h.Add("RateLimit", name+";r="+strconv.Itoa(max(d.Remaining, 0))+";t="+strconv.FormatInt(t, 10))
}

// ceilSeconds rounds d up to whole seconds; negative durations count as 0.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// sfString serializes s as a structured-field String (RFC 9651 §4.1.6):
// quoted, with '"' and '\' escaped and bytes outside printable ASCII, which
// it cannot carry, dropped. Validate keeps policy names plain anyway.
func sfString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c <= 0x7e:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
