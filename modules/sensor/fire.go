package sensor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
)

// errAlreadyFired rolls back a fire whose slot another process (or an
// earlier attempt of ours) already recorded.
var errAlreadyFired = errors.New("timer slot already fired")

// fire records one slot of a timer rule and its event in one transaction.
// Two guards make a slot fire exactly once across sensor processes: the
// event's idempotency key timer:<rule>:<slot ms> (source core.timer_sensor)
// and UNIQUE(rule_id, scheduled_for) on timer_fire. The loser of a race
// blocks on the winner's uncommitted key, then sees it and does nothing.
// A slot that was already fired counts as success.
func (m *Module) fire(ctx context.Context, j *timerJob, slot, firedAt time.Time) error {
	r := j.rule
	err := m.d.Store.InTx(ctx, func(tx *store.Tx) error {
		count, err := tx.TimerFireCount(ctx, r.ID)
		if err != nil {
			return err
		}
		payload, err := json.Marshal(j.sched.Payload(slot, firedAt, count+1, timerSourceRef))
		if err != nil {
			return fmt.Errorf("marshal timer payload: %w", err)
		}
		src, key := timerSourceRef, fmt.Sprintf("timer:%d:%d", r.ID, slot.UnixMilli())
		ev, created, err := pipeline.IngestEventTx(ctx, tx, store.NewEvent{
			Trigger: r.Trigger, TriggerRef: r.TriggerRef, Payload: payload, SourceRef: &src,
			Rule: &r.ID, RuleRef: &r.Ref, IdempotencyKey: &key,
		})
		if err != nil {
			return err
		}
		if !created {
			return errAlreadyFired
		}
		recorded, err := tx.TimerFireRecord(ctx, r.ID, slot, &ev.ID)
		if err != nil {
			return err
		}
		if !recorded {
			return errAlreadyFired
		}
		return nil
	})
	switch {
	case errors.Is(err, errAlreadyFired):
		return nil
	case err != nil:
		return err
	}
	m.metrics.timerFires.WithLabelValues(r.Ref, r.TriggerRef).Inc()
	m.log.Debug("sensor: timer fired", "rule", r.Ref, "slot", slot, "late", firedAt.Sub(slot))
	return nil
}
