package schedule

import (
	"fmt"
	"time"
)

// layouts with an explicit offset; the instant is taken as written.
var zonedLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"}

// localLayouts have no offset and are read in trigger_params.timezone.
var localLayouts = []string{
	"2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02T15:04",
	"2006-01-02 15:04:05", "2006-01-02 15:04",
}

// Datetime fires once at FireAt.
//
// Past policy: a fire_at up to the grace window (DefaultGrace, 60 s) before
// Parse's reference time is accepted and fires once, immediately; anything
// older is rejected unless AllowPast is given, in which case it also fires
// once, immediately. "Immediately" works through Cursor, which places the
// cursor just before FireAt so Slots(Cursor(enabledAt), now) contains it.
type Datetime struct {
	FireAt   time.Time
	Timezone string
	// lateOK is how long after FireAt a never-fired rule still fires it.
	lateOK time.Duration
}

func parseDatetime(f fieldMap, o options) (*Datetime, error) {
	raw, err := f.str("fire_at", "")
	if err != nil {
		return nil, err
	}
	if raw == "" {
		return nil, fmt.Errorf("trigger_params.fire_at: required")
	}
	loc, tz, err := loadLocation(f)
	if err != nil {
		return nil, err
	}
	at, ok := parseFireAt(raw, loc)
	if !ok {
		return nil, fmt.Errorf("trigger_params.fire_at: %q is not an ISO 8601 date-time (e.g. 2026-05-01T09:00:00Z)", raw)
	}
	d := &Datetime{FireAt: at.UTC(), Timezone: tz, lateOK: o.grace}
	if age := o.now.Sub(at); age > o.grace {
		if !o.allowPast {
			return nil, fmt.Errorf("trigger_params.fire_at: %s is %s in the past (only %s of lateness is accepted)",
				raw, age.Round(time.Second), o.grace)
		}
		d.lateOK = age + o.grace
	}
	return d, nil
}

func parseFireAt(s string, loc *time.Location) (time.Time, bool) {
	for _, l := range zonedLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// Kind implements Schedule.
func (d *Datetime) Kind() string { return "datetime" }

// Next implements Schedule: FireAt if it is after `after`, else no more fires.
func (d *Datetime) Next(after time.Time) (time.Time, bool) {
	if after.Before(d.FireAt) {
		return d.FireAt, true
	}
	return time.Time{}, false
}

// Slots implements Schedule.
func (d *Datetime) Slots(from, to time.Time, max int) []time.Time {
	return slotsByNext(d, from, to, max)
}

// Cursor implements Schedule. A rule enabled shortly after (within the
// accepted lateness of) FireAt gets a cursor just before FireAt, so the
// one-shot fires once at once; otherwise the cursor is enabledAt.
func (d *Datetime) Cursor(enabledAt time.Time) time.Time {
	if !enabledAt.Before(d.FireAt) && enabledAt.Sub(d.FireAt) <= d.lateOK {
		return d.FireAt.Add(-time.Nanosecond)
	}
	return enabledAt
}

// Payload implements Schedule; delay_ms is how late the fire was.
func (d *Datetime) Payload(slot, firedAt time.Time, _ int64, sensorRef string) map[string]any {
	return map[string]any{
		"type":       "one_shot",
		"fire_at":    stamp(slot),
		"fired_at":   stamp(firedAt),
		"timezone":   d.Timezone,
		"delay_ms":   firedAt.Sub(slot).Milliseconds(),
		"sensor_ref": sensorRef,
	}
}
