package sensor

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/attune-system/attune/modules/kernel"
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
		timerFires: kernel.Collector(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "attune_sensor_timer_fires_total", Help: "Timer slots fired (events created) by this process.",
		}, []string{"rule_ref", "trigger_ref"})),
		timerMissed: kernel.Collector(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "attune_sensor_timer_missed_slots_total",
			Help: "Timer slots found unfired after sensor.misfire_grace, by missed-fire policy.",
		}, []string{"rule_ref", "policy"})),
		restarts: kernel.Collector(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "attune_sensor_process_restarts_total", Help: "Restarts of sensor processes after they exited on their own.",
		}, []string{"sensor_ref"})),
		running: kernel.Collector(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "attune_sensor_processes_running", Help: "Sensor processes currently running.",
		})),
		sensorEvents: kernel.Collector(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "attune_sensor_emitted_lines_total",
			Help: "Lines emitted by sensor processes on stdout, by outcome (event, duplicate, dropped).",
		}, []string{"sensor_ref", "outcome"})),
	}
}
