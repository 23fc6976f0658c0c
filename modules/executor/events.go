package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
)

// handleEvent is the event processor (spec §6): it evaluates the enabled
// rules of the event's trigger and fires each match. Each rule fires in its
// own transaction (enforcement + execution + outbox), so a failure on one
// rule is retried by redelivery without re-firing the others: the unique
// (rule, event) enforcement makes the rerun a no-op for them.
func (m *Module) handleEvent(ctx context.Context, d bus.Delivery) error {
	var msg pipeline.EventCreated
	if err := json.Unmarshal(d.Payload, &msg); err != nil {
		return bus.Permanent(fmt.Errorf("decode EventCreated: %w", err))
	}
	if m.wake == nil || msg.EventID <= 0 {
		return m.processEventMessage(ctx, msg, false)
	}
	// Its wake-up may have reached this executor first, or another
	// executor (wake.go).
	e, taken, err := m.events.Own(ctx, msg.EventID)
	if err != nil || taken {
		if taken {
			m.met.copiesSkipped.Inc()
		}
		return err
	}
	// A redelivery waits for no announcement: it comes after a failure,
	// or long after the firing it would announce.
	owned, known := m.wake.owns(msg.EventID)
	err = m.processEventMessage(ctx, msg, known && !owned && !d.Redelivered)
	if err == nil {
		m.met.evaluated.WithLabelValues("broker").Inc()
	}
	m.events.Settle(msg.EventID, e, err == nil)
	return err
}

// processEventMessage evaluates the event msg announces. elsewhere: another
// executor was woken for it, so a firing it announces is not repeated.
func (m *Module) processEventMessage(ctx context.Context, msg pipeline.EventCreated, elsewhere bool) error {
	var err error
	if s := msg.Snapshot; s != nil {
		// The committing statement sent the (immutable) event along: no
		// read on the way to the action.
		_, err = m.evaluate(ctx, store.Event{ID: msg.EventID, Trigger: msg.TriggerID, TriggerRef: msg.TriggerRef,
			Rule: msg.RuleID, Payload: s.Payload, Created: s.Created}, s.MetadataVersion, elsewhere)
	} else {
		_, err = m.processEvent(ctx, msg.EventID, elsewhere)
	}
	// evaluate skips a rule whose firing finds a row gone, so not found
	// here is the event itself.
	if errors.Is(err, domain.ErrNotFound) {
		m.log.Warn("event vanished before evaluation", "event_id", msg.EventID)
		return nil
	}
	return err
}

// ProcessEvent evaluates one event against its rules and returns the
// enforcements it created (none for a re-evaluation).
func (m *Module) ProcessEvent(ctx context.Context, eventID int64) ([]pipeline.FireResult, error) {
	return m.processEvent(ctx, eventID, false)
}

// processEvent reads the event with the metadata version and evaluates it.
func (m *Module) processEvent(ctx context.Context, eventID int64, elsewhere bool) ([]pipeline.FireResult, error) {
	ev, version, err := m.d.Store.EventGetWithMetadataVersion(ctx, eventID)
	if err != nil {
		return nil, err
	}
	return m.evaluate(ctx, ev, version, elsewhere)
}

// evaluate fires the rules ev matches, reading rules and actions as of
// metadata version (or later). elsewhere: another executor was woken for
// ev; a rule it announces having fired is skipped.
func (m *Module) evaluate(ctx context.Context, ev store.Event, version int64, elsewhere bool) ([]pipeline.FireResult, error) {
	st := m.d.Store
	meta := m.meta.at(version)
	candidates, err := m.candidateRules(ctx, ev, meta)
	if err != nil {
		return nil, err
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	evc, err := pipeline.EventContextOf(ev)
	if err != nil {
		// A payload that is not JSON cannot match anything; say why once.
		m.log.Warn("event payload undecodable, no rule evaluated", "event_id", ev.ID, "err", err)
		return nil, nil
	}
	var fired []pipeline.FireResult
	var errs []error
	// The announcements of another executor's firings are waited for
	// together, until the grace after the event's commit has passed.
	var hintsUntil time.Time
	if elsewhere {
		hintsUntil = time.Now().Add(firedGrace)
		if c := ev.Created.Add(firedGrace); c.Before(hintsUntil) {
			hintsUntil = c
		}
	}
	for _, r := range candidates {
		cond, err := m.cache.Get(r.ID, r.Updated, r.Conditions)
		if err != nil {
			m.log.Warn("rule conditions do not compile; rule skipped", "rule", r.Ref, "err", err)
			continue
		}
		if !cond.Match(evc) {
			continue
		}
		if elsewhere && m.wake.fired.wait(ctx, ruleEvent{ev.ID, r.ID}, hintsUntil) {
			m.met.firingsHinted.Inc()
			continue
		}
		// The common firing is one statement; anything else (a template
		// error, invalid parameters, a policy, no eligible worker, the
		// action gone) is a transaction that places the execution in the
		// same commit, saving a bus hop on the event → action path.
		placer := newPlacer{m: m, meta: meta}
		res, handled, err := pipeline.FireRuleScheduled(ctx, st, ev, evc, r, placer)
		if err == nil && !handled {
			err = st.InTx(ctx, func(tx *store.Tx) error {
				res, err = pipeline.FireRule(ctx, tx, ev, evc, r, placer)
				return err
			})
		}
		if errors.Is(err, domain.ErrNotFound) {
			// Something the firing needs is gone (deleted meanwhile):
			// retrying cannot bring it back, and the other rules' errors
			// must still be retried.
			m.log.Warn("rule not fired: a row it needs is gone", "event_id", ev.ID, "rule", r.Ref, "err", err)
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("event %d rule %s: %w", ev.ID, r.Ref, err))
			continue
		}
		if res.Created {
			fired = append(fired, res)
			m.log.Debug("rule fired", "event_id", ev.ID, "rule", r.Ref, "enforcement_id", res.Enforcement.ID)
		}
	}
	return fired, errors.Join(errs...)
}

// candidateRules are the enabled rules on the event's trigger, or only the
// event's own rule when it names one (e.g. a timer fire).
func (m *Module) candidateRules(ctx context.Context, ev store.Event, meta *metaView) ([]store.Rule, error) {
	if ev.Rule == nil {
		return meta.enabledRules(ctx, m.d.Store, ev.TriggerRef)
	}
	r, err := m.d.Store.RuleGet(ctx, *ev.Rule)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !r.Enabled || r.TriggerRef != ev.TriggerRef {
		return nil, nil
	}
	return []store.Rule{r}, nil
}

// handleEnforcement is the enforcement processor. Our event processor
// resolves enforcements in the transaction that creates them, so for those
// the message is informational; an enforcement still `created` (written by
// another producer) is processed here.
func (m *Module) handleEnforcement(ctx context.Context, d bus.Delivery) error {
	var msg pipeline.EnforcementCreated
	if err := json.Unmarshal(d.Payload, &msg); err != nil {
		return bus.Permanent(fmt.Errorf("decode EnforcementCreated: %w", err))
	}
	enf, err := m.d.Store.EnforcementGet(ctx, msg.EnforcementID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	if err != nil || enf.Status != pipeline.EnforcementStatusCreated {
		return err
	}
	err = m.d.Store.InTx(ctx, func(tx *store.Tx) error {
		_, _, err := pipeline.ProcessEnforcement(ctx, tx, enf, nil, newPlacer{m: m})
		return err
	})
	if errors.Is(err, domain.ErrConflict) {
		return nil // resolved concurrently
	}
	return err
}
