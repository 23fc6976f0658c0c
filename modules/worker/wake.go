package worker

import (
	"context"
	"time"

	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
)

// Over a broker, every dispatch written to the outbox is also NOTIFYed on
// this worker's own channel when it commits (store.WorkerWakeChannel,
// store.PoolConfig.WakeWorkers; Deps.Wake tells the worker to listen): one
// PostgreSQL hop instead of the relay's publish and the quorum queue's
// write before delivery. The notification is only a head start: it is lost
// while the LISTEN connection is down, skipped when no slot is free, and
// the broker's copy, which always follows, stays the delivery guarantee.
// Whichever copy comes first claims; pipeline.Copies lets the other one be
// acked without a second claim.

// wakeListenerName marks the connection in pg_stat_activity.
const wakeListenerName = "attune-worker-wake"

// startWake LISTENs on the worker's wake channel until stopWake.
func (m *Module) startWake() {
	ctx, cancel := context.WithCancel(m.life)
	l := m.d.Store.NewListener(store.ListenConfig{
		Channels: []string{store.WorkerWakeChannel(m.workerID)}, ApplicationName: wakeListenerName, Log: m.log,
		Notify: func(_, payload string) { m.onWake(ctx, payload) },
	})
	m.wakeWG.Add(1)
	go func() { defer m.wakeWG.Done(); l.Run(ctx) }()
	m.stopWake = func() { cancel(); m.wakeWG.Wait() }
}

// onWake takes a woken dispatch when a slot is free at once; otherwise, or
// when its broker copy got here first, it leaves it to the broker path.
func (m *Module) onWake(ctx context.Context, payload string) {
	received := time.Now()
	msg, err := parseDispatch([]byte(payload))
	if err != nil || msg.WorkerID != m.workerID {
		m.log.Warn("worker: malformed wake-up dropped", "err", err)
		return
	}
	e, first := m.seen.Begin(keyOf(msg))
	if !first {
		return
	}
	select {
	case m.sem <- struct{}{}:
	default:
		m.seen.Settle(keyOf(msg), e, false)
		return
	}
	m.met.woken.Inc()
	m.wakeWG.Add(1) // Run is still running: the count is not zero
	go func() {
		defer m.wakeWG.Done()
		err := m.claimAndStart(ctx, msg, received)
		if err != nil {
			m.log.Debug("worker: claim on wake-up failed; the broker's copy will retry", "execution_id", msg.ExecutionID, "err", err)
		}
		m.seen.Settle(keyOf(msg), e, err == nil)
	}()
}

// dispatchKey is one attempt's dispatch: both copies carry the same.
type dispatchKey struct{ id, fence int64 }

func keyOf(msg pipeline.ExecutionDispatch) dispatchKey {
	return dispatchKey{msg.ExecutionID, msg.Fence}
}
