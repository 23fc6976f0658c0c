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
// while the LISTEN connection is down, and the broker's copy stays the
// delivery guarantee. The relay holds that copy back
// (message_queue.wake_copy_delay) and publishes it only if the dispatch's
// outbox row is still there: the claim of a woken dispatch deletes the row
// in its own statement (the wake-up names it; store.ExecutionClaimDispatch),
// whether it claims or is refused. Whichever copy comes
// first claims; pipeline.Copies lets the other one be acked without a
// second claim.

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

// onWake claims a woken dispatch as soon as a slot is free. Up to the
// concurrency cap of them wait for a slot (their broker copies, held back,
// would only queue behind them); beyond that, or when the broker copy got
// here first, it leaves the dispatch to the broker path.
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
		if m.wakeWaiting.Add(1) > int32(cap(m.sem)) {
			m.wakeWaiting.Add(-1)
			m.seen.Settle(keyOf(msg), e, false)
			return
		}
		m.wakeWG.Add(1) // Run is still running: the count is not zero
		go func() {
			defer m.wakeWG.Done()
			select {
			case m.sem <- struct{}{}:
				m.wakeWaiting.Add(-1)
			case <-ctx.Done():
				m.wakeWaiting.Add(-1)
				m.seen.Settle(keyOf(msg), e, false)
				return
			}
			m.claimWoken(ctx, msg, e, received)
		}()
		return
	}
	m.wakeWG.Add(1) // Run is still running: the count is not zero
	go func() { defer m.wakeWG.Done(); m.claimWoken(ctx, msg, e, received) }()
}

// claimWoken claims a woken dispatch with the slot the caller took; the
// claim's statement deletes the dispatch's outbox row, so the held-back
// broker copy is not published.
func (m *Module) claimWoken(ctx context.Context, msg pipeline.ExecutionDispatch, e *pipeline.CopyEntry, received time.Time) {
	if ctx.Err() != nil {
		// Stopping (a slot and the stop can be ready at once): no new claim.
		<-m.sem
		m.seen.Settle(keyOf(msg), e, false)
		return
	}
	m.met.woken.Inc()
	err := m.claimAndStart(ctx, msg, received)
	if err != nil {
		m.log.Debug("worker: claim on wake-up failed; the broker's copy will retry", "execution_id", msg.ExecutionID, "err", err)
	}
	m.seen.Settle(keyOf(msg), e, err == nil)
}

// dispatchKey is one attempt's dispatch: both copies carry the same.
type dispatchKey struct{ id, fence int64 }

func keyOf(msg pipeline.ExecutionDispatch) dispatchKey {
	return dispatchKey{msg.ExecutionID, msg.Fence}
}
