package executor

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
)

// Over a broker, every EventCreated written to the outbox is also NOTIFYed
// on store.ExecutorWakeChannel when it commits (store.PoolConfig.WakeWorkers;
// Deps.Wake tells the executor to listen): one PostgreSQL hop instead of the
// relay's publish and the quorum queue's write, about 1.5 ms of the way from
// a webhook to its action on a 2-core machine. The notification is only a
// head start: it is lost while the LISTEN connection is down, and the
// broker's copy stays the delivery guarantee. The relay holds that copy back
// (message_queue.wake_copy_delay) and publishes it only if the event's
// outbox row is still there: an executor that evaluated the event from its
// wake-up deletes the row (store.OutboxConsumed).
//
// Every executor receives every notification, so they share them out: an
// executor takes the events whose id modulo the number of listening
// executors is its place in their pid-ordered list (pg_stat_activity,
// re-read every wakeShareEvery and after a reconnect). While the executors'
// views differ, an event may be taken by two (the unique (rule, event)
// enforcement makes that one firing) or by none (the broker's copy
// evaluates it). Whichever copy reaches an executor first evaluates; events
// (pipeline.Copies) lets the other be acked without a second evaluation.
// The broker's copy of an event another executor was woken for waits (until
// firedGrace after the event's commit; a redelivery not at all) for that
// executor's firings to be announced on store.ExecutorFiredChannel
// (fired.go) instead of firing again.

// executorWakeName marks the LISTEN connections in pg_stat_activity; the
// executors count each other by it.
const executorWakeName = "attune-executor-wake"

const (
	wakeShareEvery = 2 * time.Second
	// wakeConcurrency bounds the head starts evaluated at once, wakeBacklog
	// those waiting; beyond it a wake-up is left to the broker's copy.
	wakeConcurrency = 8
	wakeBacklog     = 4096
	// firedGrace bounds, from the event's commit, how long the broker's
	// copy of an event another executor was woken for waits for its
	// firings to be announced: that executor fires within milliseconds,
	// even under load.
	firedGrace = 250 * time.Millisecond
)

// wakeShare is this executor's place among the listening executors.
type wakeShare struct{ index, count, pid int64 }

type eventWake struct {
	l       *store.Listener
	share   atomic.Pointer[wakeShare]
	refresh sync.Mutex // one share refresh at a time: a late one must not undo a newer view
	queue   chan pipeline.EventCreated
	fired   *firedHints
	wg      sync.WaitGroup
	cancel  context.CancelFunc
}

// owns says whether the wake-up for eventID came to this executor; known
// is false while this executor does not know its place among them.
func (w *eventWake) owns(eventID int64) (owned, known bool) {
	sh := w.share.Load()
	if sh == nil {
		return false, false
	}
	return eventID%sh.count == sh.index, true
}

// startWake listens for event wake-ups until stopWake.
func (m *Module) startWake() {
	ctx, cancel := context.WithCancel(context.Background())
	w := &eventWake{queue: make(chan pipeline.EventCreated, wakeBacklog), fired: newFiredHints(), cancel: cancel}
	w.l = m.d.Store.NewListener(store.ListenConfig{
		Channels: []string{store.ExecutorWakeChannel, store.ExecutorFiredChannel}, ApplicationName: executorWakeName, Log: m.log,
		Notify: func(channel, payload string) {
			if channel == store.ExecutorFiredChannel {
				if k, ok := parseFired(payload); ok {
					w.fired.mark(k)
				}
				return
			}
			m.onWake(w, payload)
		},
		Reconnected: func() { m.refreshShare(ctx, w) },
	})
	for range wakeConcurrency {
		w.wg.Add(1)
		go func() { defer w.wg.Done(); m.headStarts(ctx, w) }()
	}
	w.wg.Add(2)
	go func() { defer w.wg.Done(); w.l.Run(ctx) }()
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(wakeShareEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				m.refreshShare(ctx, w)
			}
		}
	}()
	m.wake = w
}

// stopWake ends the listener and waits for the head starts in progress.
func (m *Module) stopWake() {
	if m.wake != nil {
		m.wake.cancel()
		m.wake.wg.Wait()
	}
}

// refreshShare re-reads this executor's place among the listeners; without
// one (connection down, not listed yet) it takes no wake-up.
func (m *Module) refreshShare(ctx context.Context, w *eventWake) {
	w.refresh.Lock()
	defer w.refresh.Unlock()
	pid := w.l.BackendPID()
	if pid == 0 {
		w.share.Store(nil)
		return
	}
	pids, err := m.d.Store.ListenerBackendPIDs(ctx, executorWakeName)
	if err != nil {
		if ctx.Err() == nil {
			m.log.Debug("executor: listing the wake-up listeners failed", "err", err)
		}
		// A view read before a reconnect names the old backend: drop it.
		if sh := w.share.Load(); sh != nil && sh.pid != pid {
			w.share.Store(nil)
		}
		return
	}
	i := slices.Index(pids, pid)
	if i < 0 {
		w.share.Store(nil)
		return
	}
	w.share.Store(&wakeShare{index: int64(i), count: int64(len(pids)), pid: pid})
}

// onWake queues a woken event for evaluation when it is this executor's to
// take; otherwise, or when the backlog is full, it leaves it to the
// broker's copy. It runs on the listener's goroutine and never blocks it.
func (m *Module) onWake(w *eventWake, payload string) {
	var msg pipeline.EventCreated
	if err := json.Unmarshal([]byte(payload), &msg); err != nil || msg.EventID <= 0 {
		m.log.Warn("executor: malformed event wake-up dropped", "err", err)
		return
	}
	if owned, _ := w.owns(msg.EventID); !owned {
		return
	}
	select {
	case w.queue <- msg:
	default:
		m.met.wakeDropped.Inc()
	}
}

// headStarts evaluates queued wake-ups until ctx ends.
func (m *Module) headStarts(ctx context.Context, w *eventWake) {
	for {
		var msg pipeline.EventCreated
		select {
		case <-ctx.Done():
			return
		case msg = <-w.queue:
		}
		e, first := m.events.Begin(msg.EventID)
		if !first {
			continue // its broker copy got here first
		}
		err := m.processEventMessage(ctx, msg, false)
		if err != nil {
			m.log.Debug("executor: event on wake-up not evaluated; the broker's copy will retry", "event_id", msg.EventID, "err", err)
		} else {
			m.met.evaluated.WithLabelValues("wake-up").Inc()
		}
		m.events.Settle(msg.EventID, e, err == nil)
		if err == nil && msg.OutboxID > 0 {
			// Every firing of the event is committed: its broker copy,
			// still held back by the relay, need not be published. Off
			// this goroutine, which takes the next event meanwhile.
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				if cerr := m.d.Store.OutboxConsumed(ctx, msg.OutboxID); cerr != nil && ctx.Err() == nil {
					m.log.Debug("executor: consumed wake-up not recorded; its broker copy will be dropped as a duplicate", "event_id", msg.EventID, "err", cerr)
				}
			}()
		}
	}
}
