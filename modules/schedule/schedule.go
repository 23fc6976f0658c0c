package schedule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // IANA zones must resolve even on hosts without zoneinfo
)

// Trigger refs handled by Parse.
const (
	IntervalTrigger = "core.intervaltimer"
	CronTrigger     = "core.crontimer"
	DatetimeTrigger = "core.datetimetimer"
)

// DefaultGrace is how far in the past a datetime timer's fire_at may be and
// still fire (once, immediately) instead of being rejected.
const DefaultGrace = 60 * time.Second

// MaxSlots caps Slots regardless of the max argument.
const MaxSlots = 10000

// Schedule is a parsed timer definition. Implementations are immutable and
// safe for concurrent use; all returned times are UTC.
type Schedule interface {
	// Kind is "interval", "cron" or "datetime".
	Kind() string
	// Next returns the first slot strictly after `after`; false means the
	// timer will never fire again (a one-shot whose time has passed, or a
	// cron expression with no future match).
	Next(after time.Time) (time.Time, bool)
	// Slots returns up to max slots in (from, to], oldest first, for
	// catch-up after downtime: callers fire them in order and advance their
	// cursor to the last one, so a backlog drains over successive calls and
	// no slot is skipped. max is clamped to [0, MaxSlots].
	Slots(from, to time.Time, max int) []time.Time
	// Cursor returns the exclusive lower bound for Slots when a rule was
	// enabled at enabledAt and has never fired.
	Cursor(enabledAt time.Time) time.Time
	// Payload builds the event payload of spec §3 for a fire of slot at
	// firedAt; count is the rule's fire count including this one.
	Payload(slot, firedAt time.Time, count int64, sensorRef string) map[string]any
}

// Option tunes Parse.
type Option func(*options)

type options struct {
	anchor    time.Time
	now       time.Time
	allowPast bool
	grace     time.Duration
}

// WithAnchor sets the interval phase: slots are anchor + k×period. The
// default anchor is the Unix epoch, which every process agrees on without
// coordination; pass the rule's creation time to phase-shift per rule. It
// must be the same stored value in every sensor process.
func WithAnchor(t time.Time) Option { return func(o *options) { o.anchor = t } }

// WithNow sets the reference time for validating a datetime's fire_at
// (default time.Now()).
func WithNow(t time.Time) Option { return func(o *options) { o.now = t } }

// AllowPast accepts a datetime fire_at older than the grace window; such a
// timer fires once, immediately.
func AllowPast() Option { return func(o *options) { o.allowPast = true } }

// WithGrace changes the past-fire_at grace window (default DefaultGrace).
func WithGrace(d time.Duration) Option { return func(o *options) { o.grace = d } }

// Parse validates a rule's trigger_params for a timer trigger. Errors name
// the field, e.g. "trigger_params.interval: must be >= 1".
func Parse(triggerRef string, params json.RawMessage, opts ...Option) (Schedule, error) {
	o := options{anchor: time.Unix(0, 0), grace: DefaultGrace}
	for _, opt := range opts {
		opt(&o)
	}
	if o.now.IsZero() {
		o.now = time.Now()
	}
	fields, err := decodeFields(params)
	if err != nil {
		return nil, err
	}
	switch triggerRef {
	case IntervalTrigger:
		return parseInterval(fields, o)
	case CronTrigger:
		return parseCron(fields, o)
	case DatetimeTrigger:
		return parseDatetime(fields, o)
	}
	return nil, fmt.Errorf("trigger_ref: %q is not a timer trigger (want %s, %s or %s)",
		triggerRef, IntervalTrigger, CronTrigger, DatetimeTrigger)
}

// IsTimer reports whether Parse handles triggerRef.
func IsTimer(triggerRef string) bool {
	return triggerRef == IntervalTrigger || triggerRef == CronTrigger || triggerRef == DatetimeTrigger
}

type fieldMap map[string]json.RawMessage

func decodeFields(params json.RawMessage) (fieldMap, error) {
	trimmed := bytes.TrimSpace(params)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return fieldMap{}, nil
	}
	var m fieldMap
	if err := json.Unmarshal(trimmed, &m); err != nil {
		return nil, fmt.Errorf("trigger_params: must be a JSON object: %w", err)
	}
	return m, nil
}

// str returns an optional string field; absent or null yields def.
func (f fieldMap) str(name, def string) (string, error) {
	raw, ok := f[name]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return def, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("trigger_params.%s: must be a string", name)
	}
	return strings.TrimSpace(s), nil
}

func loadLocation(f fieldMap) (*time.Location, string, error) {
	tz, err := f.str("timezone", "UTC")
	if err != nil {
		return nil, "", err
	}
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || strings.EqualFold(tz, "local") {
		return nil, "", fmt.Errorf("trigger_params.timezone: %q is not an IANA time zone name", tz)
	}
	return loc, tz, nil
}

// slotsByNext implements Slots for any schedule through Next.
func slotsByNext(s Schedule, from, to time.Time, max int) []time.Time {
	max = min(max, MaxSlots)
	var out []time.Time
	cur := from
	for len(out) < max {
		next, ok := s.Next(cur)
		if !ok || next.After(to) {
			break
		}
		out = append(out, next)
		cur = next
	}
	return out
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
