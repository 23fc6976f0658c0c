package executor_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/executor"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
)

func (h *harness) policy(f fixture, name, method string, threshold int) {
	h.exec(`INSERT INTO policy (ref, pack, pack_ref, action, action_ref, method, threshold)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, f.pack.Ref+"."+name, f.pack.ID, f.pack.Ref, f.action.ID, f.action.Ref, method, threshold)
}

// Policy max 1, method enqueue: five rapid submissions are dispatched one at
// a time in submission order as earlier ones complete; queue stats follow.
func TestFIFOPolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		rabbit bool
	}{{"inproc", false}, {"rabbitmq", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{rabbit: tc.rabbit, executors: 2})
			f := h.fixture("fifo", nil)
			h.policy(f, "one_at_a_time", "enqueue", 1)
			w := h.worker("w1", "shell")
			var ids []int64
			for i := range 5 {
				ids = append(ids, h.request(f.action.Ref, map[string]any{"url": "u", "i": i}).ID)
			}
			for i, id := range ids {
				d := h.nextDispatch(w)
				require.Equal(t, id, d.ExecutionID, "dispatch %d out of FIFO order", i)
				h.noDispatch(w, 100*time.Millisecond)
				if i == 0 {
					// Over RabbitMQ the first may be dispatched before the
					// other executor has taken the last request in.
					h.waitFor("all five enqueued", func() bool {
						qs, err := h.st.QueueStatsGet(h.ctx, f.action.ID)
						return err == nil && qs.TotalEnqueued == 5
					})
				}
				qs, err := h.st.QueueStatsGet(h.ctx, f.action.ID)
				require.NoError(t, err)
				require.EqualValues(t, 1, qs.ActiveCount)
				require.EqualValues(t, 4-i, qs.QueueLength)
				require.EqualValues(t, 1, qs.MaxConcurrent)
				require.EqualValues(t, 5, qs.TotalEnqueued)
				require.EqualValues(t, i, qs.TotalCompleted)
				if i < 4 {
					require.NotNil(t, qs.OldestEnqueuedAt)
				}
				h.finish(h.claim(d, time.Minute), pipeline.StatusCompleted)
			}
			h.waitFor("queue drained", func() bool {
				qs, err := h.st.QueueStatsGet(h.ctx, f.action.ID)
				return err == nil && qs.TotalCompleted == 5 && qs.ActiveCount == 0 && qs.QueueLength == 0
			})
		})
	}
}

// Policy max 1, method cancel: the second concurrent execution is cancelled.
func TestCancelPolicy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	f := h.fixture("cpol", nil)
	h.policy(f, "no_overlap", "cancel", 1)
	w := h.worker("w1", "shell")
	first := h.request(f.action.Ref, map[string]any{"url": "a"})
	d := h.nextDispatch(w)
	require.Equal(t, first.ID, d.ExecutionID)
	second := h.request(f.action.Ref, map[string]any{"url": "b"})
	ex := h.waitStatus(second.ID, pipeline.StatusCancelled)
	require.Contains(t, string(ex.Result), "Cancelled by policy cpol.no_overlap")
	h.finish(h.claim(d, time.Minute), pipeline.StatusCompleted)
	h.waitFor("slot released", func() bool {
		qs, err := h.st.QueueStatsGet(h.ctx, f.action.ID)
		return err == nil && qs.ActiveCount == 0 && qs.TotalCompleted == 1
	})
	third := h.request(f.action.Ref, map[string]any{"url": "c"})
	require.Equal(t, third.ID, h.nextDispatch(w).ExecutionID, "slot released on completion")
}

// T2.8: an action with max_retries 2 fails twice and succeeds the third time;
// retries link to the original and count up, and a redelivered completion
// creates no extra retry.
func TestRetries(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	f := h.fixture("retry", func(a *store.Action) { a.MaxRetries = 2 })
	w := h.worker("w1", "shell")
	root := h.request(f.action.Ref, map[string]any{"url": "u"})
	require.EqualValues(t, 2, root.MaxRetries)

	d := h.nextDispatch(w)
	require.Equal(t, root.ID, d.ExecutionID)
	failed := h.finish(h.claim(d, time.Minute), pipeline.StatusFailed)
	d1 := h.nextDispatch(w)
	r1 := h.execution(d1.ExecutionID)
	require.Equal(t, root.ID, *r1.OriginalExecution)
	require.EqualValues(t, 1, r1.RetryCount)
	require.Equal(t, executor.RetryReasonTransient, *r1.RetryReason)
	var cfg map[string]any
	require.NoError(t, json.Unmarshal(r1.Config, &cfg))
	require.EqualValues(t, root.ID, cfg["retry_of"])
	require.Equal(t, "u", cfg["url"])

	// Redeliver the root's completion: no second retry 1.
	require.NoError(t, h.st.InTx(h.ctx, func(tx *store.Tx) error { return pipeline.EnqueueCompleted(h.ctx, tx, failed) }))

	h.finish(h.claim(d1, time.Minute), pipeline.StatusTimeout)
	d2 := h.nextDispatch(w)
	r2 := h.execution(d2.ExecutionID)
	require.Equal(t, root.ID, *r2.OriginalExecution)
	require.EqualValues(t, 2, r2.RetryCount)
	require.Equal(t, executor.RetryReasonTimeout, *r2.RetryReason)
	h.finish(h.claim(d2, time.Minute), pipeline.StatusCompleted)
	h.noDispatch(w, 300*time.Millisecond)
	require.Equal(t, 3, h.count(`SELECT count(*) FROM execution`))
	require.Equal(t, 2, h.count(`SELECT count(*) FROM execution WHERE original_execution = $1`, root.ID))
}

// The reaper abandons a lost at-most-once execution, and requeues an
// on_worker_lost=retry one with fence+1 (refusing the old attempt's late
// result) and dispatches it again.
func TestReaperAbandonVsRetry(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	fa := h.fixture("abandon", nil)
	fr := h.fixture("again", func(a *store.Action) { a.OnWorkerLost = "retry"; a.MaxAttempts = 2 })
	w := h.worker("w1", "shell")

	exA := h.request(fa.action.Ref, map[string]any{"url": "a"})
	runA := h.claim(h.nextDispatch(w), time.Millisecond)
	exR := h.request(fr.action.Ref, map[string]any{"url": "r"})
	runR := h.claim(h.nextDispatch(w), time.Millisecond)
	time.Sleep(5 * time.Millisecond) // let both 1ms leases lapse

	stats, err := h.execs[0].ReapOnce(h.ctx)
	require.NoError(t, err)
	require.Equal(t, executor.ReapStats{Abandoned: 1, Retried: 1}, stats)

	a := h.execution(exA.ID)
	require.Equal(t, pipeline.StatusAbandoned, a.Status)
	require.Contains(t, string(a.Result), executor.WorkerLostMessage)

	d := h.nextDispatch(w)
	require.Equal(t, exR.ID, d.ExecutionID)
	require.Equal(t, runR.Fence+1, d.Fence, "requeue bumps the fence")
	// The lost attempt's late result is refused.
	_, err = h.st.ExecutionUpdateStatus(h.ctx, store.StatusUpdate{ID: runR.ID, Fence: runR.Fence,
		From: []string{pipeline.StatusRunning}, To: pipeline.StatusCompleted, Result: json.RawMessage(`{}`)})
	require.Error(t, err)
	second := h.claim(d, time.Millisecond)
	require.EqualValues(t, 2, second.Attempt)
	time.Sleep(5 * time.Millisecond)
	stats, err = h.execs[0].ReapOnce(h.ctx)
	require.NoError(t, err)
	require.Equal(t, executor.ReapStats{Abandoned: 1}, stats, "max_attempts reached")
	require.Equal(t, pipeline.StatusAbandoned, h.execution(exR.ID).Status)
	_, err = h.st.ExecutionUpdateStatus(h.ctx, store.StatusUpdate{ID: runA.ID, Fence: runA.Fence,
		From: []string{pipeline.StatusRunning}, To: pipeline.StatusCompleted})
	require.Error(t, err, "abandoned execution takes no result")
}

// The reaper requeues a dispatch nobody claimed, and cancels a canceling
// execution whose worker is gone.
func TestReaperUnclaimedAndCanceling(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{cfg: func(c *executor.Config) { c.DispatchClaimTimeout = 50 * time.Millisecond }})
	f := h.fixture("unclaimed", nil)
	w := h.worker("w1", "shell")
	ex := h.request(f.action.Ref, map[string]any{"url": "a"})
	d := h.nextDispatch(w)
	time.Sleep(60 * time.Millisecond)
	stats, err := h.execs[0].ReapOnce(h.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, stats.Requeued)
	d2 := h.nextDispatch(w)
	require.Equal(t, ex.ID, d2.ExecutionID)
	require.Equal(t, d.Fence+1, d2.Fence)
	_, err = h.st.ExecutionClaim(h.ctx, ex.ID, w.ID, time.Millisecond)
	require.NoError(t, err)

	got, err := pipeline.CancelExecution(h.ctx, h.st, ex.ID)
	require.NoError(t, err)
	require.Equal(t, pipeline.StatusCanceling, got.Status)
	time.Sleep(5 * time.Millisecond)
	stats, err = h.execs[0].ReapOnce(h.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, stats.Cancelled)
	require.Equal(t, pipeline.StatusCancelled, h.execution(ex.ID).Status)
}

// With no eligible worker the execution stays requested, retries with
// backoff, then fails as unschedulable.
func TestUnschedulable(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{cfg: func(c *executor.Config) { c.UnschedulableTimeout = 700 * time.Millisecond }})
	f := h.fixture("nowork", nil)
	h.worker("py", "python") // wrong runtime
	ex := h.request(f.action.Ref, map[string]any{"url": "a"})
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, pipeline.StatusRequested, h.execution(ex.ID).Status)
	done := h.waitStatus(ex.ID, pipeline.StatusFailed)
	require.Contains(t, string(done.Result), "unschedulable")
	require.Nil(t, done.Worker)
}

// A worker that appears while an execution waits picks it up.
func TestLateWorkerPicksUpWaitingExecution(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	f := h.fixture("late", nil)
	ex := h.request(f.action.Ref, map[string]any{"url": "a"})
	time.Sleep(100 * time.Millisecond)
	w := h.worker("w1", "BASH") // alias, any case
	require.Equal(t, ex.ID, h.nextDispatch(w).ExecutionID)
}

// Scheduling picks the least-loaded eligible worker and skips cordoned,
// stale, inactive and wrong-runtime workers.
func TestWorkerSelection(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	f := h.fixture("pick", nil)
	cordoned := h.worker("cordoned", "shell")
	h.exec(`UPDATE worker SET cordoned = true WHERE id = $1`, cordoned.ID)
	stale := h.worker("stale", "shell")
	h.exec(`UPDATE worker SET last_heartbeat = now() - interval '5 minutes' WHERE id = $1`, stale.ID)
	inactive := h.worker("inactive", "shell")
	h.exec(`UPDATE worker SET status = 'inactive' WHERE id = $1`, inactive.ID)
	wrong := h.worker("wrong", "python")
	busy := h.worker("busy", "pick.shell")
	idle := h.worker("idle", "Shell")
	// Give "busy" two running executions.
	for range 2 {
		e, err := h.st.ExecutionInsert(h.ctx, store.NewExecution{ActionRef: f.action.Ref, Status: "running"})
		require.NoError(t, err)
		h.exec(`UPDATE execution SET worker = $1 WHERE id = $2`, busy.ID, e.ID)
	}
	ex := h.request(f.action.Ref, map[string]any{"url": "a"})
	d := h.nextDispatch(idle)
	require.Equal(t, ex.ID, d.ExecutionID)
	require.Equal(t, idle.ID, *h.execution(ex.ID).Worker)
	// idle now has 1, busy 2: the next goes to idle again, then they tie.
	ex2 := h.request(f.action.Ref, map[string]any{"url": "b"})
	require.Equal(t, ex2.ID, h.nextDispatch(idle).ExecutionID)
	// A tie (2/2) goes to either: ties are broken at random so idle workers
	// share the work.
	ex3 := h.request(f.action.Ref, map[string]any{"url": "c"})
	require.Eventually(t, func() bool { return h.execution(ex3.ID).Worker != nil }, 10*time.Second, 10*time.Millisecond)
	tied := *h.execution(ex3.ID).Worker
	require.Contains(t, []int64{idle.ID, busy.ID}, tied)
	if tied == idle.ID {
		require.Equal(t, ex3.ID, h.nextDispatch(idle).ExecutionID)
	} else {
		require.Equal(t, ex3.ID, h.nextDispatch(busy).ExecutionID)
	}
	for _, w := range []store.Worker{cordoned, stale, inactive, wrong} {
		h.noDispatch(w, 50*time.Millisecond)
	}
}

// CancelExecution before handoff cancels at once; after, it asks the worker.
func TestCancelExecution(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	f := h.fixture("cx", nil)
	// No worker: the execution waits in requested.
	waiting := h.request(f.action.Ref, map[string]any{"url": "a"})
	got, err := pipeline.CancelExecution(h.ctx, h.st, waiting.ID)
	require.NoError(t, err)
	require.Equal(t, pipeline.StatusCancelled, got.Status)
	require.Contains(t, string(got.Result), pipeline.CancelledByUserMessage)
	_, err = pipeline.CancelExecution(h.ctx, h.st, waiting.ID)
	require.Error(t, err, "terminal execution cannot be cancelled")

	w := h.worker("w1", "shell")
	ex := h.request(f.action.Ref, map[string]any{"url": "b"})
	run := h.claim(h.nextDispatch(w), time.Minute)
	got, err = pipeline.CancelExecution(h.ctx, h.st, ex.ID)
	require.NoError(t, err)
	require.Equal(t, pipeline.StatusCanceling, got.Status)
	h.mu.Lock()
	cch := h.cancels[w.ID]
	h.mu.Unlock()
	select {
	case c := <-cch:
		require.Equal(t, pipeline.ExecutionCancel{ExecutionID: ex.ID, WorkerID: w.ID}, c)
	case <-time.After(10 * time.Second):
		t.Fatal("no cancel message to the worker")
	}
	run.Status = pipeline.StatusCanceling
	h.finish(run, pipeline.StatusCancelled)
}
