package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/oas"
)

// Metrics are the engine's Prometheus collectors, registered on a registry the
// caller owns, so that tests and embedders never share global state.
type Metrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	batchSize *prometheus.HistogramVec
	errors    *prometheus.CounterVec
	// LimiterErrors counts rate-limit decisions that failed (Redis
	// unreachable, say) and were let through by a fail-open limiter.
	LimiterErrors prometheus.Counter
	handler       http.Handler
}

// NewMetrics creates the collectors and registers them on reg, with the pool
// statistics of store when it reports them.
func NewMetrics(reg *prometheus.Registry, store litengine.Store) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "litengine_http_requests_total",
			Help: "HTTP requests by operation, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "litengine_http_request_duration_seconds",
			Help:    "HTTP request latency by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "litengine_batch_items",
			Help:    "Items per batch request, by operation.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 1000, 10000},
		}, []string{"operation"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "litengine_errors_total",
			Help: "Error responses by error code.",
		}, []string{"code"}),
		LimiterErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "litengine_ratelimit_errors_total",
			Help: "Rate-limit decisions that failed and let the request through (fail-open).",
		}),
		handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}),
	}
	reg.MustRegister(m.requests, m.latency, m.batchSize, m.errors, m.LimiterErrors)
	if sr, ok := store.(litengine.StatsReporter); ok {
		reg.MustRegister(poolCollector{sr})
	}
	return m
}

// observe records one finished request.
func (m *Metrics) observe(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, methodLabel(method), strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// methodLabel keeps the method label to the methods HTTP defines: any other
// token a client makes up is "other", so that clients cannot grow the
// metrics without bound.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

func (m *Metrics) batch(operation string, items int) {
	if m != nil {
		m.batchSize.WithLabelValues(operation).Observe(float64(items))
	}
}

func (m *Metrics) error(code string) {
	if m != nil {
		m.errors.WithLabelValues(code).Inc()
	}
}

// routeName labels a request by its operation, so that ids in paths do not
// explode the label's cardinality.
func routeName(gen *oas.Server, r *http.Request) string {
	switch r.URL.Path {
	case "/api/openapi.yaml":
		return "openapi"
	case "/metrics":
		return "metrics"
	}
	if route, ok := gen.FindPath(r.Method, r.URL); ok {
		return route.OperationID()
	}
	return "unmatched"
}

var (
	poolMaxDesc   = prometheus.NewDesc("litengine_db_pool_max_connections", "Most connections the pool may open.", nil, nil)
	poolOpenDesc  = prometheus.NewDesc("litengine_db_pool_open_connections", "Connections open now.", nil, nil)
	poolInUseDesc = prometheus.NewDesc("litengine_db_pool_in_use_connections", "Connections in use now.", nil, nil)
	poolIdleDesc  = prometheus.NewDesc("litengine_db_pool_idle_connections", "Idle connections now.", nil, nil)
	poolWaitsDesc = prometheus.NewDesc("litengine_db_pool_waits_total", "Acquisitions that waited for a connection.", nil, nil)
	poolWaitDesc  = prometheus.NewDesc("litengine_db_pool_wait_seconds_total", "Time spent waiting for connections.", nil, nil)
	txRetriesDesc = prometheus.NewDesc("litengine_db_tx_retries_total", "Transactions retried after a serialization failure or deadlock.", nil, nil)
)

// poolCollector reads the store's pool statistics at scrape time.
type poolCollector struct{ store litengine.StatsReporter }

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolMaxDesc, poolOpenDesc, poolInUseDesc, poolIdleDesc, poolWaitsDesc, poolWaitDesc, txRetriesDesc} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.store.PoolStats()
	ch <- prometheus.MustNewConstMetric(poolMaxDesc, prometheus.GaugeValue, float64(s.MaxConns))
	ch <- prometheus.MustNewConstMetric(poolOpenDesc, prometheus.GaugeValue, float64(s.OpenConns))
	ch <- prometheus.MustNewConstMetric(poolInUseDesc, prometheus.GaugeValue, float64(s.InUseConns))
	ch <- prometheus.MustNewConstMetric(poolIdleDesc, prometheus.GaugeValue, float64(s.IdleConns))
	ch <- prometheus.MustNewConstMetric(poolWaitsDesc, prometheus.CounterValue, float64(s.WaitCount))
	ch <- prometheus.MustNewConstMetric(poolWaitDesc, prometheus.CounterValue, s.WaitDuration.Seconds())
	ch <- prometheus.MustNewConstMetric(txRetriesDesc, prometheus.CounterValue, float64(s.TxRetries))
}
