package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/rules"
	"github.com/attune-system/attune/modules/store"
)

// Enforcement statuses (enforcement_status_enum).
const (
	EnforcementStatusCreated   = "created"
	EnforcementStatusProcessed = "processed"
	EnforcementStatusDisabled  = "disabled"
)

// EventContextOf decodes an event for rule conditions and templates. Numbers
// stay json.Number so large integers survive templating unchanged.
func EventContextOf(ev store.Event) (rules.EventContext, error) {
	ec := rules.EventContext{ID: ev.ID, TriggerRef: ev.TriggerRef, Created: ev.Created}
	if len(ev.Payload) == 0 {
		return ec, nil
	}
	dec := json.NewDecoder(bytes.NewReader(ev.Payload))
	dec.UseNumber()
	if err := dec.Decode(&ec.Payload); err != nil {
		return ec, fmt.Errorf("event %d payload: %w", ev.ID, err)
	}
	return ec, nil
}

// FireResult is what FireRule did. From FireRuleScheduled, the rows carry
// only their ids, refs, status, worker and fence (they are not read back).
type FireResult struct {
	Enforcement store.Enforcement
	// Execution is nil when the enforcement was disabled or already existed.
	Execution *store.Execution
	// Created is false when (rule, event) already had an enforcement: a
	// re-evaluated event fires each rule at most once.
	Created bool
}

// FireRule records, in tx, that rule matched ev: the enforcement (unique per
// rule and event; a duplicate is a no-op), its execution via RequestExecution
// (placed by sched when it is set) and the enforcement's resolution.
// Templates that fail to resolve give a failed execution carrying the
// template error; a rule whose action is gone gives a disabled enforcement.
//
// No EnforcementCreated message is written: the enforcement is resolved in
// this same transaction, so its processor would only acknowledge it, and
// observers learn of it from the enforcement_created notification.
func FireRule(ctx context.Context, tx *store.Tx, ev store.Event, evc rules.EventContext, rule store.Rule, sched Scheduler) (FireResult, error) {
	f, err := prepareFiring(ctx, &tx.DB, ev, evc, rule, sched)
	if err != nil {
		return FireResult{}, err
	}
	// The enforcement is resolved in this transaction, so it is written
	// once with its final status: disabled when the rule's action is gone.
	if f.action == nil {
		f.enf.Status = EnforcementStatusDisabled
	}
	enf, created, err := tx.EnforcementInsert(ctx, f.enf)
	if err != nil {
		return FireResult{}, err
	}
	res := FireResult{Enforcement: enf, Created: created}
	if !created || f.action == nil {
		return res, nil
	}
	ex, err := requestFor(ctx, tx, enf, rule, *f.action, f.params, f.perr, sched)
	if err != nil {
		return res, err
	}
	res.Execution = &ex
	return res, nil
}

// FireRuleScheduled is FireRule's common case — the parameters resolve and
// validate, no policy governs the action and a worker is eligible — written
// by one statement (store.RuleFireScheduled, which also picks the worker)
// instead of a transaction of seven round trips. handled is false for every
// other case, with nothing written: the caller then runs FireRule, which
// handles them all.
func FireRuleScheduled(ctx context.Context, st *store.Store, ev store.Event, evc rules.EventContext, rule store.Rule,
	sched Scheduler) (res FireResult, handled bool, err error) {
	if sched == nil {
		return FireResult{}, false, nil
	}
	f, err := prepareFiring(ctx, &st.DB, ev, evc, rule, sched)
	if err != nil || f.action == nil || f.perr != nil {
		return FireResult{}, false, err
	}
	action := *f.action
	ne, failure, err := executionRow(action, ruleExecution(rule, action, f.params, nil))
	if err != nil || failure != "" {
		return FireResult{}, false, err
	}
	target, ok, err := sched.InlineTarget(ctx, &st.DB, action)
	if err != nil || !ok {
		return FireResult{}, false, err
	}
	// execution_id, fence and worker_id are filled in by the statement.
	msg, err := json.Marshal(ExecutionDispatch{ActionRef: action.Ref, RuleRef: rule.Ref, TriggerRef: ev.TriggerRef})
	if err != nil {
		return FireResult{}, false, err
	}
	fired, outcome, err := st.RuleFireScheduled(ctx, f.enf, ne, store.NewOutboxMessage{
		Exchange: bus.ExchangeExecutions, RoutingKey: bus.KeyExecutionDispatch(""),
		MessageType: TypeExecutionDispatch, Payload: msg,
	}, target)
	switch {
	case err != nil:
		return FireResult{}, false, err
	case outcome == store.FireNoWorker:
		return FireResult{}, false, nil // FireRule keeps it requested and retries
	case outcome == store.FireDuplicate:
		return FireResult{}, true, nil
	}
	enf := store.Enforcement{ID: fired.EnforcementID, Rule: f.enf.Rule, RuleRef: f.enf.RuleRef,
		TriggerRef: f.enf.TriggerRef, Event: f.enf.Event, Status: EnforcementStatusProcessed}
	ex := store.Execution{ID: fired.ExecutionID, ActionRef: ne.ActionRef, Enforcement: &enf.ID, Worker: &fired.Worker,
		Status: StatusScheduled, Fence: fired.Fence}
	return FireResult{Enforcement: enf, Execution: &ex, Created: true}, true, nil
}

// firing is what firing a rule for an event resolves before writing.
type firing struct {
	// enf is the enforcement to write (status processed).
	enf    store.NewEnforcement
	params map[string]any
	perr   error         // the templates did not resolve
	action *store.Action // nil: the rule's action is gone
}

// prepareFiring resolves rule's parameters for ev and loads its action.
func prepareFiring(ctx context.Context, db *store.DB, ev store.Event, evc rules.EventContext, rule store.Rule, sched Scheduler) (firing, error) {
	var packConfig map[string]any
	// Only a template that names `pack` can read the pack's configuration;
	// template paths are static, so the text decides (a JSON \u escape
	// could spell the name, so any escape counts as naming it).
	if bytes.Contains(rule.ActionParams, []byte("pack")) || bytes.Contains(rule.ActionParams, []byte(`\u`)) {
		if p, err := db.PackGet(ctx, rule.Pack); err == nil {
			packConfig = decodeObject(p.Config)
		} else if !errors.Is(err, domain.ErrNotFound) {
			return firing{}, err
		}
	}
	f := firing{enf: store.NewEnforcement{
		Rule: &rule.ID, RuleRef: rule.Ref, TriggerRef: ev.TriggerRef, Event: &ev.ID,
		Payload: ev.Payload, Condition: "all", Conditions: rule.Conditions, Status: EnforcementStatusProcessed,
	}}
	f.params, f.perr = rules.ResolveParams(rule.ActionParams, rules.TemplateContext{
		Event: evc, PackConfig: packConfig, RuleID: rule.ID, RuleRef: rule.Ref,
	})
	if f.perr == nil {
		b, err := json.Marshal(f.params)
		if err != nil {
			return firing{}, fmt.Errorf("rule %s: resolved params: %w", rule.Ref, err)
		}
		f.enf.Config = b
	}
	var err error
	f.action, err = ruleAction(ctx, db, &rule, sched)
	return f, err
}

// ProcessEnforcement resolves an enforcement still `created` (written by a
// producer that left it for the enforcement processor), in tx: a missing or
// disabled rule, or a rule whose action is gone, disables it; otherwise it
// requests the execution (placed by sched when set) and marks the
// enforcement processed. rule nil means "reload enf.Rule".
func ProcessEnforcement(ctx context.Context, tx *store.Tx, enf store.Enforcement, rule *store.Rule,
	sched Scheduler) (store.Enforcement, *store.Execution, error) {
	if enf.Status != EnforcementStatusCreated {
		return enf, nil, nil
	}
	if rule == nil && enf.Rule != nil {
		r, err := tx.RuleGet(ctx, *enf.Rule)
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			return enf, nil, err
		}
		if err == nil && r.Enabled {
			rule = &r
		}
	}
	var action *store.Action
	if rule != nil {
		var err error
		if action, err = ruleAction(ctx, &tx.DB, rule, sched); err != nil {
			return enf, nil, err
		}
	}
	if action == nil {
		done, err := tx.EnforcementResolve(ctx, enf.ID, EnforcementStatusDisabled)
		return done, nil, err
	}
	ex, err := requestFor(ctx, tx, enf, *rule, *action, decodeObject(enf.Config), nil, sched)
	if err != nil {
		return enf, nil, err
	}
	done, err := tx.EnforcementResolve(ctx, enf.ID, EnforcementStatusProcessed)
	return done, &ex, err
}

// ruleAction is the rule's action, or nil when it has none any more; sched,
// when set, supplies it (from its cache).
func ruleAction(ctx context.Context, db *store.DB, rule *store.Rule, sched Scheduler) (*store.Action, error) {
	if rule.Action == nil {
		return nil, nil
	}
	var a store.Action
	var err error
	if sched != nil {
		a, err = sched.LoadAction(ctx, db, *rule.Action)
	} else {
		a, err = db.ActionGet(ctx, *rule.Action)
	}
	if errors.Is(err, domain.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// requestFor requests enf's execution of action with params (or the
// failure perr) as the rule's owner.
func requestFor(ctx context.Context, tx *store.Tx, enf store.Enforcement, rule store.Rule, action store.Action,
	params map[string]any, perr error, sched Scheduler) (store.Execution, error) {
	r := ruleExecution(rule, action, params, perr)
	r.Enforcement, r.Schedule = &enf.ID, sched
	ex, err := RequestExecution(ctx, tx, r)
	if err != nil {
		return store.Execution{}, fmt.Errorf("rule %s: request execution: %w", rule.Ref, err)
	}
	return ex, nil
}

// ruleExecution is the request to run rule's action with params (or the
// template failure perr), as the rule's owner.
func ruleExecution(rule store.Rule, action store.Action, params map[string]any, perr error) NewExecution {
	return NewExecution{ActionRef: action.Ref, Action: &action, Params: params, ParamsError: perr,
		Executor: rule.OwnerIdentity, PermissionSetRefs: rule.PermissionSetRefs}
}

// decodeObject decodes a JSON object, keeping numbers exact; anything else
// (null, empty, not an object) gives nil.
func decodeObject(raw json.RawMessage) map[string]any {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil
	}
	return m
}
