package schedule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// maxPeriod bounds interval×unit; longer schedules belong in cron.
const maxPeriod = 366 * 24 * time.Hour

var units = map[string]time.Duration{
	"seconds": time.Second, "minutes": time.Minute, "hours": time.Hour, "days": 24 * time.Hour,
}

// Interval fires every Period, at Anchor + k×Period. "days" are fixed
// 24-hour periods, not calendar days, so slots ignore DST.
type Interval struct {
	Unit     string
	Interval int64
	Period   time.Duration
	Anchor   time.Time
}

func parseInterval(f fieldMap, o options) (*Interval, error) {
	unit, err := f.str("unit", "seconds")
	if err != nil {
		return nil, err
	}
	step, ok := units[unit]
	if !ok {
		return nil, fmt.Errorf("trigger_params.unit: %q is not one of seconds, minutes, hours, days", unit)
	}
	raw, ok := f["interval"]
	if !ok {
		return nil, fmt.Errorf("trigger_params.interval: required")
	}
	var num json.Number
	if err := json.Unmarshal(raw, &num); err != nil || bytes.HasPrefix(bytes.TrimSpace(raw), []byte(`"`)) {
		return nil, fmt.Errorf("trigger_params.interval: must be an integer")
	}
	n, err := num.Int64()
	if err != nil {
		return nil, fmt.Errorf("trigger_params.interval: must be an integer, got %s", num)
	}
	if n < 1 {
		return nil, fmt.Errorf("trigger_params.interval: must be >= 1, got %d", n)
	}
	if n > int64(maxPeriod/step) {
		return nil, fmt.Errorf("trigger_params.interval: %d %s exceeds the maximum of 366 days (use core.crontimer)", n, unit)
	}
	return &Interval{Unit: unit, Interval: n, Period: time.Duration(n) * step, Anchor: o.anchor.UTC()}, nil
}

// Kind implements Schedule.
func (s *Interval) Kind() string { return "interval" }

// Next implements Schedule. It is pure arithmetic on the anchor, so every
// process computes the same slot times, which is what lets the
// UNIQUE(rule, scheduled_for) key dedupe fires across sensor replicas.
func (s *Interval) Next(after time.Time) (time.Time, bool) {
	d := after.Sub(s.Anchor)
	k := d / s.Period
	if d < 0 && d%s.Period != 0 {
		k-- // floor division for times before the anchor
	}
	return s.Anchor.Add((k + 1) * s.Period), true
}

// Slots implements Schedule.
func (s *Interval) Slots(from, to time.Time, max int) []time.Time {
	return slotsByNext(s, from, to, max)
}

// Cursor implements Schedule: the first fire is the first slot after enabling.
func (s *Interval) Cursor(enabledAt time.Time) time.Time { return enabledAt }

// Payload implements Schedule.
func (s *Interval) Payload(slot, firedAt time.Time, count int64, sensorRef string) map[string]any {
	return map[string]any{
		"type":             "interval",
		"interval_seconds": int64(s.Period / time.Second),
		"fired_at":         stamp(firedAt),
		"scheduled_at":     stamp(slot),
		"execution_count":  count,
		"sensor_ref":       sensorRef,
	}
}
