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

// Execution is one run (or attempt chain) of an action.
type Execution struct {
	ID                int64
	Action            *int64
	ActionRef         string
	Config            json.RawMessage
	EnvVars           json.RawMessage
	Parent            *int64
	Enforcement       *int64
	Executor          *int64
	PermissionSetRefs []string
	Worker            *int64
	Status            string
	Result            json.RawMessage
	StartedAt         *time.Time
	TimeoutSeconds    *int32
	WorkflowDef       *int64
	WorkflowTask      json.RawMessage
	RetryCount        int32
	MaxRetries        int32
	RetryReason       *string
	OriginalExecution *int64
	// Attempt counts worker claims; Fence is the token the current attempt
	// must present to change the row; ResultFence is the fence of the
	// attempt that wrote Result.
	Attempt        int32
	Fence          int64
	LeaseExpiresAt *time.Time
	ResultFence    *int64
	Created        time.Time
	Updated        time.Time
}

func executionFromRow(r dbsqlc.Execution) Execution {
	return Execution{
		ID: r.ID, Action: r.Action, ActionRef: r.ActionRef, Config: r.Config, EnvVars: r.EnvVars,
		Parent: r.Parent, Enforcement: r.Enforcement, Executor: r.Executor,
		PermissionSetRefs: r.PermissionSetRefs, Worker: r.Worker, Status: string(r.Status),
		Result: r.Result, StartedAt: r.StartedAt, TimeoutSeconds: r.TimeoutSeconds,
		WorkflowDef: r.WorkflowDef, WorkflowTask: r.WorkflowTask, RetryCount: r.RetryCount,
		MaxRetries: r.MaxRetries, RetryReason: r.RetryReason, OriginalExecution: r.OriginalExecution,
		Attempt: r.Attempt, Fence: r.Fence, LeaseExpiresAt: r.LeaseExpiresAt, ResultFence: r.ResultFence,
		Created: r.Created, Updated: r.Updated,
	}
}

// NewExecution is the input to ExecutionInsert. Zero values take the column
// defaults (status requested, empty config/env).
type NewExecution struct {
	Action      *int64
	ActionRef   string
	Config      json.RawMessage
	EnvVars     json.RawMessage
	Parent      *int64
	Enforcement *int64
	Executor    *int64
	// AsSystem, with Executor nil, runs the execution as the `system`
	// identity (none when the deployment has none).
	AsSystem          bool
	PermissionSetRefs []string
	Status            string
	TimeoutSeconds    *int32
	WorkflowDef       *int64
	WorkflowTask      json.RawMessage
	RetryCount        int32
	MaxRetries        int32
	RetryReason       *string
	OriginalExecution *int64
}

// ExecutionGet returns one execution.
func (d *DB) ExecutionGet(ctx context.Context, id int64) (Execution, error) {
	row, err := d.q.ExecutionGet(ctx, d.db, id)
	if err != nil {
		return Execution{}, interpretError(err, fmt.Sprintf("execution %d", id))
	}
	return executionFromRow(row), nil
}

// ExecutionInsert creates an execution. A second top-level execution for the
// same enforcement fails with domain.ErrConflict.
func (d *DB) ExecutionInsert(ctx context.Context, e NewExecution) (Execution, error) {
	if e.ActionRef == "" {
		return Execution{}, domain.NewValidationError("action_ref", "must not be empty")
	}
	var status *dbsqlc.ExecutionStatusEnum
	if e.Status != "" {
		s := dbsqlc.ExecutionStatusEnum(e.Status)
		if !s.Valid() {
			return Execution{}, domain.Invalidf("status", "unknown execution status %q", e.Status)
		}
		status = &s
	}
	row, err := d.q.ExecutionInsert(ctx, d.db, dbsqlc.ExecutionInsertParams{
		Action: e.Action, ActionRef: e.ActionRef, Config: e.Config, EnvVars: e.EnvVars, Parent: e.Parent,
		Enforcement: e.Enforcement, Executor: e.Executor, AsSystem: e.AsSystem, PermissionSetRefs: e.PermissionSetRefs,
		Status: status, TimeoutSeconds: e.TimeoutSeconds, WorkflowDef: e.WorkflowDef,
		WorkflowTask: e.WorkflowTask, RetryCount: e.RetryCount, MaxRetries: e.MaxRetries,
		RetryReason: e.RetryReason, OriginalExecution: e.OriginalExecution,
	})
	if err != nil {
		return Execution{}, interpretError(err, "insert execution for "+e.ActionRef)
	}
	return executionFromRow(row), nil
}

// ExecutionFilter narrows ExecutionListPage. Empty fields do not filter.
type ExecutionFilter struct {
	Status    string
	ActionRef string
	Parent    *int64
	// BeforeID is the keyset cursor: only ids below it. 0 starts at the newest.
	BeforeID int64
	// Limit caps the page; defaults to 50.
	Limit int32
}

// ExecutionListPage returns one page of executions, newest (highest id) first.
// Pass the last id of a page as BeforeID to get the next one.
func (d *DB) ExecutionListPage(ctx context.Context, f ExecutionFilter) ([]Execution, error) {
	p := dbsqlc.ExecutionListPageParams{BeforeID: f.BeforeID, Parent: f.Parent, PageSize: f.Limit}
	if p.PageSize <= 0 {
		p.PageSize = 50
	}
	if f.Status != "" {
		s := dbsqlc.ExecutionStatusEnum(f.Status)
		if !s.Valid() {
			return nil, domain.Invalidf("status", "unknown execution status %q", f.Status)
		}
		p.Status = &s
	}
	if f.ActionRef != "" {
		p.ActionRef = &f.ActionRef
	}
	rows, err := d.q.ExecutionListPage(ctx, d.db, p)
	if err != nil {
		return nil, interpretError(err, "list executions")
	}
	out := make([]Execution, len(rows))
	for i, r := range rows {
		out[i] = executionFromRow(r)
	}
	return out, nil
}

// StatusUpdate is a fenced compare-and-set on an execution's status.
type StatusUpdate struct {
	ID int64
	// Fence must equal the row's current fence (the one returned by the claim).
	Fence int64
	// From lists the statuses the caller believes the row is in.
	From []string
	To   string
	// Result, when non-nil, replaces the result and stamps result_fence.
	Result json.RawMessage
}

// ExecutionUpdateStatus applies u only if the row still has u.Fence and one
// of u.From. Otherwise it returns domain.ErrConflict (stale fence or status,
// described) or domain.ErrNotFound.
func (d *DB) ExecutionUpdateStatus(ctx context.Context, u StatusUpdate) (Execution, error) {
	to := dbsqlc.ExecutionStatusEnum(u.To)
	if !to.Valid() {
		return Execution{}, domain.Invalidf("status", "unknown execution status %q", u.To)
	}
	if len(u.From) == 0 {
		return Execution{}, domain.NewValidationError("from", "must list at least one status")
	}
	row, err := d.q.ExecutionUpdateStatus(ctx, d.db, dbsqlc.ExecutionUpdateStatusParams{
		ID: u.ID, Fence: u.Fence, FromStatuses: u.From, Status: to, Result: u.Result,
	})
	if err == nil {
		return executionFromRow(row), nil
	}
	err = interpretError(err, fmt.Sprintf("execution %d", u.ID))
	if !errors.Is(err, domain.ErrNotFound) {
		return Execution{}, err
	}
	return Execution{}, d.refused(ctx, u.ID, fmt.Sprintf("update %v->%s with fence %d", u.From, u.To, u.Fence))
}

// refused explains a guarded write to execution id that matched no row:
// domain.ErrNotFound when the execution is gone, otherwise domain.ErrConflict
// naming the state that refused what (the caller's view is stale).
func (d *DB) refused(ctx context.Context, id int64, what string) error {
	cur, err := d.ExecutionGet(ctx, id)
	if err != nil {
		return err
	}
	w := int64(0)
	if cur.Worker != nil {
		w = *cur.Worker
	}
	return domain.Conflictf("execution %d: %s refused (now %s, worker %d, fence %d)", id, what, cur.Status, w, cur.Fence)
}

// ExecutionClaim moves a scheduled execution to running for worker, starting
// a new attempt with a new fence and a lease of the given length. A claim that
// loses the race returns domain.ErrConflict.
func (d *DB) ExecutionClaim(ctx context.Context, id, worker int64, lease time.Duration) (Execution, error) {
	row, err := d.q.ExecutionClaim(ctx, d.db, dbsqlc.ExecutionClaimParams{
		ID: id, Worker: &worker, LeaseSeconds: lease.Seconds(),
	})
	if err == nil {
		return executionFromRow(row), nil
	}
	err = interpretError(err, fmt.Sprintf("execution %d", id))
	if !errors.Is(err, domain.ErrNotFound) {
		return Execution{}, err
	}
	return Execution{}, d.refused(ctx, id, "claim")
}

// ExecutionExtendLease renews the lease of the attempt holding fence and
// returns the new expiry; a stale fence gets domain.ErrConflict.
func (d *DB) ExecutionExtendLease(ctx context.Context, id, fence int64, lease time.Duration) (time.Time, error) {
	exp, err := d.q.ExecutionExtendLease(ctx, d.db, dbsqlc.ExecutionExtendLeaseParams{
		ID: id, Fence: fence, LeaseSeconds: lease.Seconds(),
	})
	if err != nil {
		err = interpretError(err, fmt.Sprintf("execution %d", id))
		if errors.Is(err, domain.ErrNotFound) {
			return time.Time{}, domain.Conflictf("execution %d: lease for fence %d is no longer held", id, fence)
		}
		return time.Time{}, err
	}
	return *exp, nil
}
