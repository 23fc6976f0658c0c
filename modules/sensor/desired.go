package sensor

import (
	"encoding/json"
	"time"

	"github.com/attune-system/attune/modules/pack"
	"github.com/attune-system/attune/modules/schedule"
	"github.com/attune-system/attune/modules/store"
)

// triggerInstance is one rule a sensor process serves (sent on its stdin).
type triggerInstance struct {
	RuleID        int64           `json:"rule_id"`
	RuleRef       string          `json:"rule_ref"`
	TriggerRef    string          `json:"trigger_ref"`
	TriggerParams json.RawMessage `json:"trigger_params"`
}

// sensorSpec is everything one sensor process is launched with. Two specs
// with equal fingerprints need no restart.
type sensorSpec struct {
	ID          int64             `json:"id"`
	Ref         string            `json:"ref"`
	PackRef     string            `json:"pack_ref"`
	Entrypoint  string            `json:"entrypoint"`
	RuntimeID   int64             `json:"runtime_id"`
	RuntimeRef  string            `json:"runtime_ref"`
	Config      json.RawMessage   `json:"config"`
	Updated     time.Time         `json:"updated"`
	TriggerRefs []string          `json:"trigger_refs"`
	TriggerIDs  map[string]int64  `json:"trigger_ids"`
	Instances   []triggerInstance `json:"instances"`
}

func (s *sensorSpec) fingerprint() string {
	b, _ := json.Marshal(s) // plain data: cannot fail
	return string(b)
}

// hasInstance reports whether rule id is one of the sensor's instances on
// triggerRef.
func (s *sensorSpec) hasInstance(ruleID int64, triggerRef string) bool {
	for _, in := range s.Instances {
		if in.RuleID == ruleID && in.TriggerRef == triggerRef {
			return true
		}
	}
	return false
}

// desiredSensors groups bindings (ordered by sensor, rule) into the sensor
// processes that must run. Timer triggers and the builtin timer sensor are
// served in-process and never launched.
func desiredSensors(bindings []store.SensorBinding) map[int64]*sensorSpec {
	out := map[int64]*sensorSpec{}
	for _, b := range bindings {
		if schedule.IsTimer(b.TriggerRef) || isBuiltinSensor(b) {
			continue
		}
		s, ok := out[b.SensorID]
		if !ok {
			s = &sensorSpec{
				ID: b.SensorID, Ref: b.SensorRef, PackRef: b.SensorPackRef, Entrypoint: b.SensorEntrypoint,
				RuntimeID: b.SensorRuntimeID, RuntimeRef: b.SensorRuntimeRef, Config: b.SensorConfig,
				Updated: b.SensorUpdated.UTC(), TriggerRefs: b.SensorTriggerRefs, TriggerIDs: map[string]int64{},
			}
			out[b.SensorID] = s
		}
		s.TriggerIDs[b.TriggerRef] = b.TriggerID
		s.Instances = append(s.Instances, triggerInstance{
			RuleID: b.RuleID, RuleRef: b.RuleRef, TriggerRef: b.TriggerRef, TriggerParams: b.TriggerParams,
		})
	}
	return out
}

func isBuiltinSensor(b store.SensorBinding) bool {
	return b.SensorPackRef == "core" && pack.BuiltinEntryPoints[b.SensorEntrypoint] == "sensor"
}
