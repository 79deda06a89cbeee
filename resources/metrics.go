package resources

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the HTTP metrics served at /metrics. Labels are bounded:
// interaction names are fixed, resource_type is empty for unknown types.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

func newMetrics(r *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		registry: r,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ward_http_requests_total",
			Help: "HTTP requests served, by FHIR interaction, resource type and status code.",
		}, []string{"interaction", "resource_type", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ward_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request in seconds, by FHIR interaction and resource type.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"interaction", "resource_type"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency} {
		if err := r.Register(c); err != nil {
			return nil, fmt.Errorf("register HTTP metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) observe(interaction, resourceType string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(interaction, resourceType, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(interaction, resourceType).Observe(elapsed.Seconds())
}

func (a *API) serveMetrics() gin.HandlerFunc {
	h := promhttp.HandlerFor(a.metrics.registry, promhttp.HandlerOpts{})
	return gin.WrapH(h)
}
