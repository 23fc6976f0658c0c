package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

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
	one := s.oneShot()
	row, err := s.q.ExecutionFinishAttempt(ctx, s.pool, dbsqlc.ExecutionFinishAttemptParams{
		Status: to, Result: r.Result, ID: r.ID, Fence: r.Fence, Exchange: m.Exchange, RoutingKey: m.RoutingKey,
		MessageType: m.MessageType, Message: m.Payload, AvailableAt: one.availableAt(), Needed: r.Needed,
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return s.refused(ctx, r.ID, fmt.Sprintf("result %s with fence %d", r.Status, r.Fence))
	}
	if err != nil {
		return interpretError(err, fmt.Sprintf("execution %d", r.ID))
	}
	if row.OutboxID != nil {
		one.committed(m.written(*row.OutboxID, m.RoutingKey, row.OutboxPayload, *row.OutboxCreated, *row.OutboxAvailableAt))
	}
	return nil
}
