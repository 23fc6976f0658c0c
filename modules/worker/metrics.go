package worker

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/attune-system/attune/modules/kernel"
)

// metrics are the worker's Prometheus instruments.
type metrics struct {
	running   prometheus.Gauge
	completed *prometheus.CounterVec
	launch    prometheus.Histogram
	woken     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "attune_worker_running_executions", Help: "Actions running on this worker.",
		}),
		completed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "attune_worker_executions_completed_total", Help: "Results written, by terminal status.",
		}, []string{"status"}),
		launch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "attune_worker_launch_latency_seconds", Help: "Dispatch received to process launch.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		woken: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "attune_worker_dispatches_woken_total",
			Help: "Dispatches taken from their PostgreSQL wake-up, ahead of the broker's copy.",
		}),
	}
	if reg != nil {
		m.running = kernel.Collector(reg, m.running)
		m.completed = kernel.Collector(reg, m.completed)
		m.launch = kernel.Collector(reg, m.launch)
		m.woken = kernel.Collector(reg, m.woken)
	}
	return m
}
