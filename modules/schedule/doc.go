// Package schedule parses timer trigger_params (core.intervaltimer,
// core.crontimer, core.datetimetimer; spec §3 and §5.2) and computes fire
// slots and event payloads. It is pure: no goroutines, clocks or I/O.
//
// Intended use by a timer sensor for one rule:
//
//	s, err := schedule.Parse(rule.TriggerRef, rule.TriggerParams, schedule.WithAnchor(rule.Created))
//	cursor := lastFiredSlot // or s.Cursor(rule.EnabledAt) if it never fired
//	for _, slot := range s.Slots(cursor, now, 100) {
//	    // insert fire (rule, scheduled_for=slot) ON CONFLICT DO NOTHING, then emit
//	    cursor = slot
//	}
//	next, ok := s.Next(cursor) // sleep until next; !ok means the timer is done
//
// Slot times are deterministic functions of the definition (and the interval
// anchor), so replicas compute identical slots and UNIQUE(rule, scheduled_for)
// dedupes fires across processes.
//
// Policies: interval slots are anchor + k×period (default anchor: Unix epoch);
// cron matches wall-clock time in its timezone, skipping nonexistent times and
// firing repeated times once (first occurrence); a datetime whose fire_at is
// in the past fires once immediately when at most 60 s late, otherwise Parse
// rejects it unless AllowPast is given. Missed slots are caught up oldest
// first, at most max per Slots call.
package schedule
