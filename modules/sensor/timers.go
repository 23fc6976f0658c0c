package sensor

import (
	"context"
	"errors"
	"time"

	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/schedule"
	"github.com/attune-system/attune/modules/store"
)

// timerTriggerRefs are the triggers served by the in-process timers.
var timerTriggerRefs = []string{schedule.IntervalTrigger, schedule.CronTrigger, schedule.DatetimeTrigger}

// timerSourceRef is the event source_ref of timer fires (the core pack's
// builtin timer sensor).
const timerSourceRef = "core.timer_sensor"

// maxSlotsPerTick bounds the due slots one job fires per loop pass, so one
// busy timer cannot starve the others.
const maxSlotsPerTick = 100

// timerJob is the running timer of one enabled rule. Only the timer loop
// goroutine touches it.
type timerJob struct {
	rule  store.Rule
	sched schedule.Schedule
	// def identifies the rule definition the job was built from; a changed
	// definition rebuilds the job.
	def string
	// enabledAt is when the rule (last) became active: rule.updated, which
	// every sensor process reads identically.
	enabledAt time.Time
	// cursor is the exclusive lower bound of slots still to fire.
	cursor time.Time
	next   time.Time
	done   bool
}

func jobDef(r store.Rule) string {
	return r.TriggerRef + "\x00" + string(r.TriggerParams) + "\x00" + r.Updated.UTC().Format(time.RFC3339Nano) +
		"\x00" + r.Created.UTC().Format(time.RFC3339Nano)
}

// timerLoop owns every timer job: it applies rule sets from reload, and
// fires due slots, sleeping until the earliest next slot (at most
// CheckInterval, so clock jumps and new rules are noticed quickly).
func (m *Module) timerLoop(ctx context.Context) {
	jobs := map[int64]*timerJob{}
	invalid := map[int64]string{} // rule id → def already reported as unparsable
	wait := time.NewTimer(0)
	defer wait.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case rules := <-m.timerRule:
			m.applyTimerRules(ctx, jobs, invalid, rules)
		case <-wait.C:
		}
		now := time.Now()
		earliest := now.Add(m.d.Config.CheckInterval)
		for _, j := range jobs {
			if ctx.Err() != nil {
				return
			}
			m.runJob(ctx, j, now)
			// A job still due after runJob failed to fire: it is retried
			// after CheckInterval, not in a tight loop against the database.
			if !j.done && j.next.After(now) && j.next.Before(earliest) {
				earliest = j.next
			}
		}
		wait.Reset(max(time.Until(earliest), time.Millisecond))
	}
}

// applyTimerRules makes jobs match the enabled timer rules.
func (m *Module) applyTimerRules(ctx context.Context, jobs map[int64]*timerJob, invalid map[int64]string, rules []store.Rule) {
	seen := make(map[int64]bool, len(rules))
	for _, r := range rules {
		seen[r.ID] = true
		def := jobDef(r)
		if j, ok := jobs[r.ID]; ok && j.def == def {
			continue
		}
		if invalid[r.ID] == def {
			continue
		}
		j, err := m.newJob(ctx, r, def)
		if err != nil {
			delete(jobs, r.ID)
			if ctx.Err() == nil {
				var ve *domain.ValidationError
				if errors.As(err, &ve) || !isTransient(err) {
					invalid[r.ID] = def // reported once per definition, not every resync
				}
				m.log.Error("sensor: timer not started", "rule", r.Ref, "trigger", r.TriggerRef, "err", err)
			}
			continue
		}
		delete(invalid, r.ID)
		if _, had := jobs[r.ID]; !had {
			m.log.Info("sensor: timer started", "rule", r.Ref, "trigger", r.TriggerRef, "kind", j.sched.Kind())
		}
		jobs[r.ID] = j
	}
	for id, j := range jobs {
		if !seen[id] {
			m.log.Info("sensor: timer stopped", "rule", j.rule.Ref)
			delete(jobs, id)
		}
	}
	for id := range invalid {
		if !seen[id] {
			delete(invalid, id)
		}
	}
}

// errTransient marks a job build failure worth retrying on the next reload.
type errTransient struct{ error }

func (e errTransient) Unwrap() error { return e.error }

func isTransient(err error) bool {
	var t errTransient
	return errors.As(err, &t)
}

// newJob parses the rule's schedule and places its cursor after the last
// recorded fire (so no process re-fires a slot) and not before the rule was
// enabled (so slots of a disabled period are never fired).
//
// Anchor and reference time come from stored columns, never from this
// process's clock, so every sensor process computes the same slots.
func (m *Module) newJob(ctx context.Context, r store.Rule, def string) (*timerJob, error) {
	enabledAt := r.Updated
	sched, err := schedule.Parse(r.TriggerRef, r.TriggerParams,
		schedule.WithAnchor(r.Created), schedule.WithNow(enabledAt))
	if err != nil {
		return nil, err
	}
	cursor := sched.Cursor(enabledAt)
	last, err := m.d.Store.TimerFireLatest(ctx, r.ID)
	switch {
	case err == nil:
		if last.ScheduledFor.After(cursor) {
			cursor = last.ScheduledFor
		}
	case !errors.Is(err, domain.ErrNotFound):
		return nil, errTransient{err}
	}
	j := &timerJob{rule: r, sched: sched, def: def, enabledAt: enabledAt, cursor: cursor}
	j.advance(cursor)
	return j, nil
}

// advance moves the cursor to slot and computes the next slot.
func (j *timerJob) advance(slot time.Time) {
	if slot.After(j.cursor) {
		j.cursor = slot
	}
	n, ok := j.sched.Next(j.cursor)
	j.next, j.done = n, !ok
}

// runJob fires what is due for one job at now. A database failure leaves
// the cursor where it is, so the slot is retried on the next pass.
func (m *Module) runJob(ctx context.Context, j *timerJob, now time.Time) {
	if j.done || j.next.After(now) {
		return
	}
	if !m.handleMissed(ctx, j, now) {
		return
	}
	for _, slot := range j.sched.Slots(j.cursor, now, maxSlotsPerTick) {
		if err := m.fire(ctx, j, slot, time.Now()); err != nil {
			if ctx.Err() == nil {
				m.log.Warn("sensor: timer fire failed; will retry", "rule", j.rule.Ref, "slot", slot, "err", err)
			}
			return
		}
		j.advance(slot)
	}
	j.advance(j.cursor)
}

// handleMissed applies the missed-fire policy to unfired slots older than
// MisfireGrace that fell while the rule was enabled. It reports false when
// the job must wait for the next pass (a failed fire).
func (m *Module) handleMissed(ctx context.Context, j *timerJob, now time.Time) bool {
	cutoff := now.Add(-m.d.Config.MisfireGrace)
	from := j.cursor
	if j.enabledAt.After(from) {
		// Slots at or before enabling are never "missed": a datetime enabled
		// shortly after its fire_at still fires once (schedule.Datetime.Cursor).
		from = j.enabledAt
	}
	if !from.Before(cutoff) {
		return true
	}
	last, n := lastSlot(j.sched, from, cutoff)
	if n == 0 {
		return true
	}
	policy := m.d.Config.MissedFirePolicy
	m.metrics.timerMissed.WithLabelValues(j.rule.Ref, policy).Add(float64(n))
	if policy == PolicyFireOnce {
		if err := m.fire(ctx, j, last, now); err != nil {
			if ctx.Err() == nil {
				m.log.Warn("sensor: missed-slot fire failed; will retry", "rule", j.rule.Ref, "err", err)
			}
			return false
		}
		m.log.Info("sensor: missed timer slots; fired the latest once", "rule", j.rule.Ref, "missed", n, "fired", last)
	} else {
		m.log.Info("sensor: missed timer slots skipped", "rule", j.rule.Ref, "missed", n, "through", last)
	}
	j.advance(last)
	return true
}

// lastSlot returns the latest slot in (from, to] and how many there are.
// Intervals are pure arithmetic; other schedules are walked forward.
func lastSlot(s schedule.Schedule, from, to time.Time) (time.Time, int64) {
	if iv, ok := s.(*schedule.Interval); ok {
		k := func(t time.Time) int64 { return floorDiv(t.Sub(iv.Anchor), iv.Period) }
		kf, kt := k(from), k(to)
		if kt <= kf {
			return time.Time{}, 0
		}
		return iv.Anchor.Add(time.Duration(kt) * iv.Period), kt - kf
	}
	var last time.Time
	var n int64
	cur := from
	for {
		batch := s.Slots(cur, to, schedule.MaxSlots)
		if len(batch) == 0 {
			return last, n
		}
		last, cur = batch[len(batch)-1], batch[len(batch)-1]
		n += int64(len(batch))
	}
}

func floorDiv(d, p time.Duration) int64 {
	k := d / p
	if d < 0 && d%p != 0 {
		k--
	}
	return int64(k)
}
