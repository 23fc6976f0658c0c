package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
)

// run is one claimed attempt executing on this worker.
type run struct {
	ex     store.Execution // as claimed: Fence is this attempt's token
	action store.Action
	// cancel stops the process (SIGTERM → grace → SIGKILL).
	cancel context.CancelFunc
	ctx    context.Context
	// received is when the dispatch arrived, for the launch-latency metric.
	received time.Time
	// pre holds the launch inputs loaded while the claim committed.
	pre *prefetched
	// version is the metadata_version the claim read: pre is used only
	// when it is current for that version.
	version int64
	// origin is the enforcement's refs when the dispatch carried them.
	origin enforcementRefs
	// artifacts is the attempt's artifacts directory, released at the end.
	artifacts string
	// stale: the lease was lost (fence moved on); write nothing.
	stale atomic.Bool
	// shutdown: killed because the worker stopped.
	shutdown atomic.Bool
	// written: the result is committed; a refused renewal after it is
	// expected, not a lost lease.
	written atomic.Bool
}

// onDispatch handles ExecutionDispatch from the broker: claim (fenced), then
// run in the background. The message is acked only after the claim
// committed; a dispatch that no longer matches the row, or that its wake-up
// copy already took (wake.go), is acked and dropped.
func (m *Module) onDispatch(ctx context.Context, d bus.Delivery) error {
	received := time.Now()
	msg, err := parseDispatch(d.Payload)
	if err != nil {
		return bus.Permanent(err)
	}
	if msg.WorkerID != m.workerID {
		m.log.Warn("worker: dispatch for another worker dropped", "execution_id", msg.ExecutionID, "worker_id", msg.WorkerID)
		return nil
	}
	e, taken, err := m.seen.Own(ctx, keyOf(msg))
	if err != nil || taken {
		return err
	}
	// A slot first: the prefetch (cap+2) lets two dispatches wait here; if
	// the consumer closes meanwhile they return to the queue unclaimed.
	select {
	case m.sem <- struct{}{}:
	case <-ctx.Done():
		m.seen.Settle(keyOf(msg), e, false)
		return ctx.Err()
	}
	err = m.claimAndStart(ctx, msg, received)
	m.seen.Settle(keyOf(msg), e, err == nil)
	return err
}

func parseDispatch(payload []byte) (pipeline.ExecutionDispatch, error) {
	var msg pipeline.ExecutionDispatch
	if err := json.Unmarshal(payload, &msg); err != nil || msg.ExecutionID == 0 {
		return msg, fmt.Errorf("worker: malformed ExecutionDispatch: %v", err)
	}
	return msg, nil
}

// claimAndStart claims msg's execution with the concurrency slot the caller
// took, and starts it; the slot goes back unless the run started. nil means
// settled: started, or refused as stale or duplicate.
func (m *Module) claimAndStart(ctx context.Context, msg pipeline.ExecutionDispatch, received time.Time) error {
	started := false
	defer func() {
		if !started {
			<-m.sem
		}
	}()
	// The claim is a fenced compare-and-set: a stale or duplicate dispatch
	// (rescheduled elsewhere, already claimed, cancelled) claims nothing.
	// The launch inputs load meanwhile.
	pre := m.prefetch(msg.ActionRef)
	claimed, version, err := m.claim(ctx, msg)
	if errors.Is(err, domain.ErrConflict) || errors.Is(err, domain.ErrNotFound) {
		m.log.Debug("worker: stale or duplicate dispatch dropped", "execution_id", msg.ExecutionID, "fence", msg.Fence, "err", err)
		return nil
	} else if err != nil {
		return err
	}
	r := &run{ex: claimed, received: received, pre: pre, version: version, origin: enforcementRefs{rule: msg.RuleRef, trigger: msg.TriggerRef}}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	m.mu.Lock()
	m.runs[claimed.ID] = r
	m.mu.Unlock()
	if m.cancels.take(claimed.ID) {
		r.cancel() // the cancel arrived before the dispatch
	}
	m.met.running.Inc()
	m.runsWG.Add(1)
	started = true
	go m.execute(r)
	return nil
}

// claim moves the execution to running with a new fence and lease: one
// fenced compare-and-set, so it needs no transaction of its own. Observers
// learn of the change from the execution_status_changed notification. It
// also returns the metadata version, read in the same statement.
func (m *Module) claim(ctx context.Context, msg pipeline.ExecutionDispatch) (store.Execution, int64, error) {
	return m.d.Store.ExecutionClaimDispatch(ctx, msg.ExecutionID, m.workerID, msg.Fence, msg.OutboxID, m.d.Config.LeaseTimeout)
}
