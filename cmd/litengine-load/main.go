// Command litengine-load drives a running LitEngine over its real HTTP API and
// reports throughput, latency percentiles and errors, one row per client count.
//
// It expects books 1..--books in the catalogue (e.g. after "litengine import"
// of goodbooks-10k), gives each of them ample stock in one inventory request,
// creates --users members, then runs borrow batches of --batch random distinct
// books for random members from 1, 8, 32 and 64 concurrent clients.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "litengine-load:", err)
		os.Exit(1)
	}
}

type config struct {
	url       string
	clients   []int
	duration  time.Duration
	warmup    time.Duration
	key       string
	batch     int
	books     int
	users     int
	inventory int
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("litengine-load", flag.ContinueOnError)
	var (
		cfg     config
		clients = fs.String("clients", "1,8,32,64", "concurrent clients, one run per value")
	)
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:8080", "engine base URL (loopback only)")
	fs.StringVar(&cfg.key, "key", os.Getenv("LITENGINE_KEY"), "an admin or librarian API key (default: $LITENGINE_KEY)")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured time per client count")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unmeasured time before each run")
	fs.IntVar(&cfg.batch, "batch", 5, "books per borrow")
	fs.IntVar(&cfg.books, "books", 10000, "books 1..N take part; they must exist")
	fs.IntVar(&cfg.users, "users", 1000, "members to create for the run")
	fs.IntVar(&cfg.inventory, "inventory-runs", 5, "timed inventory updates of all N books")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, c := range strings.Split(*clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 || n > 1024 {
			return fmt.Errorf("--clients: %q is not a client count", c)
		}
		cfg.clients = append(cfg.clients, n)
	}
	if cfg.batch < 1 || cfg.batch > cfg.books {
		return errors.New("--batch must be between 1 and --books")
	}
	if cfg.key == "" {
		return errors.New("--key (or LITENGINE_KEY) is required: an admin or librarian API key")
	}

	client := &http.Client{Timeout: 30 * time.Second, Transport: bearer{cfg.key}}
	inv, err := stockAll(client, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "inventory of %d books in one request: mean %.1f ms, min %.1f ms over %d runs\n",
		cfg.books, ms(mean(inv)), ms(inv[0]), len(inv))
	users, err := createUsers(client, cfg)
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "\nborrow of %d books, %s per run\n\n", cfg.batch, cfg.duration)
	fmt.Fprintln(out, "| clients | borrows/s | p50 ms | p99 ms | max ms | errors |")
	fmt.Fprintln(out, "| ---: | ---: | ---: | ---: | ---: | --- |")
	for _, n := range cfg.clients {
		attack(cfg, users, n, cfg.warmup)
		m := attack(cfg, users, n, cfg.duration)
		fmt.Fprintf(out, "| %d | %.0f | %.2f | %.2f | %.2f | %s |\n", n, float64(okCount(m))/cfg.duration.Seconds(),
			ms(m.Latencies.P50), ms(m.Latencies.P99), ms(m.Latencies.Max), errorSummary(m))
	}
	return nil
}

// attack runs borrow batches from n clients for d and returns the metrics.
func attack(cfg config, users []int64, n int, d time.Duration) *vegeta.Metrics {
	rng := rand.New(rand.NewPCG(uint64(n), uint64(time.Now().UnixNano())))
	targeter := func(t *vegeta.Target) error {
		books := make([]int, 0, cfg.batch)
		for _, i := range rng.Perm(cfg.books)[:cfg.batch] {
			books = append(books, i+1)
		}
		body, _ := json.Marshal(map[string]any{"user_id": users[rng.IntN(len(users))], "books": books})
		t.Method, t.URL, t.Body = "POST", cfg.url+"/api/borrow", body
		t.Header = http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + cfg.key}}
		return nil
	}
	// A zero rate with a fixed worker count is a closed loop: n clients, each
	// sending its next request as soon as the previous one is answered.
	atk := vegeta.NewAttacker(vegeta.Workers(uint64(n)), vegeta.MaxWorkers(uint64(n)),
		vegeta.Connections(n), vegeta.KeepAlive(true), vegeta.Timeout(30*time.Second))
	var m vegeta.Metrics
	for res := range atk.Attack(safeTargeter(targeter), vegeta.Rate{Freq: 0}, d, "borrow") {
		m.Add(res)
	}
	m.Close()
	return &m
}

// safeTargeter serialises calls to a targeter that uses one random source.
func safeTargeter(tr vegeta.Targeter) vegeta.Targeter {
	ch := make(chan struct{}, 1)
	return func(t *vegeta.Target) error {
		ch <- struct{}{}
		defer func() { <-ch }()
		return tr(t)
	}
}

func okCount(m *vegeta.Metrics) int { return m.StatusCodes["201"] }

func errorSummary(m *vegeta.Metrics) string {
	var parts []string
	for code, n := range m.StatusCodes {
		if code != "201" {
			parts = append(parts, fmt.Sprintf("%s×%d", code, n))
		}
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// stockAll gives every book ample stock in one inventory request, several
// times, and returns the durations sorted.
func stockAll(c *http.Client, cfg config) ([]time.Duration, error) {
	var times []time.Duration
	for run := range max(1, cfg.inventory) {
		var b bytes.Buffer
		b.WriteString(`{"inventory":[`)
		for i := 1; i <= cfg.books; i++ {
			if i > 1 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"bookid":%d,"totalqty":%d}`, i, 900_000_000+run)
		}
		b.WriteString(`]}`)
		start := time.Now()
		if err := post(c, cfg.url+"/api/inventory", b.Bytes(), 200, nil); err != nil {
			return nil, fmt.Errorf("stock books 1..%d (import a catalogue first): %w", cfg.books, err)
		}
		times = append(times, time.Since(start))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times, nil
}

func createUsers(c *http.Client, cfg config) ([]int64, error) {
	users := make([]int64, cfg.users)
	for i := range users {
		var u struct{ ID int64 }
		if err := post(c, cfg.url+"/api/users", fmt.Appendf(nil, `{"name":"Load member %d"}`, i), 201, &u); err != nil {
			return nil, err
		}
		users[i] = u.ID
	}
	return users, nil
}

func post(c *http.Client, url string, body []byte, want int, out any) error {
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// bearer sends an API key with every request.
type bearer struct{ key string }

func (b bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.key)
	return http.DefaultTransport.RoundTrip(req)
}
