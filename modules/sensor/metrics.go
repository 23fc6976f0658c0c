package sensor

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	timerFires   *prometheus.CounterVec // rule_ref, trigger_ref
	timerMissed  *prometheus.CounterVec // rule_ref, policy
	restarts     *prometheus.CounterVec // sensor_ref
	running      prometheus.Gauge
	sensorEvents *prometheus.CounterVec // sensor_ref, outcome
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		timerFires: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "attune_sensor_timer_fires_total", Help: "Timer slots fired (events created) by this process.",
		}, []string{"rule_ref", "trigger_ref"})),
		timerMissed: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "attune_sensor_timer_missed_slots_total",
			Help: "Timer slots found unfired after sensor.misfire_grace, by missed-fire policy.",
		}, []string{"rule_ref", "policy"})),
		restarts: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "attune_sensor_process_restarts_total", Help: "Restarts of sensor processes after they exited on their own.",
		}, []string{"sensor_ref"})),
		running: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "attune_sensor_processes_running", Help: "Sensor processes currently running.",
		})),
		sensorEvents: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "attune_sensor_emitted_lines_total",
			Help: "Lines emitted by sensor processes on stdout, by outcome (event, duplicate, dropped).",
		}, []string{"sensor_ref", "outcome"})),
	}
}

// register adopts an identical collector already registered (a second
// module instance in one process, as in tests) instead of failing.
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
