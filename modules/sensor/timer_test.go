package sensor_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/sensor"
)

// T1.1: an interval timer fires on anchor-aligned slots (anchor = rule
// creation), each within 500 ms, one event per slot, on both buses.
func TestIntervalTimerFiresOnTime(t *testing.T) {
	t.Parallel()
	for _, rabbit := range []bool{false, true} {
		t.Run(fmt.Sprintf("rabbitmq=%v", rabbit), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			b := newBus(t, rabbit)
			h.start(b, nil)
			r := h.rule("every1s", "core.intervaltimer", `{"unit": "seconds", "interval": 1}`)
			announce(t, b, bus.KeyRuleCreated, r)
			fs := h.waitFires(r.ID, 4, 8*time.Second)
			requirePunctual(t, fs, 500*time.Millisecond)
			for i, f := range fs {
				require.Zero(t, f.slot.Sub(r.Created)%time.Second, "slot %s not aligned to the rule's creation", f.slot)
				require.True(t, f.slot.After(r.Updated), "slot before the rule was enabled")
				require.EqualValues(t, i+1, f.payload["execution_count"])
				require.Equal(t, "interval", f.payload["type"])
				if i > 0 {
					require.Equal(t, time.Second, f.slot.Sub(fs[i-1].slot), "slots must be consecutive")
				}
			}
			require.Equal(t, len(h.fires(r.ID)), h.count(`SELECT count(*) FROM timer_fire WHERE rule_id = $1`, r.ID))
		})
	}
}

// T1.2: a datetime timer 2 s ahead fires exactly once, on time.
func TestDatetimeTimerFiresOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.start(newBus(t, false), nil)
	at := time.Now().Add(2 * time.Second).UTC().Truncate(time.Millisecond)
	r := h.rule("once", "core.datetimetimer", fmt.Sprintf(`{"fire_at": %q}`, at.Format(time.RFC3339Nano)))
	fs := h.waitFires(r.ID, 1, 5*time.Second)
	require.True(t, fs[0].slot.Equal(at), "fired slot %s, want %s", fs[0].slot, at)
	requirePunctual(t, fs, 500*time.Millisecond)
	require.Equal(t, "one_shot", fs[0].payload["type"])
	// Nothing more, across several resyncs.
	time.Sleep(1500 * time.Millisecond)
	require.Len(t, h.fires(r.ID), 1)
	require.Equal(t, 1, h.count(`SELECT count(*) FROM timer_fire WHERE rule_id = $1`, r.ID))
}

// T1.3: a 6-field cron with seconds fires exactly at matching seconds.
func TestCronTimerFiresAtMatchingSeconds(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.start(newBus(t, false), nil)
	r := h.rule("cron2s", "core.crontimer", `{"expression": "*/2 * * * * *", "timezone": "UTC"}`)
	fs := h.waitFires(r.ID, 3, 8*time.Second)
	requirePunctual(t, fs, 500*time.Millisecond)
	for i, f := range fs {
		require.Zero(t, f.slot.Nanosecond(), "slot %s", f.slot)
		require.Zero(t, f.slot.Second()%2, "slot %s is not an even second", f.slot)
		require.Equal(t, "*/2 * * * * *", f.payload["expression"])
		if i > 0 {
			require.Equal(t, 2*time.Second, f.slot.Sub(fs[i-1].slot))
		}
	}
}

// T3.1: a datetime already in the past when the rule is enabled fires once,
// immediately, if at most 60 s late; an older one never fires (and is
// reported as an invalid timer).
func TestDatetimeInThePast(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.start(newBus(t, false), nil)
	recent := time.Now().Add(-10 * time.Second).UTC().Truncate(time.Millisecond)
	old := time.Now().Add(-5 * time.Minute).UTC().Truncate(time.Millisecond)
	rRecent := h.rule("recent", "core.datetimetimer", fmt.Sprintf(`{"fire_at": %q}`, recent.Format(time.RFC3339Nano)))
	rOld := h.rule("old", "core.datetimetimer", fmt.Sprintf(`{"fire_at": %q}`, old.Format(time.RFC3339Nano)))
	fs := h.waitFires(rRecent.ID, 1, 3*time.Second)
	require.True(t, fs[0].slot.Equal(recent))
	require.Less(t, fs[0].created.Sub(rRecent.Created), 1500*time.Millisecond, "late datetime must fire immediately")
	time.Sleep(1200 * time.Millisecond) // two resyncs
	require.Len(t, h.fires(rRecent.ID), 1)
	require.Empty(t, h.fires(rOld.ID))
}

// T3.2: disabling a rule stops its timer at once (lifecycle message, with a
// resync far away) and enabling resumes it from the enable time, never
// firing the slots of the disabled period. Both buses.
func TestDisableStopsEnableResumes(t *testing.T) {
	t.Parallel()
	for _, rabbit := range []bool{false, true} {
		t.Run(fmt.Sprintf("rabbitmq=%v", rabbit), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			b := newBus(t, rabbit)
			h.start(b, func(c *sensor.Config) { c.ResyncInterval = time.Minute })
			ctx := context.Background()
			r := h.rule("toggle", "core.intervaltimer", `{"interval": 1}`)
			announce(t, b, bus.KeyRuleCreated, r) // the initial load ran before the rule existed
			h.waitFires(r.ID, 2, 5*time.Second)

			r, err := h.st.RuleSetEnabled(ctx, r.ID, false)
			require.NoError(t, err)
			disabledAt := time.Now()
			announce(t, b, bus.KeyRuleDisabled, r)
			time.Sleep(2500 * time.Millisecond)
			before := h.fires(r.ID)
			for _, f := range before {
				// At most the slot already in flight when the message arrived.
				require.False(t, f.slot.After(disabledAt.Add(time.Second)), "fired %s after disable at %s", f.slot, disabledAt)
			}

			r, err = h.st.RuleSetEnabled(ctx, r.ID, true)
			require.NoError(t, err)
			announce(t, b, bus.KeyRuleEnabled, r)
			after := h.waitFires(r.ID, len(before)+2, 5*time.Second)
			for _, f := range after[len(before):] {
				require.True(t, f.slot.After(r.Updated), "resumed slot %s before re-enable %s", f.slot, r.Updated)
			}
			requirePunctual(t, after[len(before):], 500*time.Millisecond)
		})
	}
}

// A lost lifecycle message is repaired by the periodic resync.
func TestResyncWithoutMessages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.start(newBus(t, false), func(c *sensor.Config) { c.ResyncInterval = 300 * time.Millisecond })
	r := h.rule("quiet", "core.intervaltimer", `{"interval": 1}`)
	h.waitFires(r.ID, 1, 3*time.Second)
	_, err := h.st.RuleDelete(context.Background(), r.ID)
	require.NoError(t, err)
	time.Sleep(1500 * time.Millisecond)
	require.Zero(t, h.count(`SELECT count(*) FROM timer_fire WHERE rule_id = $1`, r.ID), "deleted rule cascades")
	require.Zero(t, h.count(`SELECT count(*) FROM event WHERE rule_ref = $1 AND created > now() - interval '1 second'`, r.Ref),
		"timer of a deleted rule kept firing")
}

// T3.3: timers with different intervals run independently.
func TestIndependentIntervals(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.start(newBus(t, false), nil)
	r1 := h.rule("one", "core.intervaltimer", `{"interval": 1}`)
	r2 := h.rule("two", "core.intervaltimer", `{"interval": 2}`)
	f2 := h.waitFires(r2.ID, 2, 6*time.Second)
	f1 := h.fires(r1.ID)
	require.GreaterOrEqual(t, len(f1), 3)
	for _, c := range []struct {
		fs     []fired
		period time.Duration
	}{{f1, time.Second}, {f2, 2 * time.Second}} {
		requirePunctual(t, c.fs, 500*time.Millisecond)
		for i := 1; i < len(c.fs); i++ {
			require.Equal(t, c.period, c.fs[i].slot.Sub(c.fs[i-1].slot))
		}
	}
}

// Two sensor processes on one database fire each slot exactly once.
func TestTwoSensorsFireEachSlotOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.start(newBus(t, false), func(c *sensor.Config) { c.CheckInterval = 50 * time.Millisecond })
		}()
	}
	wg.Wait()
	ri := h.rule("shared", "core.intervaltimer", `{"interval": 1}`)
	rc := h.rule("sharedcron", "core.crontimer", `{"expression": "* * * * * *"}`)
	h.waitFires(ri.ID, 4, 8*time.Second)
	h.waitFires(rc.ID, 4, 8*time.Second)
	for _, r := range []int64{ri.ID, rc.ID} {
		require.Zero(t, h.count(`SELECT count(*) FROM (SELECT payload->>'scheduled_at' FROM event WHERE rule = $1
			GROUP BY 1 HAVING count(*) > 1) d`, r), "a slot fired twice")
		fs := h.fires(r)
		require.Equal(t, len(fs), h.count(`SELECT count(*) FROM timer_fire WHERE rule_id = $1`, r))
		for i := 1; i < len(fs); i++ {
			require.Equal(t, time.Second, fs[i].slot.Sub(fs[i-1].slot), "no slot lost between sensors")
		}
	}
}

// Missed slots (no sensor ran) follow sensor.missed_fire_policy.
func TestMissedFirePolicy(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{sensor.PolicySkip, sensor.PolicyFireOnce} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			ctx := context.Background()
			// A 4 s timer enabled 20 s ago that fired once at its first slot;
			// then every sensor was down. Slot t0 is due right after start.
			t0 := time.Now().Add(300 * time.Millisecond).UTC().Truncate(time.Millisecond)
			created := t0.Add(-20 * time.Second)
			var id int64
			require.NoError(t, h.st.Pool().QueryRow(ctx, `INSERT INTO rule (ref, pack, pack_ref, label, action, action_ref,
				trigger_ref, trigger_params, created, updated)
				VALUES ('tpack.missed', $1, 'tpack', 'm', $2, 'tpack.act', 'core.intervaltimer', '{"interval": 4}', $3, $3)
				RETURNING id`, h.packID, h.actionID, created).Scan(&id))
			_, err := h.st.TimerFireRecord(ctx, id, created.Add(4*time.Second), nil)
			require.NoError(t, err)

			h.start(newBus(t, false), func(c *sensor.Config) {
				c.MissedFirePolicy = policy
				c.MisfireGrace = time.Second
			})
			fs := h.waitFires(id, 1, 3*time.Second)
			require.Eventually(t, func() bool {
				fs = h.fires(id)
				return len(fs) > 0 && !fs[len(fs)-1].slot.Before(t0)
			}, 3*time.Second, 20*time.Millisecond)
			var slots []time.Time
			for _, f := range fs {
				slots = append(slots, f.slot)
			}
			want := []time.Time{t0}
			if policy == sensor.PolicyFireOnce {
				want = []time.Time{t0.Add(-4 * time.Second), t0} // the latest missed slot, once
			}
			require.Equal(t, want, slots)
		})
	}
}
