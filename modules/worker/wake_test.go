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
