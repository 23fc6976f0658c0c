package notifier

import "github.com/prometheus/client_golang/prometheus"

// Drop reasons of attune_notifier_messages_dropped_total.
const (
	dropLagging   = "lagging"   // the client's buffer was full; it was disconnected with 4408
	dropForbidden = "forbidden" // matched a filter but the subscriber may not read the entity
)

type metrics struct {
	clients    prometheus.Gauge
	delivered  prometheus.Counter
	dropped    *prometheus.CounterVec
	received   *prometheus.CounterVec
	reconnects prometheus.Counter
	latency    prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		clients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "attune_notifier_clients", Help: "Connected WebSocket clients.",
		}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "attune_notifier_messages_delivered_total", Help: "Notification frames written to clients.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "attune_notifier_messages_dropped_total",
			Help: "Notifications not delivered to a subscriber, by reason (lagging, forbidden).",
		}, []string{"reason"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "attune_notifier_notifications_received_total", Help: "PostgreSQL notifications received, by channel.",
		}, []string{"channel"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "attune_notifier_listen_reconnects_total", Help: "Times the LISTEN connection was re-established.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "attune_notifier_delivery_latency_seconds",
			Help:    "Time from receiving a notification from PostgreSQL to writing it to a client.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
	}
	m.dropped.WithLabelValues(dropLagging)
	m.dropped.WithLabelValues(dropForbidden)
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.clients, m.delivered, m.dropped, m.received, m.reconnects, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
