package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
)

// verdict is the outcome of policy admission.
type verdict int

const (
	admitted verdict = iota // go on and place the execution on a worker
	waiting                 // queued or delayed; a later ExecutionRequested resumes it
	rejected                // cancelled by policy (already finished and announced)
)

const (
	methodCancel    = "cancel"
	policyCancelMsg = "Cancelled by policy %s: %s"
)

// admit applies the action's effective policy (spec §6 Scheduler step 3):
// the concurrency limit per (action, parameter group) with method enqueue
// (durable strict FIFO) or cancel, then the rate limit. Queue stats follow
// every change of the admission tables.
func (m *Module) admit(ctx context.Context, tx *store.Tx, ex store.Execution, action store.Action) (verdict, error) {
	pol, err := tx.PolicyEffectiveForAction(ctx, action.ID, action.Ref, action.PackRef)
	if errors.Is(err, domain.ErrNotFound) {
		return admitted, nil
	}
	if err != nil {
		return waiting, err
	}
	if pol.Threshold > 0 {
		v, err := m.admitConcurrency(ctx, tx, ex, action, pol)
		if err != nil || v != admitted {
			return v, err
		}
	}
	if pol.RateLimitMax > 0 {
		window := time.Duration(pol.RateLimitWindowSeconds) * time.Second
		n, err := tx.ExecutionCountDispatchedSince(ctx, action.ID, ex.ID, window)
		if err != nil {
			return waiting, err
		}
		if n >= int64(pol.RateLimitMax) {
			if pol.Method == methodCancel {
				return rejected, m.cancelByPolicy(ctx, tx, ex, pol,
					fmt.Sprintf("rate limit of %d per %s reached", pol.RateLimitMax, window))
			}
			// Ask again once a slot of the window is likely free; the
			// concurrency slot (if any) is kept meanwhile.
			delay := min(max(window/time.Duration(pol.RateLimitMax), scheduleBackoffMin), window)
			return waiting, pipeline.EnqueueRequested(ctx, tx, ex, nil, 0, time.Now().Add(delay))
		}
	}
	return admitted, nil
}

// admitConcurrency takes or queues for a slot of the execution's group. The
// group's state row is locked first, so decisions about one group are
// serialised across executors; an execution already holding an entry (a
// redelivery, a promoted queue head, a requeued attempt) keeps it.
func (m *Module) admitConcurrency(ctx context.Context, tx *store.Tx, ex store.Execution, action store.Action, pol store.EffectivePolicy) (verdict, error) {
	group := groupKey(ex.Config, pol.Parameters)
	state, err := tx.AdmissionStateAcquire(ctx, action.ID, group, pol.Threshold)
	if err != nil {
		return waiting, err
	}
	entry, err := tx.AdmissionEntryGet(ctx, ex.ID)
	switch {
	case err == nil && entry.Status == store.AdmissionActive:
		return admitted, nil
	case err == nil:
		return waiting, nil
	case !errors.Is(err, domain.ErrNotFound):
		return waiting, err
	}
	if pol.Method == methodCancel {
		active, _, err := tx.AdmissionCounts(ctx, state.ID)
		if err != nil {
			return waiting, err
		}
		if active >= int64(state.MaxConcurrent) {
			if err := m.cancelByPolicy(ctx, tx, ex, pol, fmt.Sprintf("concurrency limit %d reached", state.MaxConcurrent)); err != nil {
				return rejected, err
			}
			return rejected, refreshStats(ctx, tx, state)
		}
		if _, err := tx.AdmissionEnter(ctx, state.ID, ex.ID, store.AdmissionActive); err != nil {
			return waiting, err
		}
		return admitted, refreshStats(ctx, tx, state)
	}
	// Enqueue: older executions of this group whose messages have not arrived
	// yet join the queue first, so the order is submission order whatever
	// order the scheduler's deliveries come in.
	older, err := tx.ExecutionListPendingBefore(ctx, action.ID, ex.ID)
	if err != nil {
		return waiting, err
	}
	for _, o := range older {
		if sameGroup(groupKey(o.Config, pol.Parameters), group) {
			if _, err := tx.AdmissionEnter(ctx, state.ID, o.ID, store.AdmissionQueued); err != nil {
				return waiting, err
			}
		}
	}
	if _, err := tx.AdmissionEnter(ctx, state.ID, ex.ID, store.AdmissionQueued); err != nil {
		return waiting, err
	}
	self, err := pump(ctx, tx, state, ex.ID, action.Ref)
	if err != nil {
		return waiting, err
	}
	if err := refreshStats(ctx, tx, state); err != nil {
		return waiting, err
	}
	if self {
		return admitted, nil
	}
	return waiting, nil
}

// pump promotes queue heads while the group has free slots. Promoted heads
// other than self get a fresh ExecutionRequested; it reports whether self
// was promoted (its caller goes on scheduling it).
func pump(ctx context.Context, tx *store.Tx, state store.AdmissionState, self int64, actionRef string) (bool, error) {
	active, queued, err := tx.AdmissionCounts(ctx, state.ID)
	if err != nil {
		return false, err
	}
	selfPromoted := false
	for active < int64(state.MaxConcurrent) && queued > 0 {
		head, ok, err := tx.AdmissionPromoteHead(ctx, state.ID)
		if err != nil || !ok {
			return selfPromoted, err
		}
		active, queued = active+1, queued-1
		if head.ExecutionID == self {
			selfPromoted = true
			continue
		}
		if err := pipeline.EnqueueRequested(ctx, tx, store.Execution{ID: head.ExecutionID, ActionRef: actionRef}, nil, 0, time.Time{}); err != nil {
			return selfPromoted, err
		}
	}
	return selfPromoted, nil
}

// release frees the admission entry of a finished execution and promotes
// the next queued executions of its group. A second release is a no-op.
func release(ctx context.Context, tx *store.Tx, ex store.Execution) error {
	entry, err := tx.AdmissionEntryGet(ctx, ex.ID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	state, err := tx.AdmissionStateLock(ctx, entry.StateID)
	if err != nil {
		return err
	}
	if _, found, err := tx.AdmissionLeave(ctx, ex.ID); err != nil || !found {
		return err
	}
	if _, err := pump(ctx, tx, state, 0, ex.ActionRef); err != nil {
		return err
	}
	return refreshStats(ctx, tx, state)
}

func refreshStats(ctx context.Context, tx *store.Tx, state store.AdmissionState) error {
	_, err := tx.QueueStatsRefresh(ctx, state.ActionID, state.MaxConcurrent)
	return err
}

// cancelByPolicy finishes a requested execution as cancelled with the
// policy's reason and announces it.
func (m *Module) cancelByPolicy(ctx context.Context, tx *store.Tx, ex store.Execution, pol store.EffectivePolicy, why string) error {
	res, _ := json.Marshal(map[string]any{"error": fmt.Sprintf(policyCancelMsg, pol.Ref, why), "succeeded": false, "cancelled": true})
	_, err := pipeline.FinishExecution(ctx, tx, ex, []string{pipeline.StatusRequested}, pipeline.StatusCancelled, res)
	m.log.Info("execution cancelled by policy", "execution_id", ex.ID, "policy", pol.Ref, "reason", why)
	return err
}

// groupKey is the JSON array of the execution's values of the policy's
// group-by parameters (nil without group-by parameters): executions with
// equal values share one concurrency limit.
func groupKey(config json.RawMessage, params []string) *string {
	if len(params) == 0 {
		return nil
	}
	var cfg map[string]any
	dec := json.NewDecoder(bytes.NewReader(config))
	dec.UseNumber()
	_ = dec.Decode(&cfg) // a non-object config groups under nulls
	vals := make([]any, len(params))
	for i, p := range params {
		vals[i] = cfg[p]
	}
	b, _ := json.Marshal(vals) // decoded JSON always re-encodes
	s := string(b)
	return &s
}

func sameGroup(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
