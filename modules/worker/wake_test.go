package worker_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/worker"
)

// Over a broker, a dispatch NOTIFYed on the worker's wake channel runs
// without its broker copy; the broker copy arriving afterwards runs nothing
// more.
func TestWakeUpRunsDispatchAheadOfBroker(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{rabbit: true, configure: func(d *worker.Deps) { d.Wake = true }})
	ctx := context.Background()
	marks := filepath.Join(t.TempDir(), "ran")
	act := e.action("woken", "#!/bin/sh\necho run >> '"+marks+"'\n", nil)
	ex := e.schedule(act, map[string]any{}, nil)
	payload, err := json.Marshal(pipeline.ExecutionDispatch{ExecutionID: ex.ID, WorkerID: e.w.WorkerID(),
		ActionRef: ex.ActionRef, Fence: ex.Fence})
	require.NoError(t, err)

	// The listener connects in the background: notify until the claim shows
	// (repeats are absorbed like any duplicate dispatch).
	require.Eventually(t, func() bool {
		_, err := e.st.Pool().Exec(ctx, `SELECT pg_notify($1, $2)`, store.WorkerWakeChannel(e.w.WorkerID()), string(payload))
		require.NoError(t, err)
		got, err := e.st.ExecutionGet(ctx, ex.ID)
		require.NoError(t, err)
		return got.Status != "scheduled"
	}, 20*time.Second, 50*time.Millisecond, "the wake-up never claimed the execution")
	done := e.waitTerminal(ex.ID, 20*time.Second)
	require.Equal(t, "completed", done.Status)
	require.GreaterOrEqual(t, counterValue(t, e.deps.Metrics.(*prometheus.Registry), "attune_worker_dispatches_woken_total"), 1.0)

	// The broker copy, then another execution through the broker alone.
	e.dispatch(ex)
	second := e.run(act, map[string]any{})
	require.Equal(t, "completed", second.Status)
	b, err := os.ReadFile(marks)
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(string(b), "run\n"), "the woken execution ran again from its broker copy")
	again, err := e.st.ExecutionGet(ctx, ex.ID)
	require.NoError(t, err)
	require.Equal(t, done.Result, again.Result)
}

// counterValue reads a registered counter by name.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// A woken dispatch that finds every slot taken waits for one instead of
// leaving the run to its broker copy, and once its claim settled it deletes
// the dispatch's outbox row (named by the wake-up), so the relay, holding
// the copy back, publishes none. No broker copy is sent here at all.
func TestWakeUpWaitsForSlotAndConsumesOutboxRow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{rabbit: true, configure: func(d *worker.Deps) { d.Wake = true; d.Config.MaxConcurrentTasks = 1 }})
	ctx := context.Background()
	dir := t.TempDir()
	gate := filepath.Join(dir, "gate")
	marks := filepath.Join(dir, "ran")
	// The first run holds the only slot until the test removes its gate.
	act := e.action("slot", "#!/bin/sh\nwhile [ -e '"+gate+"' ]; do sleep 0.05; done\necho run >> '"+marks+"'\n", nil)
	require.NoError(t, os.WriteFile(gate, nil, 0o600))
	status := func(id int64) string {
		x, err := e.st.ExecutionGet(ctx, id)
		require.NoError(t, err)
		return x.Status
	}

	wake := func(ex store.Execution) int64 {
		t.Helper()
		var id int64
		payload, err := json.Marshal(pipeline.ExecutionDispatch{ExecutionID: ex.ID, WorkerID: e.w.WorkerID(), ActionRef: ex.ActionRef, Fence: ex.Fence})
		require.NoError(t, err)
		require.NoError(t, e.st.Pool().QueryRow(ctx, `INSERT INTO outbox (exchange, routing_key, message_type, payload, available_at)
			VALUES ('attune.executions', 'held', 'ExecutionDispatch', $1, now() + interval '1 hour') RETURNING id`, payload).Scan(&id))
		msg := map[string]any{"execution_id": ex.ID, "worker_id": e.w.WorkerID(), "action_ref": ex.ActionRef, "fence": ex.Fence, "outbox_id": id}
		note, err := json.Marshal(msg)
		require.NoError(t, err)
		// The listener connects in the background: notify until it is seen.
		require.Eventually(t, func() bool {
			_, err := e.st.Pool().Exec(ctx, `SELECT pg_notify($1, $2)`, store.WorkerWakeChannel(e.w.WorkerID()), string(note))
			require.NoError(t, err)
			return counterValue(t, e.deps.Metrics.(*prometheus.Registry), "attune_worker_dispatches_woken_total") > 0 ||
				status(ex.ID) != "scheduled"
		}, 20*time.Second, 50*time.Millisecond, "the wake-up was not heard")
		return id
	}
	rowGone := func(id int64) bool {
		var n int
		require.NoError(t, e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM outbox WHERE id = $1`, id).Scan(&n))
		return n == 0
	}

	first := e.schedule(act, map[string]any{}, nil)
	firstRow := wake(first)
	e.waitFor(first.ID, 20*time.Second, func(x store.Execution) bool { return x.Status == "running" })
	require.Eventually(t, func() bool { return rowGone(firstRow) }, 10*time.Second, 10*time.Millisecond,
		"the claimed dispatch's outbox row is still there")

	second := e.schedule(act, map[string]any{}, nil)
	secondRow := wake(second)
	require.Never(t, func() bool { return status(second.ID) != "scheduled" }, 300*time.Millisecond, 20*time.Millisecond,
		"claimed while the only slot was taken")
	require.False(t, rowGone(secondRow), "a dispatch not yet claimed gave up its broker copy")

	require.NoError(t, os.Remove(gate))
	require.Equal(t, "completed", e.waitTerminal(first.ID, 20*time.Second).Status)
	require.Equal(t, "completed", e.waitTerminal(second.ID, 20*time.Second).Status, "the waiting wake-up did not run once the slot was free")
	require.Eventually(t, func() bool { return rowGone(secondRow) }, 10*time.Second, 10*time.Millisecond)
}
