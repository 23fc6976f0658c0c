package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
)

// Backoff of the scheduler's delayed re-requests while no worker is eligible.
const (
	scheduleBackoffMin = 250 * time.Millisecond
	scheduleBackoffMax = 5 * time.Second
)

// handleRequested is the scheduler (spec §6): admission by policy, then
// placement on the least-loaded eligible worker, all in one transaction
// holding the execution's row lock. Anything but a `requested` execution is
// a stale or duplicate message and is acked untouched.
func (m *Module) handleRequested(ctx context.Context, d bus.Delivery) error {
	var msg pipeline.ExecutionRequested
	if err := json.Unmarshal(d.Payload, &msg); err != nil {
		return bus.Permanent(fmt.Errorf("decode ExecutionRequested: %w", err))
	}
	err := m.d.Store.InTx(ctx, func(tx *store.Tx) error { return m.schedule(ctx, tx, msg) })
	if errors.Is(err, domain.ErrNotFound) {
		m.log.Warn("requested execution vanished", "execution_id", msg.ExecutionID)
		return nil
	}
	return err
}

func (m *Module) schedule(ctx context.Context, tx *store.Tx, msg pipeline.ExecutionRequested) error {
	ex, err := tx.ExecutionGetForUpdate(ctx, msg.ExecutionID)
	if err != nil || ex.Status != pipeline.StatusRequested {
		return err
	}
	var action store.Action
	if ex.Action != nil {
		action, err = tx.ActionGet(ctx, *ex.Action)
	}
	if ex.Action == nil || errors.Is(err, domain.ErrNotFound) {
		_, err = pipeline.FinishExecution(ctx, tx, ex, []string{pipeline.StatusRequested}, pipeline.StatusFailed,
			pipeline.FailureResult(fmt.Sprintf("Action %s no longer exists", ex.ActionRef)))
		return err
	}
	if err != nil {
		return err
	}
	return m.place(ctx, tx, ex, action, msg)
}

// newPlacer is the pipeline.Scheduler for rule firing: metadata reads come
// from the cache for the event's metadata version (meta; nil reads
// through), and executions created requested in the firing transaction go
// straight to placement.
type newPlacer struct {
	m    *Module
	meta *metaView
}

// LoadAction implements pipeline.Scheduler.
func (p newPlacer) LoadAction(ctx context.Context, db *store.DB, id int64) (store.Action, error) {
	return p.meta.LoadAction(ctx, db, id)
}

// InlineTarget implements pipeline.Scheduler: an action no policy governs
// may be placed by the statement that writes its execution; with a policy,
// admission needs the row first.
func (p newPlacer) InlineTarget(ctx context.Context, db *store.DB, action store.Action) (store.FireTarget, bool, error) {
	if governed, err := p.meta.governed(ctx, db, action); err != nil || governed {
		return store.FireTarget{}, false, err
	}
	names, err := p.meta.runtimeNames(ctx, db, action)
	if err != nil {
		return store.FireTarget{}, false, err
	}
	return store.FireTarget{RuntimeNames: names, StaleAfter: p.m.d.Config.WorkerStaleAfter}, true, nil
}

// Place implements pipeline.Scheduler.
func (p newPlacer) Place(ctx context.Context, tx *store.Tx, ex store.Execution, action store.Action) error {
	return p.m.place(ctx, tx, ex, action, pipeline.ExecutionRequested{ExecutionID: ex.ID, ActionRef: ex.ActionRef})
}

// place admits ex (which tx holds, in status requested) and places it on a
// worker.
func (m *Module) place(ctx context.Context, tx *store.Tx, ex store.Execution, action store.Action, msg pipeline.ExecutionRequested) error {
	verdict, err := m.admit(ctx, tx, ex, action)
	if err != nil || verdict != admitted {
		return err
	}
	names, err := runtimeNames(ctx, &tx.DB, action)
	if err != nil {
		return err
	}
	pick, err := tx.ExecutionWorkerPick(ctx, m.d.Config.WorkerStaleAfter, names)
	if errors.Is(err, domain.ErrNotFound) {
		return m.unschedulable(ctx, tx, ex, msg, names)
	}
	if err != nil {
		return err
	}
	sched, err := tx.ExecutionScheduleOnWorker(ctx, ex.ID, ex.Fence, pick.WorkerID)
	if err != nil {
		return err
	}
	m.log.Debug("execution scheduled", "execution_id", ex.ID, "worker_id", pick.WorkerID)
	return pipeline.EnqueueDispatch(ctx, tx, sched)
}

// unschedulable keeps ex requested and asks again later with backoff, until
// it has waited UnschedulableTimeout; then it fails.
func (m *Module) unschedulable(ctx context.Context, tx *store.Tx, ex store.Execution, msg pipeline.ExecutionRequested, names []string) error {
	now := time.Now()
	since := now
	if msg.WaitingSince != nil {
		since = *msg.WaitingSince
	}
	if now.Sub(since) >= m.d.Config.UnschedulableTimeout {
		reason := fmt.Sprintf("unschedulable: no eligible worker for %s", ex.ActionRef)
		if len(names) > 0 {
			reason += " (runtime " + strings.Join(names, "|") + ")"
		}
		reason += fmt.Sprintf(" within %s", m.d.Config.UnschedulableTimeout)
		m.log.Warn("execution unschedulable", "execution_id", ex.ID, "action", ex.ActionRef)
		_, err := pipeline.FinishExecution(ctx, tx, ex, []string{pipeline.StatusRequested}, pipeline.StatusFailed,
			pipeline.FailureResult(reason))
		return err
	}
	delay := min(scheduleBackoffMin<<min(msg.Retry, 5), scheduleBackoffMax)
	if left := m.d.Config.UnschedulableTimeout - now.Sub(since); delay > left {
		delay = left
	}
	return pipeline.EnqueueRequested(ctx, tx, ex, &since, msg.Retry+1, now.Add(delay))
}

// runtimeNames are the lowercase names a worker may list in
// capabilities.runtimes to run action: the runtime's name, ref, the ref's
// short form and its aliases. Empty means any worker will do.
func runtimeNames(ctx context.Context, db *store.DB, action store.Action) ([]string, error) {
	var rt store.Runtime
	var err error
	switch {
	case action.Runtime != nil:
		rt, err = db.RuntimeGet(ctx, *action.Runtime)
	case action.RuntimeRef != nil && *action.RuntimeRef != "":
		rt, err = db.RuntimeGetByRef(ctx, *action.RuntimeRef)
	default:
		return nil, nil
	}
	if errors.Is(err, domain.ErrNotFound) {
		if action.RuntimeRef == nil {
			return nil, nil
		}
		// The runtime row is gone but the ref still says what is needed.
		return refNames(*action.RuntimeRef), nil
	}
	if err != nil {
		return nil, err
	}
	names := refNames(rt.Ref)
	names = appendLower(names, rt.Name)
	for _, a := range rt.Aliases {
		names = appendLower(names, a)
	}
	return names, nil
}

func refNames(ref string) []string {
	out := appendLower(nil, ref)
	if _, short, ok := strings.Cut(ref, "."); ok {
		out = appendLower(out, short)
	}
	return out
}

func appendLower(names []string, n string) []string {
	n = strings.ToLower(strings.TrimSpace(n))
	if n == "" {
		return names
	}
	for _, x := range names {
		if x == n {
			return names
		}
	}
	return append(names, n)
}
