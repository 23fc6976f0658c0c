package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// AttemptResult is a worker's terminal write for the attempt holding Fence.
type AttemptResult struct {
	ID     int64
	Fence  int64
	Status string // a terminal status
	Result []byte // JSON
	// Completed is the ExecutionCompleted message, written only when Needed
	// (the run may be retried) or when the execution holds an admission slot.
	Completed NewOutboxMessage
	Needed    bool
}

// ExecutionFinishAttempt writes r in one statement, which is its own
// transaction: the fenced compare-and-set from running or canceling to
// r.Status (as ExecutionUpdateStatus does) and, when the executor has work
// for it, the completion message. A stale attempt is domain.ErrConflict, a
// missing execution domain.ErrNotFound.
func (s *Store) ExecutionFinishAttempt(ctx context.Context, r AttemptResult) error {
	to := dbsqlc.ExecutionStatusEnum(r.Status)
	if !to.Valid() || !domain.TerminalStatus(r.Status) {
		return domain.Invalidf("status", "%q is not a terminal execution status", r.Status)
	}
	m := r.Completed
	if err := m.validate(false); err != nil {
		return err
	}
	stale, err := s.finishes.do(ctx, r)
	if err != nil {
		return err
	}
	if stale {
		return s.refused(ctx, r.ID, fmt.Sprintf("result %s with fence %d", r.Status, r.Fence))
	}
	return nil
}

// The workers' results' group statement (group.go).

// finishRow is one result in the statement's @rows.
type finishRow struct {
	ID      int64           `json:"id"`
	Fence   int64           `json:"fence"`
	Status  string          `json:"status"`
	Result  json.RawMessage `json:"result,omitempty"`
	Needed  bool            `json:"needed"`
	Message json.RawMessage `json:"message"`
}

// writeFinishes writes batch, one statement per kind of completion message
// and with no execution twice in one statement. A result is answered true
// when it was refused: its attempt is stale (or the execution is gone).
func (s *Store) writeFinishes(batch []AttemptResult) ([]bool, []error) {
	outs := make([]bool, len(batch))
	id := func(i int) int64 { return batch[i].ID }
	errs := inGroups(len(batch), func(group []int, i int) bool {
		return batch[group[0]].Completed.sameKind(batch[i].Completed) && noneShares(group, i, id)
	}, func(ctx context.Context, group []int) error { return s.writeSameFinishes(ctx, batch, group, outs) })
	return outs, errs
}

// writeSameFinishes writes the results of batch at idx into outs.
func (s *Store) writeSameFinishes(ctx context.Context, batch []AttemptResult, idx []int, outs []bool) error {
	sortByID(idx, func(i int) int64 { return batch[i].ID })
	rows := make([]finishRow, len(idx))
	for j, i := range idx {
		r := batch[i]
		rows[j] = finishRow{ID: r.ID, Fence: r.Fence, Status: r.Status, Result: r.Result, Needed: r.Needed, Message: r.Completed.Payload}
	}
	doc, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	one := s.oneShot()
	m := batch[idx[0]].Completed
	got, err := s.q.ExecutionFinishAttemptBatch(ctx, s.pool, dbsqlc.ExecutionFinishAttemptBatchParams{
		Rows: doc, Exchange: m.Exchange, RoutingKey: m.RoutingKey, MessageType: m.MessageType, AvailableAt: one.availableAt(),
	})
	if err != nil {
		return interpretError(err, fmt.Sprintf("write %d results", len(idx)))
	}
	if len(got) != len(idx) {
		return fmt.Errorf("%w: %d result rows for %d results", errGroupAnswer, len(got), len(idx))
	}
	var msgs []OutboxMessage
	for _, row := range got {
		i, err := answered(idx, row.I)
		if err != nil {
			return err
		}
		switch {
		case row.DoneID == nil:
			outs[i] = true
		case row.OutboxID != nil:
			msgs = append(msgs, m.written(*row.OutboxID, m.RoutingKey, row.OutboxPayload, *row.OutboxCreated, *row.OutboxAvailableAt))
		}
	}
	one.committed(msgs...)
	return nil
}
