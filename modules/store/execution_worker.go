package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
)

// ExecutionClaimDispatch is the worker's claim of one dispatch message: it
// moves the execution scheduled → running (attempt+1, fence+1, lease =
// now+lease) only while the row is still scheduled for worker with the fence
// the dispatch carried. Any other state (duplicate message, claimed already,
// rescheduled elsewhere, cancelled) returns domain.ErrConflict, so the caller
// acks and drops the message. The metadata_version read by the same
// statement comes back with the claimed row. outboxID, when the claim comes
// from the dispatch's wake-up, is the dispatch's outbox row: the statement
// deletes it, so the relay holding the broker copy back publishes none.
func (s *Store) ExecutionClaimDispatch(ctx context.Context, id, worker, fence, outboxID int64, lease time.Duration) (Execution, int64, error) {
	res, err := s.claims.do(ctx, claimReq{id: id, worker: worker, fence: fence, outboxID: outboxID, lease: lease})
	if err != nil {
		return Execution{}, 0, err
	}
	if res.refused {
		return Execution{}, 0, s.refused(ctx, id, fmt.Sprintf("claim by worker %d with fence %d", worker, fence))
	}
	return res.ex, res.version, nil
}

// The workers' claims' group statement (group.go).

type claimReq struct {
	id, worker, fence, outboxID int64
	lease                       time.Duration
}

type claimRes struct {
	ex      Execution
	version int64
	// refused: the row was not as the dispatch expected; the requester
	// reads why (in its own goroutine, not the leader's).
	refused bool
}

// claimRow is one claim in the statement's @rows.
type claimRow struct {
	ID           int64   `json:"id"`
	Worker       int64   `json:"worker"`
	Fence        int64   `json:"fence"`
	LeaseSeconds float64 `json:"lease_seconds"`
	OutboxID     int64   `json:"outbox_id,omitempty"`
}

// writeClaims claims batch, with no execution twice in one statement.
func (s *Store) writeClaims(batch []claimReq) ([]claimRes, []error) {
	outs := make([]claimRes, len(batch))
	id := func(i int) int64 { return batch[i].id }
	errs := inGroups(len(batch), func(group []int, i int) bool { return noneShares(group, i, id) },
		func(ctx context.Context, group []int) error { return s.writeSameClaims(ctx, batch, group, outs) })
	return outs, errs
}

// writeSameClaims claims the requests of batch at idx into outs.
func (s *Store) writeSameClaims(ctx context.Context, batch []claimReq, idx []int, outs []claimRes) error {
	sortByID(idx, func(i int) int64 { return batch[i].id })
	rows := make([]claimRow, len(idx))
	for j, i := range idx {
		r := batch[i]
		rows[j] = claimRow{ID: r.id, Worker: r.worker, Fence: r.fence, LeaseSeconds: r.lease.Seconds(), OutboxID: r.outboxID}
	}
	doc, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	got, err := s.q.ExecutionClaimDispatchBatch(ctx, s.pool, doc)
	if err != nil {
		return interpretError(err, fmt.Sprintf("claim %d executions", len(idx)))
	}
	// A claim the statement did not answer was refused.
	for _, i := range idx {
		outs[i] = claimRes{refused: true}
	}
	for _, row := range got {
		i, err := answered(idx, row.I)
		if err != nil {
			return err
		}
		outs[i] = claimRes{ex: executionFromRow(row.Execution), version: row.MetadataVersion}
	}
	return nil
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
	// In id order, as the grouped claims and results: statements that lock
	// several executions in one order cannot deadlock each other.
	held = slices.SortedFunc(slices.Values(held), func(a, b HeldLease) int { return cmp.Compare(a.ID, b.ID) })
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
