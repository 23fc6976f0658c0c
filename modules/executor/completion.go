package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
)

// Retry reasons recorded on retry executions (spec §6).
const (
	RetryReasonTransient = "transient_error"
	RetryReasonTimeout   = "timeout"
)

// handleCompleted is the completion listener: it releases the execution's
// admission slot (promoting the FIFO head) and creates the action-level
// retry, in one transaction. Both steps are idempotent, so a redelivered
// completion changes nothing.
func (m *Module) handleCompleted(ctx context.Context, d bus.Delivery) error {
	var msg pipeline.ExecutionCompleted
	if err := json.Unmarshal(d.Payload, &msg); err != nil {
		return bus.Permanent(fmt.Errorf("decode ExecutionCompleted: %w", err))
	}
	ex, err := m.d.Store.ExecutionGet(ctx, msg.ExecutionID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !domain.TerminalStatus(ex.Status) {
		// A stale message: e.g. the execution was requeued for another attempt.
		return nil
	}
	return m.d.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := release(ctx, tx, ex); err != nil {
			return err
		}
		retry, created, err := retryOf(ctx, tx, ex)
		if err != nil || !created {
			return err
		}
		m.log.Info("execution retried", "execution_id", ex.ID, "retry_id", retry.ID, "retry_count", retry.RetryCount)
		return pipeline.EnqueueRequested(ctx, tx, retry, nil, 0, timeZero)
	})
}

// retryOf creates the next retry of a failed or timed-out execution while
// retry_count < max_retries. Only executions that ran are retried: one that
// failed before dispatch (invalid parameters, unschedulable) would fail the
// same way again.
func retryOf(ctx context.Context, tx *store.Tx, ex store.Execution) (store.Execution, bool, error) {
	if !pipeline.MayRetry(ex) {
		return store.Execution{}, false, nil
	}
	reason := RetryReasonTransient
	if ex.Status == pipeline.StatusTimeout {
		reason = RetryReasonTimeout
	}
	root := ex.ID
	if ex.OriginalExecution != nil {
		root = *ex.OriginalExecution
	}
	cfg := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(ex.Config))
	dec.UseNumber()
	if err := dec.Decode(&cfg); err != nil || cfg == nil {
		cfg = map[string]any{}
	}
	cfg["retry_of"] = ex.ID
	config, err := json.Marshal(cfg)
	if err != nil {
		return store.Execution{}, false, err
	}
	return tx.ExecutionInsertRetry(ctx, store.NewExecution{
		Action: ex.Action, ActionRef: ex.ActionRef, Config: config, EnvVars: ex.EnvVars, Parent: ex.Parent,
		Enforcement: ex.Enforcement, Executor: ex.Executor, PermissionSetRefs: ex.PermissionSetRefs,
		TimeoutSeconds: ex.TimeoutSeconds, WorkflowDef: ex.WorkflowDef, WorkflowTask: ex.WorkflowTask,
		RetryCount: ex.RetryCount + 1, MaxRetries: ex.MaxRetries, RetryReason: &reason, OriginalExecution: &root,
	})
}
