package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// FiredScheduled is what RuleFireScheduled wrote.
type FiredScheduled struct {
	EnforcementID, ExecutionID, Fence int64
}

// RuleFireScheduled records a rule firing in one statement, which is its
// own transaction: enf (written processed), its execution ex (written
// scheduled on ex.Worker, its Enforcement set to the new enforcement) and
// the dispatch message, whose JSON-object payload gets the execution's
// "execution_id" and "fence". The caller has resolved everything else (see
// pipeline.FireRuleScheduled). ok is false when (enf.Rule, enf.Event)
// already had an enforcement: nothing was written.
func (s *Store) RuleFireScheduled(ctx context.Context, enf NewEnforcement, ex NewExecution, dispatch NewOutboxMessage) (FiredScheduled, bool, error) {
	switch {
	case enf.Rule == nil || enf.Event == nil:
		return FiredScheduled{}, false, domain.NewValidationError("enforcement", "rule and event must be set")
	case ex.Action == nil || ex.Worker == nil:
		return FiredScheduled{}, false, domain.NewValidationError("execution", "action and worker must be set")
	case dispatch.Exchange == "" || dispatch.MessageType == "" || len(dispatch.Payload) == 0 || dispatch.Payload[0] != '{':
		return FiredScheduled{}, false, domain.NewValidationError("dispatch", "exchange, message_type and a JSON-object payload must be set")
	}
	one := s.oneShot()
	row, err := s.q.RuleFireScheduled(ctx, s.pool, dbsqlc.RuleFireScheduledParams{
		Rule: enf.Rule, RuleRef: enf.RuleRef, TriggerRef: enf.TriggerRef, EnforcementConfig: enf.Config,
		Event: enf.Event, Payload: enf.Payload, Conditions: enf.Conditions,
		Action: ex.Action, ActionRef: ex.ActionRef, ExecutionConfig: ex.Config, Executor: ex.Executor,
		AsSystem: ex.AsSystem, PermissionSetRefs: ex.PermissionSetRefs, Worker: ex.Worker,
		TimeoutSeconds: ex.TimeoutSeconds, WorkflowDef: ex.WorkflowDef, MaxRetries: ex.MaxRetries,
		Exchange: dispatch.Exchange, RoutingKey: dispatch.RoutingKey, MessageType: dispatch.MessageType,
		Message: dispatch.Payload, AvailableAt: one.availableAt(),
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return FiredScheduled{}, false, nil
	}
	if err != nil {
		return FiredScheduled{}, false, interpretError(err, "fire rule "+enf.RuleRef)
	}
	one.committed(OutboxMessage{ID: row.OutboxID, Exchange: dispatch.Exchange, RoutingKey: dispatch.RoutingKey,
		MessageType: dispatch.MessageType, Payload: row.OutboxPayload, Created: row.OutboxCreated,
		AvailableAt: row.OutboxAvailableAt})
	return FiredScheduled{EnforcementID: row.EnforcementID, ExecutionID: row.ExecutionID, Fence: row.Fence}, true, nil
}
