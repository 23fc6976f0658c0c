package executor

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
)

var timeZero time.Time

// reapBatch bounds the rows one reaper transaction locks.
const reapBatch = 100

// Messages written to the result of reaped executions.
const (
	WorkerLostMessage       = "Worker lost: execution lease expired"
	CancelWorkerLostMessage = "Execution cancelled (worker lost before confirming)"
)

// ReapStats counts what one reaper pass did.
type ReapStats struct {
	Abandoned, Retried, Cancelled, Requeued int
}

func (m *Module) runReaper(ctx context.Context) {
	t := time.NewTicker(m.d.Config.ReaperInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := m.ReapOnce(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("reaper pass failed", "err", err)
		}
	}
}

// ReapOnce runs one reaper pass (guarantees §1.3): running executions whose
// lease lapsed are abandoned, or requeued with fence+1 when the action says
// on_worker_lost=retry and attempts remain; canceling ones become
// cancelled; scheduled ones no worker claimed within DispatchClaimTimeout go
// back to requested with fence+1. Rows are taken FOR UPDATE SKIP LOCKED, so
// concurrent reapers in several executors share the work.
func (m *Module) ReapOnce(ctx context.Context) (ReapStats, error) {
	var s ReapStats
	for {
		n := 0
		err := m.d.Store.InTx(ctx, func(tx *store.Tx) error {
			lost, err := tx.ExecutionListLeaseExpired(ctx, reapBatch)
			if err != nil {
				return err
			}
			n = len(lost)
			for _, ex := range lost {
				if err := m.reapLost(ctx, tx, ex, &s); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return s, err
		}
		if n < reapBatch {
			break
		}
	}
	err := m.d.Store.InTx(ctx, func(tx *store.Tx) error {
		stuck, err := tx.ExecutionListUnclaimed(ctx, m.d.Config.DispatchClaimTimeout, reapBatch)
		if err != nil {
			return err
		}
		for _, ex := range stuck {
			re, err := tx.ExecutionRequeue(ctx, ex.ID, ex.Fence, pipeline.StatusScheduled)
			if err != nil {
				return err
			}
			m.log.Warn("dispatch never claimed; execution requeued", "execution_id", ex.ID, "worker_id", ex.Worker)
			if err := pipeline.EnqueueRequested(ctx, tx, re, nil, 0, timeZero); err != nil {
				return err
			}
			s.Requeued++
		}
		return nil
	})
	return s, err
}

func (m *Module) reapLost(ctx context.Context, tx *store.Tx, ex store.Execution, s *ReapStats) error {
	if ex.Status == pipeline.StatusCanceling {
		res, _ := json.Marshal(map[string]any{"error": CancelWorkerLostMessage, "succeeded": false, "cancelled": true})
		if _, err := pipeline.FinishExecution(ctx, tx, ex, []string{pipeline.StatusCanceling}, pipeline.StatusCancelled, res); err != nil {
			return err
		}
		s.Cancelled++
		return nil
	}
	retry := false
	if ex.Action != nil {
		action, err := tx.ActionGet(ctx, *ex.Action)
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			return err
		}
		retry = err == nil && action.OnWorkerLost == "retry" && ex.Attempt < action.MaxAttempts
	}
	if retry {
		re, err := tx.ExecutionRequeue(ctx, ex.ID, ex.Fence, pipeline.StatusRunning)
		if err != nil {
			return err
		}
		m.log.Warn("worker lost; execution requeued", "execution_id", ex.ID, "attempt", ex.Attempt, "fence", re.Fence)
		s.Retried++
		return pipeline.EnqueueRequested(ctx, tx, re, nil, 0, timeZero)
	}
	if _, err := pipeline.FinishExecution(ctx, tx, ex, []string{pipeline.StatusRunning}, pipeline.StatusAbandoned,
		pipeline.FailureResult(WorkerLostMessage)); err != nil {
		return err
	}
	m.log.Warn("worker lost; execution abandoned", "execution_id", ex.ID, "attempt", ex.Attempt)
	s.Abandoned++
	return nil
}
