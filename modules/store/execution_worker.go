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

// ExecutionRenewLease extends the lease of the attempt holding fence and
// returns the execution's status (running or canceling), so a heartbeat also
// notices a cancel whose message was lost. A stale fence or a terminal row
// gets domain.ErrConflict: that attempt must stop and write nothing.
func (d *DB) ExecutionRenewLease(ctx context.Context, id, fence int64, lease time.Duration) (string, error) {
	st, err := d.q.ExecutionRenewLease(ctx, d.db, dbsqlc.ExecutionRenewLeaseParams{
		ID: id, Fence: fence, LeaseSeconds: lease.Seconds(),
	})
	if err != nil {
		err = interpretError(err, fmt.Sprintf("execution %d", id))
		if errors.Is(err, domain.ErrNotFound) {
			return "", domain.Conflictf("execution %d: lease for fence %d is no longer held", id, fence)
		}
		return "", err
	}
	return string(st), nil
}
