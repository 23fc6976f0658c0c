package executor

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/attune-system/attune/modules/kernel"
)

// metrics are the executor's Prometheus instruments.
type metrics struct {
	evaluated     *prometheus.CounterVec
	copiesSkipped prometheus.Counter
	firingsHinted prometheus.Counter
	wakeDropped   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		evaluated: kernel.Collector(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "attune_executor_events_evaluated_total",
			Help: "Events evaluated against their rules, by the copy that arrived first (wake-up, broker).",
		}, []string{"path"})),
		copiesSkipped: kernel.Collector(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "attune_executor_event_copies_skipped_total",
			Help: "Broker copies of events this executor had already evaluated from their wake-up.",
		})),
		firingsHinted: kernel.Collector(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "attune_executor_firings_hinted_total",
			Help: "Rule firings not repeated because the executor woken for the event announced them.",
		})),
		wakeDropped: kernel.Collector(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "attune_executor_wakeups_dropped_total",
			Help: "Event wake-ups left to the broker's copy because the backlog was full.",
		})),
	}
}
