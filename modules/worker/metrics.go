package worker

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
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
		m.running = register(reg, m.running)
		m.completed = register(reg, m.completed)
		m.launch = register(reg, m.launch)
		m.woken = register(reg, m.woken)
	}
	return m
}

// register adopts an already registered identical collector (a second
// worker module on one registry, as in tests) instead of panicking.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}
