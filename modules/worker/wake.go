package worker

import (
	"context"
	"sync"
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
// Whichever copy comes first claims; dispatchSeen lets the other one be
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
	e, first := m.seen.begin(msg)
	if !first {
		return
	}
	select {
	case m.sem <- struct{}{}:
	default:
		m.seen.settle(msg, e, false)
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
		m.seen.settle(msg, e, err == nil)
	}()
}

// dispatchKey is one attempt's dispatch: both copies carry the same.
type dispatchKey struct{ id, fence int64 }

// seenEntry is a dispatch one copy has taken. done closes once its claim
// settled; handled then says whether the other copy has nothing left to do.
type seenEntry struct {
	done    chan struct{}
	handled bool
}

// dispatchSeen remembers the last seenMax dispatches taken by either copy.
// Forgetting one early costs only the claim the later copy then tries, which
// the fence refuses.
type dispatchSeen struct {
	mu    sync.Mutex
	m     map[dispatchKey]*seenEntry
	order []dispatchKey
}

const seenMax = 4096

func newDispatchSeen() *dispatchSeen { return &dispatchSeen{m: map[dispatchKey]*seenEntry{}} }

// begin takes msg unless the other copy did: first is false then, with
// that copy's entry.
func (s *dispatchSeen) begin(msg pipeline.ExecutionDispatch) (e *seenEntry, first bool) {
	k := dispatchKey{msg.ExecutionID, msg.Fence}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.m[k]; e != nil {
		return e, false
	}
	e = &seenEntry{done: make(chan struct{})}
	s.m[k] = e
	s.order = append(s.order, k)
	if len(s.order) > seenMax {
		old := s.order[0]
		s.order = s.order[1:]
		if oe := s.m[old]; oe != nil {
			select {
			case <-oe.done:
				delete(s.m, old)
			default: // still being claimed: its settle removes or keeps it
			}
		}
	}
	return e, true
}

// own is begin for the broker path, which must not drop a dispatch the
// other copy failed to claim: it waits for that claim to settle and takes
// over unless it was handled (taken then says so).
func (s *dispatchSeen) own(ctx context.Context, msg pipeline.ExecutionDispatch) (e *seenEntry, taken bool, err error) {
	for {
		e, first := s.begin(msg)
		if first {
			return e, false, nil
		}
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
		if e.handled {
			return nil, true, nil
		}
	}
}

// settle records the outcome of e's claim. Unhandled, the entry goes, so
// the other copy claims for itself.
func (s *dispatchSeen) settle(msg pipeline.ExecutionDispatch, e *seenEntry, handled bool) {
	k := dispatchKey{msg.ExecutionID, msg.Fence}
	s.mu.Lock()
	e.handled = handled
	if !handled && s.m[k] == e {
		delete(s.m, k)
	}
	s.mu.Unlock()
	close(e.done)
}
