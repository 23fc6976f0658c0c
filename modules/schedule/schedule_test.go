package schedule

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func mustParse(t *testing.T, ref, params string, opts ...Option) Schedule {
	t.Helper()
	s, err := Parse(ref, json.RawMessage(params), append([]Option{WithNow(t0)}, opts...)...)
	require.NoError(t, err)
	return s
}

func secs(ts []time.Time, base time.Time) []int {
	out := make([]int, len(ts))
	for i, t := range ts {
		out[i] = int(t.Sub(base) / time.Second)
	}
	return out
}

func TestCronSlotSequences(t *testing.T) {
	t.Parallel()
	cases := []struct {
		expr string
		want []int
	}{
		{"0,3,6,12 * * * * *", []int{3, 6, 12, 60, 63, 66, 72, 120}},
		{"*/5 * * * * *", []int{5, 10, 15, 20, 25, 30, 35, 40}},
		{"0 * * * * *", []int{60, 120, 180, 240, 300, 360, 420, 480}},
	}
	for _, tc := range cases {
		s := mustParse(t, CronTrigger, `{"expression":"`+tc.expr+`"}`)
		require.Equal(t, tc.want, secs(s.Slots(t0, t0.Add(time.Hour), 8), t0), tc.expr)
		next, ok := s.Next(t0.Add(500 * time.Millisecond))
		require.True(t, ok)
		require.Equal(t, tc.want[0], int(next.Sub(t0)/time.Second))
	}
}

func TestCronDayOfWeekSundayZero(t *testing.T) {
	t.Parallel()
	s := mustParse(t, CronTrigger, `{"expression":"0 0 9 * * 0"}`)
	next, ok := s.Next(t0) // t0 is Sunday 2025-06-01 12:00
	require.True(t, ok)
	require.Equal(t, time.Date(2025, 6, 8, 9, 0, 0, 0, time.UTC), next)
	require.Equal(t, time.Sunday, next.Weekday())
}

func TestCronDSTEuropeParis(t *testing.T) {
	t.Parallel()
	hourly := mustParse(t, CronTrigger, `{"expression":"0 0 * * * *","timezone":"Europe/Paris"}`)
	// Fall back 2025-10-26 03:00 CEST -> 02:00 CET: wall 02:00 occurs twice
	// (00:00 and 01:00 UTC) and fires once, at its first occurrence.
	from := time.Date(2025, 10, 25, 22, 30, 0, 0, time.UTC)
	got := hourly.Slots(from, from.Add(5*time.Hour), 10)
	require.Equal(t, []time.Time{
		time.Date(2025, 10, 25, 23, 0, 0, 0, time.UTC), // 01:00 CEST
		time.Date(2025, 10, 26, 0, 0, 0, 0, time.UTC),  // 02:00 CEST (first)
		time.Date(2025, 10, 26, 2, 0, 0, 0, time.UTC),  // 03:00 CET
		time.Date(2025, 10, 26, 3, 0, 0, 0, time.UTC),  // 04:00 CET
	}, got)
	// Asking from inside the repeated hour does not re-fire a repeated wall time.
	n, ok := hourly.Next(time.Date(2025, 10, 26, 1, 30, 0, 0, time.UTC))
	require.True(t, ok)
	require.Equal(t, time.Date(2025, 10, 26, 2, 0, 0, 0, time.UTC), n)

	// Spring forward 2025-03-30 02:00 CET -> 03:00 CEST: 02:30 does not
	// exist that day and is skipped.
	daily := mustParse(t, CronTrigger, `{"expression":"0 30 2 * * *","timezone":"Europe/Paris"}`)
	from = time.Date(2025, 3, 28, 12, 0, 0, 0, time.UTC)
	got = daily.Slots(from, from.Add(4*24*time.Hour), 10)
	require.Equal(t, []time.Time{
		time.Date(2025, 3, 29, 1, 30, 0, 0, time.UTC), // 02:30 CET
		time.Date(2025, 3, 31, 0, 30, 0, 0, time.UTC), // 02:30 CEST
		time.Date(2025, 4, 1, 0, 30, 0, 0, time.UTC),
	}, got)

	// A per-second expression crosses the gap without a hole or a repeat.
	every := mustParse(t, CronTrigger, `{"expression":"* * * * * *","timezone":"Europe/Paris"}`)
	gap := time.Date(2025, 3, 30, 0, 59, 58, 0, time.UTC)
	require.Equal(t, []int{1, 2, 3, 4}, secs(every.Slots(gap, gap.Add(time.Hour), 4), gap))
}

func TestCronLeapDayAndPayload(t *testing.T) {
	t.Parallel()
	s := mustParse(t, CronTrigger, `{"expression":"0 0 0 29 2 *"}`)
	next, ok := s.Next(t0)
	require.True(t, ok)
	require.Equal(t, time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC), next)

	c := mustParse(t, CronTrigger, `{"expression":"0 * * * * *","timezone":"Europe/Paris","description":"x"}`)
	slot := t0.Add(time.Minute)
	p := c.Payload(slot, slot.Add(250*time.Millisecond), 7, "core.timer_sensor")
	require.Equal(t, map[string]any{
		"type": "cron", "fired_at": "2025-06-01T12:01:00.25Z", "scheduled_at": "2025-06-01T12:01:00Z",
		"expression": "0 * * * * *", "timezone": "Europe/Paris", "next_fire_at": "2025-06-01T12:02:00Z",
		"execution_count": int64(7), "sensor_ref": "core.timer_sensor",
	}, p)
}

func TestIntervalAlignment(t *testing.T) {
	t.Parallel()
	anchor := time.Date(2025, 6, 1, 11, 59, 50, 0, time.UTC)
	a := mustParse(t, IntervalTrigger, `{"unit":"seconds","interval":30}`, WithAnchor(anchor))
	b := mustParse(t, IntervalTrigger, `{"interval":30,"unit":"seconds"}`, WithAnchor(anchor))
	// Two processes asking at different moments compute identical slots.
	sa := a.Slots(t0.Add(3*time.Second), t0.Add(2*time.Minute), 10)
	sb := b.Slots(t0.Add(17*time.Second), t0.Add(2*time.Minute), 10)
	require.Equal(t, []int{20, 50, 80, 110}, secs(sa, t0))
	require.Equal(t, sa, sb)
	// Slot boundaries are exclusive below, inclusive above.
	require.Equal(t, []int{50}, secs(a.Slots(t0.Add(20*time.Second), t0.Add(50*time.Second), 10), t0))
	// Before the anchor too (floor division).
	n, _ := a.Next(anchor.Add(-45 * time.Second))
	require.Equal(t, anchor.Add(-30*time.Second), n)
	// Default anchor is the epoch: minutes align to whole minutes.
	m := mustParse(t, IntervalTrigger, `{"unit":"minutes","interval":5}`)
	n, _ = m.Next(t0.Add(61 * time.Second))
	require.Equal(t, t0.Add(5*time.Minute), n)
	require.Equal(t, map[string]any{
		"type": "interval", "interval_seconds": int64(300), "fired_at": "2025-06-01T12:05:01Z",
		"scheduled_at": "2025-06-01T12:05:00Z", "execution_count": int64(3), "sensor_ref": "s",
	}, m.Payload(n, n.Add(time.Second), 3, "s"))
	// Catch-up is capped and oldest first.
	one := mustParse(t, IntervalTrigger, `{"interval":1}`)
	got := one.Slots(t0, t0.Add(time.Hour), 5)
	require.Equal(t, []int{1, 2, 3, 4, 5}, secs(got, t0))
	require.Equal(t, MaxSlots, len(one.Slots(t0, t0.Add(5*time.Hour), 1<<30)))
}

func TestDatetimeFiresOnce(t *testing.T) {
	t.Parallel()
	at := t0.Add(10 * time.Minute)
	s := mustParse(t, DatetimeTrigger, `{"fire_at":"2025-06-01T14:10:00+02:00","timezone":"Europe/Paris"}`)
	require.Equal(t, []time.Time{at}, s.Slots(s.Cursor(t0), t0.Add(time.Hour), 10))
	_, ok := s.Next(at)
	require.False(t, ok, "no fire after fire_at")
	require.Empty(t, s.Slots(at, t0.Add(time.Hour), 10))
	p := s.Payload(at, at.Add(1500*time.Millisecond), 1, "core.timer_sensor")
	require.Equal(t, int64(1500), p["delay_ms"])
	require.Equal(t, "one_shot", p["type"])
	require.Equal(t, "2025-06-01T12:10:00Z", p["fire_at"])

	// Local time without offset is read in the timezone.
	l := mustParse(t, DatetimeTrigger, `{"fire_at":"2025-06-01T14:10:00","timezone":"Europe/Paris"}`)
	n, ok := l.Next(t0)
	require.True(t, ok)
	require.Equal(t, at, n)

	// 30 s late: accepted, fires once immediately through Cursor.
	late := mustParse(t, DatetimeTrigger, `{"fire_at":"2025-06-01T11:59:30Z"}`)
	require.Equal(t, []time.Time{t0.Add(-30 * time.Second)}, late.Slots(late.Cursor(t0), t0, 10))
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ ref, params, want string }{
		{IntervalTrigger, `{"unit":"seconds","interval":0}`, "trigger_params.interval: must be >= 1"},
		{IntervalTrigger, `{"unit":"seconds"}`, "trigger_params.interval: required"},
		{IntervalTrigger, `{"interval":1.5}`, "trigger_params.interval: must be an integer"},
		{IntervalTrigger, `{"interval":"5"}`, "trigger_params.interval: must be an integer"},
		{IntervalTrigger, `{"interval":5,"unit":"weeks"}`, "trigger_params.unit:"},
		{IntervalTrigger, `{"interval":400,"unit":"days"}`, "exceeds the maximum"},
		{IntervalTrigger, `[1]`, "trigger_params: must be a JSON object"},
		{CronTrigger, `{"expression":"* * * * *"}`, "want 6 fields"},
		{CronTrigger, `{"expression":"61 * * * * *"}`, "not a valid cron expression"},
		{CronTrigger, `{"expression":"0 0 0 30 2 *"}`, "never fires"},
		{CronTrigger, `{"expression":"0 * * * * *","timezone":"Mars/Olympus"}`, "trigger_params.timezone:"},
		{CronTrigger, `{}`, "trigger_params.expression: required"},
		{DatetimeTrigger, `{"fire_at":"tomorrow"}`, "trigger_params.fire_at: \"tomorrow\" is not an ISO 8601"},
		{DatetimeTrigger, `{"fire_at":"2025-06-01T11:00:00Z"}`, "trigger_params.fire_at: 2025-06-01T11:00:00Z is 1h0m0s in the past"},
		{"core.webhook", `{}`, "trigger_ref:"},
	}
	for _, tc := range cases {
		_, err := Parse(tc.ref, json.RawMessage(tc.params), WithNow(t0))
		require.ErrorContains(t, err, tc.want, tc.params)
	}
	past, err := Parse(DatetimeTrigger, json.RawMessage(`{"fire_at":"2025-06-01T11:00:00Z"}`), WithNow(t0), AllowPast())
	require.NoError(t, err)
	require.Len(t, past.Slots(past.Cursor(t0), t0, 10), 1)
}
