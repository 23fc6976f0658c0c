package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// ExecutionClaimDispatch is the worker's claim of one dispatch message: it
// moves the execution scheduled → running (attempt+1, fence+1, lease =
// now+lease) only while the row is still scheduled for worker with the fence
// the dispatch carried. Any other state (duplicate message, claimed already,
// rescheduled elsewhere, cancelled) returns domain.ErrConflict, so the caller
// acks and drops the message. The metadata_version read by the same
// statement comes back with the claimed row.
func (d *DB) ExecutionClaimDispatch(ctx context.Context, id, worker, fence int64, lease time.Duration) (Execution, int64, error) {
	row, err := d.q.ExecutionClaimDispatch(ctx, d.db, dbsqlc.ExecutionClaimDispatchParams{
		ID: id, Worker: &worker, Fence: fence, LeaseSeconds: lease.Seconds(),
	})
	if err == nil {
		return executionFromRow(row.Execution), row.MetadataVersion, nil
	}
	err = interpretError(err, fmt.Sprintf("execution %d", id))
	if !errors.Is(err, domain.ErrNotFound) {
		return Execution{}, 0, err
	}
	return Execution{}, 0, d.refused(ctx, id, fmt.Sprintf("claim by worker %d with fence %d", worker, fence))
}

// HeldLease is one attempt a worker holds: the execution and its fence.
type HeldLease struct{ ID, Fence int64 }

// WorkerHeartbeatRenew stamps the worker's last_heartbeat and extends the
// lease of every attempt in held, in one statement: both carry the same
// now(), so a worker that stops between them never looks alive after its
// leases lapsed. It returns the status (running or canceling) of each
// renewed attempt, so a heartbeat also notices a cancel whose message was
// lost; an attempt missing from it no longer holds its lease (stale fence or
// terminal row) and must stop and write nothing. beat is false when the
// worker row is gone.
func (d *DB) WorkerHeartbeatRenew(ctx context.Context, worker int64, held []HeldLease, lease time.Duration) (beat bool, renewed map[int64]string, err error) {
	p := dbsqlc.WorkerHeartbeatRenewParams{Worker: worker, LeaseSeconds: lease.Seconds(),
		IDs: make([]int64, len(held)), Fences: make([]int64, len(held))}
	for i, h := range held {
		p.IDs[i], p.Fences[i] = h.ID, h.Fence
	}
	rows, err := d.q.WorkerHeartbeatRenew(ctx, d.db, p)
	if err != nil {
		return false, nil, interpretError(err, fmt.Sprintf("worker %d heartbeat", worker))
	}
	renewed = make(map[int64]string, len(held))
	for _, r := range rows {
		beat = beat || r.Worker != nil
		if r.ExecutionID != nil && r.Status != nil {
			renewed[*r.ExecutionID] = string(*r.Status)
		}
	}
	return beat, renewed, nil
}
