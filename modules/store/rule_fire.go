package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// FireTarget is where RuleFireScheduled may place the execution: the
// least-loaded eligible worker offering one of RuntimeNames (any worker
// when empty) whose heartbeat is younger than StaleAfter.
type FireTarget struct {
	RuntimeNames []string
	StaleAfter   time.Duration
}

// FireOutcome is what RuleFireScheduled did.
type FireOutcome int

const (
	// FireFailed goes with an error: nothing is known to be written.
	FireFailed FireOutcome = iota
	// Fired: enforcement, execution and dispatch were written.
	Fired
	// FireDuplicate: (rule, event) already had an enforcement; nothing written.
	FireDuplicate
	// FireNoWorker: no worker was eligible; nothing written.
	FireNoWorker
)

// FiredScheduled is what RuleFireScheduled wrote.
type FiredScheduled struct {
	EnforcementID, ExecutionID, Fence, Worker int64
}

// RuleFireScheduled records a rule firing in one statement, which is its
// own transaction: the worker choice (as ExecutionWorkerPick), enf (written
// processed), its execution ex (written scheduled on that worker, its
// Enforcement set to the new enforcement) and the dispatch message, routed
// to dispatch.RoutingKey + the worker's id, whose JSON-object payload gets
// the execution's "execution_id", "fence" and "worker_id". The caller has
// resolved everything else (see pipeline.FireRuleScheduled).
func (s *Store) RuleFireScheduled(ctx context.Context, enf NewEnforcement, ex NewExecution, dispatch NewOutboxMessage,
	target FireTarget) (FiredScheduled, FireOutcome, error) {
	switch {
	case enf.Rule == nil || enf.Event == nil:
		return FiredScheduled{}, FireFailed, domain.NewValidationError("enforcement", "rule and event must be set")
	case ex.Action == nil:
		return FiredScheduled{}, FireFailed, domain.NewValidationError("execution", "action must be set")
	}
	if err := dispatch.validate(true); err != nil {
		return FiredScheduled{}, FireFailed, err
	}
	res, err := s.firings.do(ctx, fireReq{enf: enf, ex: ex, dispatch: dispatch, target: target})
	return res.fired, res.outcome, err
}

// The rule firing's group statement (group.go).

type fireReq struct {
	enf      NewEnforcement
	ex       NewExecution
	dispatch NewOutboxMessage
	target   FireTarget
}

type fireRes struct {
	fired   FiredScheduled
	outcome FireOutcome
}

// fireRow is one firing in the statement's @rows.
type fireRow struct {
	Rule              *int64          `json:"rule"`
	RuleRef           string          `json:"rule_ref"`
	TriggerRef        string          `json:"trigger_ref"`
	EnforcementConfig json.RawMessage `json:"enforcement_config,omitempty"`
	Event             *int64          `json:"event"`
	Payload           json.RawMessage `json:"payload,omitempty"`
	Conditions        json.RawMessage `json:"conditions,omitempty"`
	Action            *int64          `json:"action"`
	ActionRef         string          `json:"action_ref"`
	ExecutionConfig   json.RawMessage `json:"execution_config,omitempty"`
	Executor          *int64          `json:"executor,omitempty"`
	AsSystem          bool            `json:"as_system"`
	PermissionSetRefs []string        `json:"permission_set_refs,omitempty"`
	TimeoutSeconds    *int32          `json:"timeout_seconds,omitempty"`
	WorkflowDef       *int64          `json:"workflow_def,omitempty"`
	MaxRetries        int32           `json:"max_retries"`
	Message           json.RawMessage `json:"message"`
}

// writeFirings fires batch, one statement per placement setting and kind of
// dispatch message (in practice one).
func (s *Store) writeFirings(batch []fireReq) ([]fireRes, []error) {
	outs := make([]fireRes, len(batch))
	errs := inGroups(len(batch), func(group []int, i int) bool {
		a, b := batch[group[0]], batch[i]
		return a.target.StaleAfter == b.target.StaleAfter && a.dispatch.sameKind(b.dispatch)
	}, func(ctx context.Context, group []int) error { return s.writeSameFirings(ctx, batch, group, outs) })
	return outs, errs
}

// writeSameFirings writes the firings of batch at idx, which share their
// placement setting and kind of dispatch message, into outs.
func (s *Store) writeSameFirings(ctx context.Context, batch []fireReq, idx []int, outs []fireRes) error {
	rows := make([]fireRow, len(idx))
	runtimes := make([][]string, len(idx)) // each firing's, for attune_pick_workers
	for j, i := range idx {
		f := batch[i]
		runtimes[j] = nonNilStrings(f.target.RuntimeNames)
		rows[j] = fireRow{Rule: f.enf.Rule, RuleRef: f.enf.RuleRef, TriggerRef: f.enf.TriggerRef,
			EnforcementConfig: f.enf.Config, Event: f.enf.Event, Payload: f.enf.Payload, Conditions: f.enf.Conditions,
			Action: f.ex.Action, ActionRef: f.ex.ActionRef, ExecutionConfig: f.ex.Config, Executor: f.ex.Executor,
			AsSystem: f.ex.AsSystem, PermissionSetRefs: f.ex.PermissionSetRefs, TimeoutSeconds: f.ex.TimeoutSeconds,
			WorkflowDef: f.ex.WorkflowDef, MaxRetries: f.ex.MaxRetries, Message: f.dispatch.Payload}
	}
	doc, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	names, err := json.Marshal(runtimes)
	if err != nil {
		return err
	}
	one := s.oneShot()
	head := batch[idx[0]]
	got, err := s.q.RuleFireScheduledBatch(ctx, s.pool, dbsqlc.RuleFireScheduledBatchParams{
		StaleAfterSeconds: head.target.StaleAfter.Seconds(), Runtimes: names, Rows: doc, Exchange: head.dispatch.Exchange,
		RoutingKeyPrefix: head.dispatch.RoutingKey, MessageType: head.dispatch.MessageType, AvailableAt: one.availableAt(),
	})
	if err != nil {
		return interpretError(err, fmt.Sprintf("fire %d rules", len(idx)))
	}
	if len(got) != len(idx) {
		return fmt.Errorf("%w: %d result rows for %d firings", errGroupAnswer, len(got), len(idx))
	}
	msgs := make([]OutboxMessage, 0, len(got))
	for _, row := range got {
		i, err := answered(idx, row.I)
		if err != nil {
			return err
		}
		switch {
		case row.Worker == 0:
			outs[i] = fireRes{outcome: FireNoWorker}
		case row.EnforcementID == nil || row.ExecutionID == nil || row.OutboxID == nil:
			outs[i] = fireRes{outcome: FireDuplicate}
		default:
			msgs = append(msgs, head.dispatch.written(*row.OutboxID, *row.OutboxRoutingKey, row.OutboxPayload,
				*row.OutboxCreated, *row.OutboxAvailableAt))
			outs[i] = fireRes{outcome: Fired, fired: FiredScheduled{EnforcementID: *row.EnforcementID,
				ExecutionID: *row.ExecutionID, Fence: *row.Fence, Worker: row.Worker}}
		}
	}
	one.committed(msgs...)
	return nil
}
