package ratelimit

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestSetHeaders(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		p    Policy
		d    Decision
		want http.Header
	}{
		{
			"allowed, t rounds up",
			member,
			Decision{Allowed: true, Limit: 5, Remaining: 3, ResetAfter: 2001 * ms},
			http.Header{
				"Ratelimit-Policy": {`"member";q=5;w=5`},
				"Ratelimit":        {`"member";r=3;t=3`},
			},
		},
		{
			"allowed, full bucket",
			member,
			Decision{Allowed: true, Limit: 5, Remaining: 5},
			http.Header{
				"Ratelimit-Policy": {`"member";q=5;w=5`},
				"Ratelimit":        {`"member";r=5;t=0`},
			},
		},
		{
			"denied: t and Retry-After are the wait, rounded up",
			member,
			Decision{Limit: 5, Remaining: 0, RetryAfter: 1500 * ms, ResetAfter: 5 * time.Second},
			http.Header{
				"Ratelimit-Policy": {`"member";q=5;w=5`},
				"Ratelimit":        {`"member";r=0;t=2`},
				"Retry-After":      {"2"},
			},
		},
		{
			"denied batch keeps what is left",
			member,
			Decision{Limit: 5, Remaining: 2, RetryAfter: time.Second, ResetAfter: 3 * time.Second},
			http.Header{
				"Ratelimit-Policy": {`"member";q=5;w=5`},
				"Ratelimit":        {`"member";r=2;t=1`},
				"Retry-After":      {"1"},
			},
		},
		{
			"Retry-After at least one second",
			member,
			Decision{Limit: 5, RetryAfter: 3 * ms},
			http.Header{
				"Ratelimit-Policy": {`"member";q=5;w=5`},
				"Ratelimit":        {`"member";r=0;t=1`},
				"Retry-After":      {"1"},
			},
		},
		{
			"w is the time to refill a burst, rounded up",
			Policy{Name: "anon", Rate: 100, Period: time.Hour, Burst: 30}, // 36s per unit
			Decision{Allowed: true, Limit: 30, Remaining: 29, ResetAfter: 36 * time.Second},
			http.Header{
				"Ratelimit-Policy": {`"anon";q=30;w=1080`},
				"Ratelimit":        {`"anon";r=29;t=36`},
			},
		},
		{
			"sub-second window reads as one second",
			Policy{Name: "burst", Rate: 100, Period: time.Second, Burst: 20},
			Decision{Allowed: true, Limit: 20, Remaining: 19, ResetAfter: 10 * ms},
			http.Header{
				"Ratelimit-Policy": {`"burst";q=20;w=1`},
				"Ratelimit":        {`"burst";r=19;t=1`},
			},
		},
		{
			"name escaped as a structured-field string",
			Policy{Name: "a\"b\\c\x01é", Rate: 1, Period: time.Second, Burst: 1},
			Decision{Allowed: true, Limit: 1, ResetAfter: time.Second},
			http.Header{
				"Ratelimit-Policy": {`"a\"b\\c";q=1;w=1`},
				"Ratelimit":        {`"a\"b\\c";r=0;t=1`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			SetHeaders(h, tt.p, tt.d)
			if !reflect.DeepEqual(h, tt.want) {
				t.Errorf("got  %q\nwant %q", h, tt.want)
			}
		})
	}
}

func TestSetHeadersTwoPolicies(t *testing.T) {
	h := http.Header{}
	perIP := Policy{Name: "ip", Rate: 60, Period: time.Minute, Burst: 10}
	SetHeaders(h, member, Decision{Limit: 5, RetryAfter: 4 * time.Second, ResetAfter: 5 * time.Second})
	SetHeaders(h, perIP, Decision{Limit: 10, RetryAfter: 2 * time.Second, ResetAfter: 10 * time.Second})
	want := http.Header{
		"Ratelimit-Policy": {`"member";q=5;w=5`, `"ip";q=10;w=10`},
		"Ratelimit":        {`"member";r=0;t=4`, `"ip";r=0;t=2`},
		"Retry-After":      {"4"}, // the longer wait
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("got  %q\nwant %q", h, want)
	}
}
