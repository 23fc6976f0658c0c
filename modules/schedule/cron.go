package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/adhocore/gronx"
)

// maxCronSkips bounds how many candidate wall times Next may discard around
// DST transitions (a per-second expression discards up to 3600 in one gap).
const maxCronSkips = 8000

// Cron fires at wall-clock times matching a 6-field expression
// (sec min hour dom mon dow, 0 or 7 = Sunday) in Location.
//
// DST policy: matching runs on wall-clock time. A wall time that does not
// exist (spring-forward gap) is skipped; a wall time that occurs twice
// (fall-back overlap) fires once, at its first occurrence.
type Cron struct {
	Expression string
	Timezone   string
	Location   *time.Location
	gronxExpr  string
}

func parseCron(f fieldMap, o options) (*Cron, error) {
	expr, err := f.str("expression", "")
	if err != nil {
		return nil, err
	}
	if expr == "" {
		return nil, fmt.Errorf("trigger_params.expression: required")
	}
	fields := strings.Fields(expr)
	if len(fields) != 6 {
		return nil, fmt.Errorf("trigger_params.expression: want 6 fields (sec min hour day-of-month month day-of-week), got %d in %q", len(fields), expr)
	}
	// gronx reads 6 fields as sec…dow too, but treats a 4-digit 6th field as
	// a year; appending an explicit year field removes that ambiguity.
	gexpr := strings.Join(fields, " ") + " *"
	if !gronx.IsValid(gexpr) {
		return nil, fmt.Errorf("trigger_params.expression: %q is not a valid cron expression", expr)
	}
	loc, tz, err := loadLocation(f)
	if err != nil {
		return nil, err
	}
	c := &Cron{Expression: strings.Join(fields, " "), Timezone: tz, Location: loc, gronxExpr: gexpr}
	if _, ok := c.Next(o.now); !ok {
		return nil, fmt.Errorf("trigger_params.expression: %q never fires", expr)
	}
	return c, nil
}

// Kind implements Schedule.
func (c *Cron) Kind() string { return "cron" }

// Next implements Schedule.
func (c *Cron) Next(after time.Time) (time.Time, bool) {
	local := after.In(c.Location)
	// gronx runs on a fake-UTC copy of the wall clock, where no DST exists;
	// each candidate is mapped back to real instants here.
	wall := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(),
		local.Minute(), local.Second(), local.Nanosecond(), time.UTC)
	for range maxCronSkips {
		n, err := gronx.NextTickAfter(c.gronxExpr, wall, false)
		if err != nil || !n.After(wall) {
			return time.Time{}, false
		}
		wall = n
		inst, ok := firstInstant(n, c.Location)
		if !ok || !inst.After(after) {
			continue // nonexistent wall time, or its first occurrence already passed
		}
		return inst.UTC(), true
	}
	return time.Time{}, false
}

// firstInstant maps a wall time (carried in a UTC time.Time) to its earliest
// real instant in loc; false when the wall time falls in a DST gap.
func firstInstant(wall time.Time, loc *time.Location) (time.Time, bool) {
	var best time.Time
	found := false
	for _, probe := range []time.Duration{-12 * time.Hour, 0, 12 * time.Hour} {
		_, off := wall.Add(probe).In(loc).Zone()
		cand := wall.Add(-time.Duration(off) * time.Second)
		lt := cand.In(loc)
		same := lt.Year() == wall.Year() && lt.YearDay() == wall.YearDay() && lt.Hour() == wall.Hour() &&
			lt.Minute() == wall.Minute() && lt.Second() == wall.Second()
		if same && (!found || cand.Before(best)) {
			best, found = cand, true
		}
	}
	return best, found
}

// Slots implements Schedule.
func (c *Cron) Slots(from, to time.Time, max int) []time.Time {
	return slotsByNext(c, from, to, max)
}

// Cursor implements Schedule.
func (c *Cron) Cursor(enabledAt time.Time) time.Time { return enabledAt }

// Payload implements Schedule.
func (c *Cron) Payload(slot, firedAt time.Time, count int64, sensorRef string) map[string]any {
	var next any
	if n, ok := c.Next(slot); ok {
		next = stamp(n)
	}
	return map[string]any{
		"type":            "cron",
		"fired_at":        stamp(firedAt),
		"scheduled_at":    stamp(slot),
		"expression":      c.Expression,
		"timezone":        c.Timezone,
		"next_fire_at":    next,
		"execution_count": count,
		"sensor_ref":      sensorRef,
	}
}
