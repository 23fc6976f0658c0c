package store

import (
	"context"
	"encoding/json"
	"time"
)

// RuleListEnabledTimers lists the enabled rules (with a live action) whose
// trigger is one of triggerRefs: the timers a sensor process must run.
func (d *DB) RuleListEnabledTimers(ctx context.Context, triggerRefs []string) ([]Rule, error) {
	rows, err := d.q.RuleListEnabledTimers(ctx, d.db, triggerRefs)
	if err != nil {
		return nil, interpretError(err, "list enabled timer rules")
	}
	return rulesFromRows(rows), nil
}

// SensorBinding is one enabled rule whose trigger is served by an enabled
// sensor, with what is needed to launch that sensor.
type SensorBinding struct {
	RuleID        int64
	RuleRef       string
	TriggerRef    string
	TriggerID     int64
	TriggerParams json.RawMessage

	SensorID         int64
	SensorRef        string
	SensorPackRef    string
	SensorEntrypoint string
	SensorRuntimeID  int64
	SensorRuntimeRef string
	SensorConfig     json.RawMessage
	SensorUpdated    time.Time
	// SensorTriggerRefs are every enabled trigger the sensor serves (its
	// trigger_types), sorted.
	SensorTriggerRefs []string
}

// RuleListEnabledSensorBindings lists every (enabled rule, sensor) pair,
// ordered by sensor then rule.
func (d *DB) RuleListEnabledSensorBindings(ctx context.Context) ([]SensorBinding, error) {
	rows, err := d.q.RuleListEnabledSensorBindings(ctx, d.db)
	if err != nil {
		return nil, interpretError(err, "list enabled sensor rules")
	}
	out := make([]SensorBinding, len(rows))
	for i, r := range rows {
		pack := ""
		if r.SensorPackRef != nil {
			pack = *r.SensorPackRef
		}
		out[i] = SensorBinding{
			RuleID: r.RuleID, RuleRef: r.RuleRef, TriggerRef: r.TriggerRef, TriggerID: r.TriggerID,
			TriggerParams: r.TriggerParams, SensorID: r.SensorID, SensorRef: r.SensorRef, SensorPackRef: pack,
			SensorEntrypoint: r.SensorEntrypoint, SensorRuntimeID: r.SensorRuntime, SensorRuntimeRef: r.SensorRuntimeRef,
			SensorConfig: r.SensorConfig, SensorUpdated: r.SensorUpdated, SensorTriggerRefs: r.SensorTriggerRefs,
		}
	}
	return out, nil
}
