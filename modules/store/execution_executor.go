package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// This file holds the execution queries of the executor module: locking for
// the scheduler, the requested->scheduled handoff, requeueing lost or
// unclaimed attempts, retries and worker selection.

// ExecutionGetForUpdate returns an execution and locks its row until the
// transaction ends, so duplicate deliveries about it are handled in turn.
func (t *Tx) ExecutionGetForUpdate(ctx context.Context, id int64) (Execution, error) {
	row, err := t.q.ExecutionGetForUpdate(ctx, t.db, id)
	if err != nil {
		return Execution{}, interpretError(err, fmt.Sprintf("execution %d", id))
	}
	return executionFromRow(row), nil
}

// ExecutionScheduleOnWorker moves a requested execution carrying fence to
// scheduled on worker. A lost race returns domain.ErrConflict.
func (d *DB) ExecutionScheduleOnWorker(ctx context.Context, id, fence, worker int64) (Execution, error) {
	row, err := d.q.ExecutionScheduleOnWorker(ctx, d.db, dbsqlc.ExecutionScheduleOnWorkerParams{
		ID: id, Fence: fence, Worker: &worker,
	})
	if err != nil {
		return Execution{}, casError(err, fmt.Sprintf("execution %d: schedule on worker %d", id, worker))
	}
	return executionFromRow(row), nil
}

// ExecutionRequeue puts an execution in one of from (with fence) back to
// requested, clearing worker and lease and bumping the fence so messages and
// results of the old attempt are refused. A lost race is domain.ErrConflict.
func (d *DB) ExecutionRequeue(ctx context.Context, id, fence int64, from ...string) (Execution, error) {
	if len(from) == 0 {
		return Execution{}, domain.NewValidationError("from", "must list at least one status")
	}
	row, err := d.q.ExecutionRequeue(ctx, d.db, dbsqlc.ExecutionRequeueParams{ID: id, Fence: fence, FromStatuses: from})
	if err != nil {
		return Execution{}, casError(err, fmt.Sprintf("execution %d: requeue from %v with fence %d", id, from, fence))
	}
	return executionFromRow(row), nil
}

// casError turns "no row" of a compare-and-set into domain.ErrConflict.
func casError(err error, what string) error {
	err = interpretError(err, what)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Conflictf("%s: refused, row changed", what)
	}
	return err
}

// ExecutionListLeaseExpired returns up to limit running or canceling
// executions whose lease lapsed, locking them (SKIP LOCKED) for the caller's
// transaction so that concurrent reapers split the work.
func (t *Tx) ExecutionListLeaseExpired(ctx context.Context, limit int32) ([]Execution, error) {
	rows, err := t.q.ExecutionListLeaseExpired(ctx, t.db, limit)
	if err != nil {
		return nil, interpretError(err, "list lease-expired executions")
	}
	return executionsFromRows(rows), nil
}

// ExecutionListUnclaimed returns up to limit executions scheduled longer than
// olderThan ago that no worker claimed, locked like ExecutionListLeaseExpired.
func (t *Tx) ExecutionListUnclaimed(ctx context.Context, olderThan time.Duration, limit int32) ([]Execution, error) {
	rows, err := t.q.ExecutionListUnclaimed(ctx, t.db, dbsqlc.ExecutionListUnclaimedParams{
		OlderThanSeconds: olderThan.Seconds(), BatchSize: limit,
	})
	if err != nil {
		return nil, interpretError(err, "list unclaimed executions")
	}
	return executionsFromRows(rows), nil
}

// ExecutionListPendingBefore lists requested executions of action with an id
// below beforeID that have no admission entry yet, oldest first.
func (d *DB) ExecutionListPendingBefore(ctx context.Context, action, beforeID int64) ([]Execution, error) {
	rows, err := d.q.ExecutionListPendingBefore(ctx, d.db, dbsqlc.ExecutionListPendingBeforeParams{
		Action: &action, BeforeID: beforeID,
	})
	if err != nil {
		return nil, interpretError(err, fmt.Sprintf("list pending executions of action %d", action))
	}
	return executionsFromRows(rows), nil
}

// ExecutionCountDispatchedSince counts executions of action (other than
// exclude) created within window that were handed to a worker.
func (d *DB) ExecutionCountDispatchedSince(ctx context.Context, action, exclude int64, window time.Duration) (int64, error) {
	n, err := d.q.ExecutionCountDispatchedSince(ctx, d.db, dbsqlc.ExecutionCountDispatchedSinceParams{
		Action: &action, ExcludeID: exclude, WindowSeconds: window.Seconds(),
	})
	if err != nil {
		return 0, interpretError(err, fmt.Sprintf("count dispatched executions of action %d", action))
	}
	return n, nil
}

// ExecutionInsertRetry creates retry number e.RetryCount of root
// e.OriginalExecution. When that retry exists already it returns
// created=false and the zero Execution: a redelivered completion is a no-op.
func (d *DB) ExecutionInsertRetry(ctx context.Context, e NewExecution) (Execution, bool, error) {
	if e.OriginalExecution == nil || e.RetryCount <= 0 {
		return Execution{}, false, domain.NewValidationError("original_execution", "a retry needs a root and retry_count > 0")
	}
	row, err := d.q.ExecutionInsertRetry(ctx, d.db, dbsqlc.ExecutionInsertRetryParams{
		Action: e.Action, ActionRef: e.ActionRef, Config: jsonOr(e.Config, "{}"), EnvVars: jsonOr(e.EnvVars, "{}"),
		Parent: e.Parent, Enforcement: e.Enforcement, Executor: e.Executor,
		PermissionSetRefs: nonNilStrings(e.PermissionSetRefs), TimeoutSeconds: e.TimeoutSeconds,
		WorkflowDef: e.WorkflowDef, WorkflowTask: e.WorkflowTask, RetryCount: e.RetryCount,
		MaxRetries: e.MaxRetries, RetryReason: e.RetryReason, OriginalExecution: e.OriginalExecution,
	})
	if err != nil {
		err = interpretError(err, fmt.Sprintf("insert retry %d of execution %d", e.RetryCount, *e.OriginalExecution))
		if errors.Is(err, domain.ErrNotFound) {
			return Execution{}, false, nil
		}
		return Execution{}, false, err
	}
	return executionFromRow(row), true, nil
}

// WorkerPick is the scheduler's choice of worker.
type WorkerPick struct {
	WorkerID int64
}

// ExecutionWorkerPick returns the least-loaded eligible worker: active,
// heartbeat newer than staleAfter, not cordoned, healthy, in an action role
// and, when runtimeNames is non-empty, listing one of them (lowercase) in
// capabilities.runtimes. No eligible worker is domain.ErrNotFound.
func (d *DB) ExecutionWorkerPick(ctx context.Context, staleAfter time.Duration, runtimeNames []string) (WorkerPick, error) {
	row, err := d.q.ExecutionWorkerPickLeastLoaded(ctx, d.db, dbsqlc.ExecutionWorkerPickLeastLoadedParams{
		StaleAfterSeconds: staleAfter.Seconds(), RuntimeNames: nonNilStrings(runtimeNames),
	})
	if err != nil {
		return WorkerPick{}, interpretError(err, "eligible worker")
	}
	return WorkerPick{WorkerID: row}, nil
}

func executionsFromRows(rows []dbsqlc.Execution) []Execution {
	out := make([]Execution, len(rows))
	for i, r := range rows {
		out[i] = executionFromRow(r)
	}
	return out
}

func jsonOr(v json.RawMessage, def string) json.RawMessage {
	if len(v) == 0 {
		return json.RawMessage(def)
	}
	return v
}

func nonNilStrings(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}
