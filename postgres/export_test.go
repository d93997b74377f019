package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// defaultBaseURL is the server the tests use unless LITENGINE_TEST_POSTGRES
// names another.
const defaultBaseURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var (
	probeOnce sync.Once
	probeErr  error
)

// BaseURL returns the base URL of the test server. When the server cannot be
// reached it skips t, or fails it when CI=true: CI must not pass by skipping.
func BaseURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("LITENGINE_TEST_POSTGRES")
	if base == "" {
		base = defaultBaseURL
	}
	probeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		probeErr = err
	})
	if probeErr != nil {
		msg := "PostgreSQL is not reachable at LITENGINE_TEST_POSTGRES (default " + defaultBaseURL + "): " + probeErr.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg + "; skipping the PostgreSQL tests")
	}
	return base
}

// NewTestSchema creates an empty schema for t, dropped with everything in it
// when t ends, and returns a connection string whose sessions use it (pgx
// passes the search_path parameter to the server at connect time). Each test
// gets its own database namespace this way, for the price of one statement.
func NewTestSchema(t testing.TB) string {
	t.Helper()
	base := BaseURL(t)
	var b [6]byte
	rand.Read(b[:])
	schema := "litengine_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	exec := func(sql string) error {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if err := exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return base + " search_path=" + schema
}
