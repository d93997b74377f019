package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // profiles for --debug-addr
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/auth"
	"github.com/litengine/litengine/httpapi"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var (
		store           storeFlags
		addr            = fs.String("addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
		logFormat       = fs.String("log-format", "json", "log format: json or text")
		logLevel        = fs.String("log-level", "info", "log level: debug, info, warn or error")
		maxBody         = fs.Int64("max-body-bytes", httpapi.DefaultLimits.MaxBodyBytes, "largest request body accepted, in bytes")
		maxBorrow       = fs.Int("max-borrow", httpapi.DefaultLimits.MaxBorrow, "most books in one borrow request")
		maxReturn       = fs.Int("max-return", httpapi.DefaultLimits.MaxReturn, "most loans in one return request")
		maxInventory    = fs.Int("max-inventory", httpapi.DefaultLimits.MaxInventory, "most items in one inventory request")
		maxInFlight     = fs.Int("max-in-flight", httpapi.DefaultLimits.MaxInFlight, "requests served at once; more get an immediate 503")
		corsOrigins     = fs.String("cors-origins", "", `browser origins allowed to call the API, comma-separated (e.g. "https://dashboard.example.org"; "*" for any)`)
		reqTimeout      = fs.Duration("request-timeout", httpapi.DefaultLimits.RequestTimeout, "most time a request may take; past it a change is rolled back and the client gets a 503")
		shutdownTimeout = fs.Duration("shutdown-timeout", 30*time.Second, "how long in-flight requests may take to finish on SIGINT/SIGTERM")
		debugAddr       = fs.String("debug-addr", "", "if set, serve Go's pprof profiles on this address (keep it private), e.g. 127.0.0.1:6060")
		adminKeyFile    = fs.String("admin-key-file", "litengine-admin.key", "on a database without any API key, write a new admin key to this file (empty: don't)")
		keyCacheTTL     = fs.Duration("key-cache-ttl", httpapi.DefaultKeyCacheTTL, "how long a checked API key is trusted without a database lookup: a revocation reaches other instances within it")
		readHeader      = fs.Duration("read-header-timeout", 10*time.Second, "most time a client may take to send a request's headers (no slowloris)")
		readTimeout     = fs.Duration("read-timeout", 30*time.Second, "most time a client may take to send a whole request")
		idleTimeout     = fs.Duration("idle-timeout", 2*time.Minute, "an idle keep-alive connection is closed after this long")
		maxHeaderBytes  = fs.Int("max-header-bytes", 64<<10, "largest request header block accepted, in bytes; larger gets a 431")
		limits          limitFlags
	)
	store.register(fs, true)
	limits.register(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if err := positive(map[string]int64{"max-body-bytes": *maxBody, "max-borrow": int64(*maxBorrow),
		"max-return": int64(*maxReturn), "max-inventory": int64(*maxInventory), "shutdown-timeout": int64(*shutdownTimeout),
		"request-timeout": int64(*reqTimeout), "max-in-flight": int64(*maxInFlight), "read-header-timeout": int64(*readHeader),
		"read-timeout": int64(*readTimeout), "idle-timeout": int64(*idleTimeout), "max-header-bytes": int64(*maxHeaderBytes)}); err != nil {
		return err
	}
	if err := validOrigins(splitList(*corsOrigins)); err != nil {
		return err
	}
	log, err := newLogger(stdout, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	log.Info("starting litengine", append([]any{"version", buildVersion()}, effectiveConfig(fs)...)...)

	st, err := store.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if created, err := bootstrapAdminKey(ctx, st, *adminKeyFile); err != nil {
		return err
	} else if created {
		log.Info("the database had no API key: created an admin key and wrote it to a file readable only by its owner", "file", *adminKeyFile)
	}

	go purgeIdempotencyKeys(ctx, st, log)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := httpapi.NewMetrics(reg, st)
	rateLimits, closeLimits, err := limits.build(ctx, log, metrics)
	if err != nil {
		return err
	}
	defer closeLimits()
	api := httpapi.NewServer(st, httpapi.Limits{
		RequestTimeout: *reqTimeout, MaxInFlight: *maxInFlight, CORSOrigins: splitList(*corsOrigins), MaxBodyBytes: *maxBody, MaxBorrow: *maxBorrow, MaxReturn: *maxReturn, MaxInventory: *maxInventory,
	}, log, httpapi.WithMetrics(metrics), httpapi.WithPolicies(store.policies), httpapi.WithAuthenticator(auth.NewAuthenticator(st, *keyCacheTTL)), rateLimits)
	// Requests run under base, so that those still running when the
	// shutdown timeout expires can be cancelled: they roll back and answer
	// 503 instead of meeting a closed database.
	base, cancelRequests := context.WithCancel(context.Background())
	defer cancelRequests()
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: *readHeader, // no slowloris: headers must arrive promptly
		ReadTimeout:       *readTimeout,
		BaseContext:       func(net.Listener) context.Context { return base },
		// The write deadline runs from the end of the headers: it must cover
		// reading the body, the request's own time and sending the answer.
		WriteTimeout:   *readTimeout + *reqTimeout + 10*time.Second,
		IdleTimeout:    *idleTimeout,
		MaxHeaderBytes: *maxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if *debugAddr != "" {
		go func() {
			// pprof registers on http.DefaultServeMux, which only this listener serves.
			err := http.ListenAndServe(*debugAddr, http.DefaultServeMux)
			log.Error("debug listener stopped", "err", err)
		}()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	// The bound address is logged so that a caller who asked for port 0 learns the port.
	log.Info("listening", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "timeout", shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown timeout: cancelling the requests still in flight; their changes roll back")
		cancelRequests()
		gctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := srv.Shutdown(gctx); err != nil {
			srv.Close()
			return fmt.Errorf("shutdown: requests did not stop after cancellation: %w", err)
		}
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// validOrigins accepts "*" or browser origins: scheme and host, no path.
func validOrigins(origins []string) error {
	for _, o := range origins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("--cors-origins: %q is not an origin such as https://dashboard.example.org", o)
		}
	}
	return nil
}

// purgeIdempotencyKeys deletes expired Idempotency-Keys every hour. Every
// instance may run it: the deletes are idempotent.
func purgeIdempotencyKeys(ctx context.Context, st litengine.Store, log *slog.Logger) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		if n, err := st.PurgeIdempotencyKeys(ctx); err != nil && ctx.Err() == nil {
			log.Warn("could not purge expired Idempotency-Keys", "err", err)
		} else if n > 0 {
			log.Info("purged expired Idempotency-Keys", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch format {
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "text":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("--log-format must be json or text, not %q", format)
	}
	return slog.New(httpapi.LogHandler(h)), nil
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	var store storeFlags
	store.register(fs, false)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	st, err := store.open(ctx) // opening applies every pending migration
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stdout, "database %s is migrated to the current schema\n", maskSecret(store.db))
	return nil
}

// noArgs refuses stray arguments, such as a database path given without --db,
// which would otherwise be ignored silently.
func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("%s takes no arguments, got %q (flags come first: --db PATH)", fs.Name(), fs.Args())
	}
	return nil
}

// positive refuses limits of zero or below, which would mean no limit at all.
func positive(limits map[string]int64) error {
	for name, v := range limits {
		if v <= 0 {
			return fmt.Errorf("--%s must be positive, not %d", name, v)
		}
	}
	return nil
}

// splitList splits a comma-separated flag value, dropping empty entries.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
