package worker_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/store"
)

// gauge reads the worker's running-executions gauge.
func (e *env) running() float64 {
	mfs, err := e.deps.Metrics.(*prometheus.Registry).Gather()
	require.NoError(e.t, err)
	for _, mf := range mfs {
		if mf.GetName() == "attune_worker_running_executions" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

func (e *env) startedMarker() (string, string) {
	m := filepath.Join(e.t.TempDir(), "started")
	return m, "#!/bin/sh\necho $$ > " + m + "\n"
}

func waitFile(t *testing.T, path string) string {
	t.Helper()
	eventually(t, 10*time.Second, path+" never appeared", func() bool {
		b, err := os.ReadFile(path)
		return err == nil && len(b) > 0
	})
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

// A newer fence (the reaper or a new attempt took over) makes the worker
// kill its process at the next heartbeat and write nothing.
func TestStaleAttemptKilledAndResultRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	marker, script := e.startedMarker()
	act := e.action("stale", script+"sleep 60\necho finished\n", nil)
	ex := e.schedule(act, nil, nil)
	e.dispatch(ex)
	pid := waitFile(t, marker)
	_, err := e.st.Pool().Exec(context.Background(), `UPDATE execution SET fence = fence + 1 WHERE id = $1`, ex.ID)
	require.NoError(t, err)
	eventually(t, 10*time.Second, "stale process not killed", func() bool { return !aliveOrOurZombie(pid) })
	eventually(t, 10*time.Second, "run not finished", func() bool { return e.running() == 0 })
	got, err := e.st.ExecutionGet(context.Background(), ex.ID)
	require.NoError(t, err)
	require.Equal(t, "running", got.Status, "a stale attempt must not write")
	require.Nil(t, got.Result)
	require.Nil(t, got.ResultFence)
}

// Duplicate dispatch messages run the action once.
func TestDuplicateDispatchRunsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	count := filepath.Join(t.TempDir(), "count")
	act := e.action("once", "#!/bin/sh\necho run >> "+count+"\nsleep 0.3\n", nil)
	ex := e.schedule(act, nil, nil)
	for range 3 {
		e.dispatch(ex)
	}
	done := e.waitTerminal(ex.ID, 10*time.Second)
	require.Equal(t, "completed", done.Status)
	e.dispatch(ex) // a late redelivery after completion
	eventually(t, 5*time.Second, "runs not finished", func() bool { return e.running() == 0 })
	b, err := os.ReadFile(count)
	require.NoError(t, err)
	require.Equal(t, "run\n", string(b))
	require.Equal(t, int32(1), done.Attempt)
}

// T3.30: Stop lets a running action finish, then marks the worker inactive.
func TestGracefulStopDrains(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	marker, script := e.startedMarker()
	act := e.action("drain", script+"sleep 1\necho drained\n", nil)
	ex := e.schedule(act, nil, nil)
	e.dispatch(ex)
	waitFile(t, marker)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	require.NoError(t, e.w.Stop(ctx))
	got, err := e.st.ExecutionGet(context.Background(), ex.ID)
	require.NoError(t, err)
	require.Equal(t, "completed", got.Status)
	require.Equal(t, "drained\n", result(t, got)["stdout"])
	w, err := e.st.WorkerGet(context.Background(), e.w.WorkerID())
	require.NoError(t, err)
	require.Equal(t, "inactive", w.Status)
}

// At the Stop deadline a still-running action is killed and, with
// on_worker_lost=abandon, marked abandoned through its fence.
func TestStopDeadlineAbandons(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	marker, script := e.startedMarker()
	act := e.action("forever", script+"sleep 60\n", nil)
	ex := e.schedule(act, nil, nil)
	e.dispatch(ex)
	pid := waitFile(t, marker)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_ = e.w.Stop(ctx)
	got, err := e.st.ExecutionGet(context.Background(), ex.ID)
	require.NoError(t, err)
	require.Equal(t, "abandoned", got.Status)
	require.Equal(t, "Worker shut down before the action finished", result(t, got)["error"])
	require.False(t, aliveOrOurZombie(pid))
}

// Heartbeats keep the lease of a long action alive past LeaseTimeout.
func TestHeartbeatExtendsLease(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	marker, script := e.startedMarker()
	act := e.action("long", script+"sleep 3\n", nil)
	ex := e.schedule(act, nil, nil)
	e.dispatch(ex)
	waitFile(t, marker)
	first, err := e.st.ExecutionGet(context.Background(), ex.ID)
	require.NoError(t, err)
	require.NotNil(t, first.LeaseExpiresAt)
	// Past the first lease's expiry, the row holds a later lease still in
	// the future.
	got := e.waitFor(ex.ID, 10*time.Second, func(x store.Execution) bool {
		return x.Status != "running" || time.Now().After(*first.LeaseExpiresAt)
	})
	require.Equal(t, "running", got.Status)
	require.True(t, got.LeaseExpiresAt.After(*first.LeaseExpiresAt))
	require.True(t, got.LeaseExpiresAt.After(time.Now()))
	w1, err := e.st.WorkerGet(context.Background(), e.w.WorkerID())
	require.NoError(t, err)
	done := e.waitTerminal(ex.ID, 10*time.Second)
	require.Equal(t, "completed", done.Status)
	w2, err := e.st.WorkerGet(context.Background(), e.w.WorkerID())
	require.NoError(t, err)
	require.True(t, w2.LastHeartbeat.After(*w1.LastHeartbeat))
}

// dotenv and yaml parameter formats reach stdin as documented, with schema
// defaults applied.
func TestParameterFormats(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	schema := []byte(`{"greeting":{"type":"string","default":"hi"},"name":{"type":"string"},"opts":{"type":"object"}}`)
	dot := e.action("dot", "#!/bin/sh\ncat\n", func(a *store.Action) { a.ParameterFormat = "dotenv"; a.ParamSchema = schema })
	ex := e.run(dot, map[string]any{"name": "it's", "opts": map[string]any{"a": 1}})
	require.Equal(t, "completed", ex.Status, "%s", ex.Result)
	require.Equal(t, "greeting='hi'\nname='it'\\''s'\nopts.a='1'\n", result(t, ex)["stdout"])

	yml := e.action("yml", "#!/bin/sh\ncat\n", func(a *store.Action) { a.ParameterFormat = "yaml"; a.ParamSchema = schema })
	ex = e.run(yml, map[string]any{"name": "x"})
	require.Equal(t, "completed", ex.Status)
	require.Equal(t, "greeting: hi\nname: x\n", strings.TrimRight(result(t, ex)["stdout"].(string), "\n")+"\n")
}
