package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// EffectivePolicy is the part of a policy row the scheduler applies.
type EffectivePolicy struct {
	ID  int64
	Ref string
	// Parameters are the group-by parameter names of the concurrency limit.
	Parameters []string
	// Method is "enqueue" or "cancel"; empty when there is no concurrency limit.
	Method string
	// Threshold is the concurrency limit; 0 means none.
	Threshold int32
	// RateLimitMax executions per RateLimitWindowSeconds; 0 means none.
	RateLimitMax           int32
	RateLimitWindowSeconds int32
}

// PolicyEffectiveForAction returns the policy governing an action (action
// scope, then pack scope `<pack>.*`, then global `*`; priority, then age) or
// domain.ErrNotFound when none applies.
func (d *DB) PolicyEffectiveForAction(ctx context.Context, actionID int64, actionRef, packRef string) (EffectivePolicy, error) {
	row, err := d.q.PolicyEffectiveForAction(ctx, d.db, dbsqlc.PolicyEffectiveForActionParams{
		ActionID: &actionID, ActionRef: actionRef, PackRef: packRef,
	})
	if err != nil {
		return EffectivePolicy{}, interpretError(err, "policy for action "+actionRef)
	}
	p := EffectivePolicy{ID: row.ID, Ref: row.Ref, Parameters: row.Parameters}
	if row.Method != nil {
		p.Method = string(*row.Method)
	}
	if row.Threshold != nil {
		p.Threshold = *row.Threshold
	}
	if row.RateLimitMaxExecutions != nil && row.RateLimitWindowSeconds != nil {
		p.RateLimitMax, p.RateLimitWindowSeconds = *row.RateLimitMaxExecutions, *row.RateLimitWindowSeconds
	}
	return p, nil
}

// AdmissionState is the durable FIFO head of one (action, group).
type AdmissionState struct {
	ID             int64
	ActionID       int64
	GroupKey       *string
	MaxConcurrent  int32
	NextQueueOrder int64
	TotalEnqueued  int64
	TotalCompleted int64
}

// AdmissionEntry is one execution holding (active) or waiting for (queued)
// a concurrency slot.
type AdmissionEntry struct {
	ID          int64
	StateID     int64
	ExecutionID int64
	Status      string // active | queued
	QueueOrder  int64
}

// Admission entry statuses.
const (
	AdmissionActive = "active"
	AdmissionQueued = "queued"
)

func admissionStateFromRow(r dbsqlc.ExecutionAdmissionState) AdmissionState {
	return AdmissionState{ID: r.ID, ActionID: r.ActionID, GroupKey: r.GroupKey, MaxConcurrent: r.MaxConcurrent,
		NextQueueOrder: r.NextQueueOrder, TotalEnqueued: r.TotalEnqueued, TotalCompleted: r.TotalCompleted}
}

func admissionEntryFromRow(r dbsqlc.ExecutionAdmissionEntry) AdmissionEntry {
	return AdmissionEntry{ID: r.ID, StateID: r.StateID, ExecutionID: r.ExecutionID, Status: r.Status, QueueOrder: r.QueueOrder}
}

// AdmissionStateAcquire creates or updates the state of (action, group) with
// the policy's limit and locks it until the transaction ends, so admission
// decisions of one group are serialised across executors.
func (t *Tx) AdmissionStateAcquire(ctx context.Context, actionID int64, groupKey *string, maxConcurrent int32) (AdmissionState, error) {
	if maxConcurrent <= 0 {
		return AdmissionState{}, domain.Invalidf("max_concurrent", "must be positive, got %d", maxConcurrent)
	}
	row, err := t.q.AdmissionStateUpsert(ctx, t.db, dbsqlc.AdmissionStateUpsertParams{
		ActionID: actionID, GroupKey: groupKey, MaxConcurrent: maxConcurrent,
	})
	if err != nil {
		return AdmissionState{}, interpretError(err, fmt.Sprintf("admission state of action %d", actionID))
	}
	return admissionStateFromRow(row), nil
}

// AdmissionStateLock locks an existing state row.
func (t *Tx) AdmissionStateLock(ctx context.Context, id int64) (AdmissionState, error) {
	row, err := t.q.AdmissionStateLock(ctx, t.db, id)
	if err != nil {
		return AdmissionState{}, interpretError(err, fmt.Sprintf("admission state %d", id))
	}
	return admissionStateFromRow(row), nil
}

// AdmissionEnter adds execution to a locked state as active or queued with
// the next queue order, counting it in total_enqueued.
func (t *Tx) AdmissionEnter(ctx context.Context, stateID, executionID int64, status string) (AdmissionEntry, error) {
	if status != AdmissionActive && status != AdmissionQueued {
		return AdmissionEntry{}, domain.Invalidf("status", "must be active or queued, got %q", status)
	}
	order, err := t.q.AdmissionStateTakeOrder(ctx, t.db, stateID)
	if err != nil {
		return AdmissionEntry{}, interpretError(err, fmt.Sprintf("admission state %d", stateID))
	}
	row, err := t.q.AdmissionEntryInsert(ctx, t.db, dbsqlc.AdmissionEntryInsertParams{
		StateID: stateID, ExecutionID: executionID, Status: status, QueueOrder: order,
	})
	if err != nil {
		return AdmissionEntry{}, interpretError(err, fmt.Sprintf("admission entry of execution %d", executionID))
	}
	return admissionEntryFromRow(row), nil
}

// AdmissionEntryGet returns the entry of an execution or domain.ErrNotFound.
func (d *DB) AdmissionEntryGet(ctx context.Context, executionID int64) (AdmissionEntry, error) {
	row, err := d.q.AdmissionEntryGetByExecution(ctx, d.db, executionID)
	if err != nil {
		return AdmissionEntry{}, interpretError(err, fmt.Sprintf("admission entry of execution %d", executionID))
	}
	return admissionEntryFromRow(row), nil
}

// AdmissionCounts returns how many entries of a state are active and queued.
func (d *DB) AdmissionCounts(ctx context.Context, stateID int64) (active, queued int64, err error) {
	row, err := d.q.AdmissionEntryCounts(ctx, d.db, stateID)
	if err != nil {
		return 0, 0, interpretError(err, fmt.Sprintf("admission counts of state %d", stateID))
	}
	return row.Active, row.Queued, nil
}

// AdmissionLeave removes an execution's entry, counting it completed. It
// returns the removed entry and found=false when there was none (never
// admitted, or a redelivered completion).
func (t *Tx) AdmissionLeave(ctx context.Context, executionID int64) (AdmissionEntry, bool, error) {
	row, err := t.q.AdmissionEntryDeleteByExecution(ctx, t.db, executionID)
	if err != nil {
		err = interpretError(err, fmt.Sprintf("admission entry of execution %d", executionID))
		if errors.Is(err, domain.ErrNotFound) {
			return AdmissionEntry{}, false, nil
		}
		return AdmissionEntry{}, false, err
	}
	if err := t.q.AdmissionStateCountCompleted(ctx, t.db, row.StateID); err != nil {
		return AdmissionEntry{}, false, interpretError(err, fmt.Sprintf("admission state %d", row.StateID))
	}
	return admissionEntryFromRow(row), true, nil
}

// AdmissionPromoteHead activates the oldest queued entry of a state and
// returns it; found=false when nothing is queued.
func (t *Tx) AdmissionPromoteHead(ctx context.Context, stateID int64) (AdmissionEntry, bool, error) {
	row, err := t.q.AdmissionEntryPromoteHead(ctx, t.db, stateID)
	if err != nil {
		err = interpretError(err, fmt.Sprintf("promote head of admission state %d", stateID))
		if errors.Is(err, domain.ErrNotFound) {
			return AdmissionEntry{}, false, nil
		}
		return AdmissionEntry{}, false, err
	}
	return admissionEntryFromRow(row), true, nil
}
