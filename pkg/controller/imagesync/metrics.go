package imagesync

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portager/portager/pkg/syncer"
)

// Metrics are the controller's Prometheus series. Labels carry only bounded
// values (results, outcomes, registry hosts, object names), never counts.
type Metrics struct {
	Registry *prometheus.Registry

	runs          *prometheus.CounterVec
	runDuration   *prometheus.HistogramVec
	tags          *prometheus.CounterVec
	bytesCopied   prometheus.Counter
	requests      *prometheus.CounterVec
	requestErrors *prometheus.CounterVec
	circuitOpen   *prometheus.GaugeVec
	circuitTrips  *prometheus.CounterVec
	lastSync      *prometheus.GaugeVec
	failedTags    *prometheus.GaugeVec
}

// NewMetrics registers the series in a registry of their own; queueDepth is
// read at scrape time.
func NewMetrics(queueDepth func() float64) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portager_sync_runs_total", Help: "Sync runs by result (success, partial, failed, error).",
		}, []string{"result"}),
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "portager_sync_run_duration_seconds", Help: "Duration of sync runs by result.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}, []string{"result"}),
		tags: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portager_tags_total", Help: "Tags handled by outcome (copied, skipped, failed).",
		}, []string{"outcome"}),
		bytesCopied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portager_bytes_copied_total", Help: "Blob bytes uploaded to destination registries.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portager_registry_requests_total", Help: "HTTP requests to registries by host and status class.",
		}, []string{"registry", "code"}),
		requestErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portager_registry_request_errors_total", Help: "Registry requests that failed (transport error or 5xx/429) by host.",
		}, []string{"registry"}),
		circuitOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "portager_registry_circuit_open", Help: "1 while requests to a registry host are paused after a run of server errors.",
		}, []string{"registry"}),
		circuitTrips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portager_registry_circuit_trips_total", Help: "Times requests to a registry host were paused after a run of server errors.",
		}, []string{"registry"}),
		lastSync: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "portager_imagesync_last_sync_timestamp_seconds", Help: "When an ImageSync last finished a run.",
		}, []string{"namespace", "name"}),
		failedTags: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "portager_imagesync_failed_tags", Help: "Tags that failed in an ImageSync's last run.",
		}, []string{"namespace", "name"}),
	}
	m.Registry.MustRegister(m.runs, m.runDuration, m.tags, m.bytesCopied, m.requests, m.requestErrors, m.circuitOpen, m.circuitTrips, m.lastSync, m.failedTags,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "portager_workqueue_depth", Help: "ImageSyncs waiting in the work queue."}, queueDepth),
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// forget drops the per-object series of a deleted ImageSync.
func (m *Metrics) forget(namespace, name string) {
	m.lastSync.DeleteLabelValues(namespace, name)
	m.failedTags.DeleteLabelValues(namespace, name)
}

// breakerChanged records a registry host's breaker opening or closing. The
// engine keeps breakers for spec registries only, so the label is bounded
// by the specs.
func (m *Metrics) breakerChanged(host string, open bool) {
	if open {
		m.circuitOpen.WithLabelValues(host).Set(1)
		m.circuitTrips.WithLabelValues(host).Inc()
		return
	}
	m.circuitOpen.WithLabelValues(host).Set(0)
}

// otherHost labels requests to hosts that are no run's source or
// destination registry: redirect targets, upload locations, token services.
const otherHost = "other"

// instrument counts each registry request by host and status class. Only
// the registries ImageSync specs name become label values; a host a
// registry sent the controller to counts as "other", so the number of
// series is bounded by the specs, not by what registries answer.
func (m *Metrics) instrument(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		host := req.URL.Host
		if !syncer.IsRunRegistry(req.Context(), host) {
			host = otherHost
		}
		switch {
		case err != nil:
			m.requests.WithLabelValues(host, "error").Inc()
			m.requestErrors.WithLabelValues(host).Inc()
		default:
			m.requests.WithLabelValues(host, strconv.Itoa(resp.StatusCode/100)+"xx").Inc()
			if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
				m.requestErrors.WithLabelValues(host).Inc()
			}
		}
		return resp, err
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
