package store

import (
	"context"
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
	one := s.oneShot()
	row, err := s.q.RuleFireScheduled(ctx, s.pool, dbsqlc.RuleFireScheduledParams{
		StaleAfterSeconds: target.StaleAfter.Seconds(), RuntimeNames: nonNilStrings(target.RuntimeNames),
		Rule: enf.Rule, RuleRef: enf.RuleRef, TriggerRef: enf.TriggerRef, EnforcementConfig: enf.Config,
		Event: enf.Event, Payload: enf.Payload, Conditions: enf.Conditions,
		Action: ex.Action, ActionRef: ex.ActionRef, ExecutionConfig: ex.Config, Executor: ex.Executor,
		AsSystem: ex.AsSystem, PermissionSetRefs: ex.PermissionSetRefs,
		TimeoutSeconds: ex.TimeoutSeconds, WorkflowDef: ex.WorkflowDef, MaxRetries: ex.MaxRetries,
		Exchange: dispatch.Exchange, RoutingKeyPrefix: dispatch.RoutingKey, MessageType: dispatch.MessageType,
		Message: dispatch.Payload, AvailableAt: one.availableAt(),
	})
	if err != nil {
		return FiredScheduled{}, FireFailed, interpretError(err, "fire rule "+enf.RuleRef)
	}
	switch {
	case row.Worker == 0:
		return FiredScheduled{}, FireNoWorker, nil
	case row.EnforcementID == nil || row.ExecutionID == nil || row.OutboxID == nil:
		return FiredScheduled{}, FireDuplicate, nil
	}
	one.committed(dispatch.written(*row.OutboxID, *row.OutboxRoutingKey, row.OutboxPayload, *row.OutboxCreated,
		*row.OutboxAvailableAt))
	return FiredScheduled{EnforcementID: *row.EnforcementID, ExecutionID: *row.ExecutionID, Fence: *row.Fence,
		Worker: row.Worker}, Fired, nil
}
