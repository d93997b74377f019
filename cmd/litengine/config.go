package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/postgres"
	"github.com/litengine/litengine/sqlite"
)

// parseFlags applies LITENGINE_* environment variables, then the command line,
// so that a flag wins over the environment, which wins over the default.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		if v, ok := os.LookupEnv(name); ok && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment %s=%q: %w", name, v, e)
			}
		}
	})
	if err != nil {
		return err
	}
	return fs.Parse(args)
}

func envName(flagName string) string {
	return "LITENGINE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// effectiveConfig lists every flag's value for the start-up log, with
// passwords in database URLs masked.
func effectiveConfig(fs *flag.FlagSet) []any {
	var attrs []any
	fs.VisitAll(func(f *flag.Flag) {
		attrs = append(attrs, f.Name, maskSecret(f.Value.String()))
	})
	return attrs
}

func maskSecret(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" {
		return v
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// storeFlags are the flags of every command that opens the database.
type storeFlags struct {
	db          string
	policyFile  string
	policies    *litengine.Policies // loaded by open
	synchronous string
	pool        postgres.Options
	circulation bool // the command lends books: the loan period matters
}

func (s *storeFlags) register(fs *flag.FlagSet, circulation bool) {
	s.circulation = circulation
	fs.StringVar(&s.db, "db", "litengine.db", "database: a SQLite file path, or a postgres:// URL")
	if circulation {
		fs.StringVar(&s.policyFile, "policy", "", "loan policy file (YAML; see docs/policy.example.yaml): loan periods, renewals, limits, late fees, time zone; default: built-in policy")
	}
	fs.StringVar(&s.synchronous, "sqlite-synchronous", "full", "SQLite durability: full (every commit survives power loss) or normal (faster)")
	s.pool.MaxConns = int32(max(4, 4*runtime.NumCPU()))
	fs.Var((*int32Value)(&s.pool.MaxConns), "pg-max-conns", "PostgreSQL: most pooled connections")
	fs.Var((*int32Value)(&s.pool.MinConns), "pg-min-conns", "PostgreSQL: connections kept open when idle")
	fs.DurationVar(&s.pool.MaxConnLifetime, "pg-conn-lifetime", time.Hour, "PostgreSQL: a connection is replaced after this long")
	fs.DurationVar(&s.pool.MaxConnIdleTime, "pg-conn-idle", 30*time.Minute, "PostgreSQL: an idle connection is closed after this long")
	fs.DurationVar(&s.pool.AcquireTimeout, "pg-acquire-timeout", 5*time.Second, "PostgreSQL: how long a request waits for a free connection before a 503")
}

// int32Value is a flag holding a non-negative int32, such as a pool size.
type int32Value int32

func (v *int32Value) String() string { return strconv.Itoa(int(*v)) }

func (v *int32Value) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n < 0 {
		return fmt.Errorf("want a non-negative integer")
	}
	*v = int32Value(n)
	return nil
}

func (s *storeFlags) open(ctx context.Context) (litengine.Store, error) {
	s.policies = litengine.DefaultPolicies()
	if s.circulation && s.policyFile != "" {
		p, err := loadPolicies(s.policyFile)
		if err != nil {
			return nil, err
		}
		s.policies = p
	}
	if strings.Contains(s.db, "=") && strings.Contains(s.db, " ") {
		return nil, fmt.Errorf("--db looks like a PostgreSQL key=value connection string; give it as a postgres:// URL")
	}
	if isPostgresURL(s.db) {
		if s.pool.MaxConns < 1 {
			return nil, fmt.Errorf("--pg-max-conns must be at least 1")
		}
		for name, d := range map[string]time.Duration{"pg-conn-lifetime": s.pool.MaxConnLifetime,
			"pg-conn-idle": s.pool.MaxConnIdleTime, "pg-acquire-timeout": s.pool.AcquireTimeout} {
			if d <= 0 {
				return nil, fmt.Errorf("--%s must be positive, not %s", name, d)
			}
		}
		if s.pool.MinConns > s.pool.MaxConns {
			return nil, fmt.Errorf("--pg-min-conns %d is above --pg-max-conns %d", s.pool.MinConns, s.pool.MaxConns)
		}
		opts := s.pool
		opts.Policies = s.policies
		return postgres.Open(ctx, s.db, opts)
	}
	return sqlite.Open(ctx, s.db, sqlite.Options{Policies: s.policies, Synchronous: s.synchronous})
}

func isPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}
