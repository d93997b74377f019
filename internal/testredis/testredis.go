// Package testredis locates the Redis that tests use.
package testredis

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// URL returns the URL of the tests' Redis: LITENGINE_TEST_REDIS, by default
// redis://127.0.0.1:6379/0. When it does not answer the test is skipped,
// except under CI=true, where it fails.
func URL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("LITENGINE_TEST_REDIS")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("LITENGINE_TEST_REDIS: %v", err)
	}
	client := redis.NewClient(opt)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("Redis at %s is required in CI: %v", url, err)
		}
		tb.Skipf("no Redis at %s (set LITENGINE_TEST_REDIS): %v", url, err)
	}
	return url
}
