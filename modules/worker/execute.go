package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/runner"
	"github.com/attune-system/attune/modules/store"
)

const (
	completeBackoffMin = 100 * time.Millisecond
	completeBackoffMax = 5 * time.Second
	shutdownError      = "Worker shut down before the action finished"
	// Waiting for the database while preparing a launch.
	prepareBackoffMin = 100 * time.Millisecond
	prepareBackoffMax = 2 * time.Second
	prepareWaitMax    = 30 * time.Second
)

// execute runs one claimed attempt and records its outcome. It owns the
// concurrency slot taken in onDispatch.
func (m *Module) execute(r *run) {
	defer func() {
		m.mu.Lock()
		delete(m.runs, r.ex.ID)
		m.mu.Unlock()
		m.met.running.Dec()
		<-m.sem
		m.runsWG.Done()
	}()
	defer r.cancel()
	defer func() { m.artifacts.release(r.ex.ID, r.artifacts) }()
	res := m.launchAndWait(r)
	if r.stale.Load() {
		m.log.Warn("worker: lease lost while running; result dropped", "execution_id", r.ex.ID, "fence", r.ex.Fence)
		return
	}
	status := res.Status
	if r.shutdown.Load() {
		if r.action.OnWorkerLost == "retry" {
			// The reaper requeues it once the lease lapses; writing
			// anything here would race a newer attempt for nothing.
			m.log.Warn("worker: action killed at shutdown, left to the reaper for retry", "execution_id", r.ex.ID)
			return
		}
		status = "abandoned"
		res.JSON["error"] = shutdownError
		delete(res.JSON, "cancelled")
	}
	m.complete(r, status, res.JSON)
}

// launchAndWait builds and runs the attempt; a failure to build or start it
// becomes a failed result rather than an error.
func (m *Module) launchAndWait(r *run) *runner.Result {
	start := time.Now()
	fail := func(err error) *runner.Result {
		m.log.Warn("worker: action could not be launched", "execution_id", r.ex.ID, "err", err)
		return &runner.Result{Status: runner.StatusFailed, ExitCode: -1, JSON: map[string]any{
			"succeeded": false, "exit_code": -1, "duration_ms": time.Since(start).Milliseconds(), "error": err.Error(),
		}}
	}
	var err error
	if r.artifacts, err = m.artifacts.acquire(r.ex.ID); err != nil {
		return fail(err)
	}
	l, err := m.prepare(r)
	if err != nil {
		return fail(err)
	}
	m.met.launch.Observe(time.Since(r.received).Seconds())
	if l.builtin == "http_request" {
		return runHTTPRequest(r.ctx, l.spec)
	}
	res, err := runner.Run(r.ctx, l.spec)
	if res == nil {
		return fail(err)
	}
	if err != nil {
		m.log.Warn("worker: action log files", "execution_id", r.ex.ID, "err", err)
	}
	return res
}

// prepare loads what the attempt needs and builds its launch. A database
// that is briefly unreachable (restarting, out of connections) is waited
// for, with backoff, rather than failing an execution that did nothing
// wrong; any other problem fails it at once.
func (m *Module) prepare(r *run) (*launch, error) {
	// The claim read the current metadata version: a cache behind it is
	// emptied before anything is loaded into it again.
	m.launch.observe(r.version)
	backoff := prepareBackoffMin
	for waited := time.Duration(0); ; waited += backoff {
		pre := r.pre.forExecution(r.ex, r.version)
		r.pre = nil // a retry loads afresh
		var err error
		if pre == nil {
			pre, err = m.loadFor(m.life, r.ex)
		}
		var l *launch
		if err == nil {
			r.action = pre.action
			l, err = m.buildLaunch(m.life, r.ex, pre, r.origin, r.artifacts)
		}
		if err == nil || !store.IsTransient(err) || waited >= prepareWaitMax || r.stale.Load() {
			return l, err
		}
		m.log.Warn("worker: database unavailable while preparing the action, retrying", "execution_id", r.ex.ID, "in", backoff, "err", err)
		select {
		case <-time.After(backoff):
		case <-r.ctx.Done():
			return nil, err
		}
		backoff = min(backoff*2, prepareBackoffMax)
	}
}

// complete writes the terminal status with a fenced compare-and-set and, in
// the same transaction, ExecutionCompleted when the executor needs it. While the database is unreachable it keeps the result and
// retries with backoff, until the write lands, is refused (the attempt is
// stale, cancelled or reaped: logged and dropped), or the heartbeat finds the
// lease lost.
func (m *Module) complete(r *run, status string, result map[string]any) {
	body, err := json.Marshal(result)
	if err != nil {
		m.log.Error("worker: result not serialisable", "execution_id", r.ex.ID, "err", err)
		body = []byte(`{"succeeded":false,"error":"result not serialisable"}`)
	}
	body = withoutNUL(body)
	backoff := completeBackoffMin
	for {
		if r.stale.Load() {
			m.log.Warn("worker: lease lost before the result was written; dropped", "execution_id", r.ex.ID)
			return
		}
		err := m.writeResult(r, status, body)
		switch {
		case err == nil:
			r.written.Store(true)
			m.met.completed.WithLabelValues(status).Inc()
			return
		case errors.Is(err, domain.ErrConflict), errors.Is(err, domain.ErrNotFound):
			m.log.Info("worker: result refused (stale attempt, cancelled or reaped)", "execution_id", r.ex.ID, "err", err)
			return
		case m.life.Err() != nil:
			m.log.Error("worker: result not written before shutdown", "execution_id", r.ex.ID, "status", status, "err", err)
			return
		}
		var ve *domain.ValidationError
		if errors.As(err, &ve) {
			m.log.Error("worker: result rejected", "execution_id", r.ex.ID, "err", err)
			return
		}
		m.log.Warn("worker: writing result failed, retrying", "execution_id", r.ex.ID, "in", backoff, "err", err)
		select {
		case <-time.After(backoff):
		case <-m.life.Done():
		}
		backoff = min(backoff*2, completeBackoffMax)
	}
}

func (m *Module) writeResult(r *run, status string, body []byte) error {
	ctx, cancel := context.WithTimeout(m.life, 10*time.Second)
	defer cancel()
	// The executor acts on a completion only to retry the run or to
	// release its admission slot; otherwise no message is written.
	payload, err := json.Marshal(pipeline.ExecutionCompleted{
		ExecutionID: r.ex.ID, ActionRef: r.ex.ActionRef, Status: status, CompletedAt: time.Now().UTC(),
	})
	if err != nil {
		return err
	}
	done := r.ex
	done.Status = status
	return m.d.Store.ExecutionFinishAttempt(ctx, store.AttemptResult{
		ID: r.ex.ID, Fence: r.ex.Fence, Status: status, Result: body, Needed: pipeline.MayRetry(done),
		Completed: store.NewOutboxMessage{Exchange: bus.ExchangeExecutions, RoutingKey: bus.KeyExecutionCompleted,
			MessageType: pipeline.TypeExecutionCompleted, Payload: payload},
	})
}

// withoutNUL replaces every NUL character in the JSON body — encoding/json
// writes it as the escape \u0000 — with U+FFFD: PostgreSQL's jsonb cannot
// store \u0000, and an action that prints one must still get its result
// written rather than have it refused. Other escapes are copied whole, so
// an escaped backslash followed by "u0000" stays as it is.
func withoutNUL(body []byte) []byte {
	const nul = `\u0000`
	if !bytes.Contains(body, []byte(nul)) {
		return body
	}
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		switch {
		case body[i] != '\\' || i+1 == len(body):
			out = append(out, body[i])
		case bytes.HasPrefix(body[i:], []byte(nul)):
			out = append(out, `\ufffd`...)
			i += len(nul) - 1
		default:
			out = append(out, body[i], body[i+1])
			i++
		}
	}
	return out
}
