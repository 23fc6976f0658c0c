// Package outbox is the hidden `outbox` module: it relays committed outbox
// rows (written in the same transaction as the state change they announce) to
// the bus, marking each published only after the broker confirmed it. A
// crash between publish and mark re-publishes: consumers are idempotent, so
// the guarantee is at-least-once delivery of every committed message.
package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/store"
)

// Options tunes the relay.
type Options struct {
	// PollInterval bounds how long a message waits when no wake-up arrived
	// (for rows written by a process that died before relaying). Defaults to 1s.
	PollInterval time.Duration
	// BatchSize is how many rows one claim takes. Defaults to 100.
	BatchSize int32
	// Lease hides claimed rows from other relays while this one publishes. Defaults to 30s.
	Lease time.Duration
	// Reserve hides rows committed in this process from other relays while
	// this one publishes them straight from the commit hook. Defaults to 15s.
	Reserve time.Duration
	// HoldWoken is how long the broker copy of a message that also woke its
	// consumer through PostgreSQL (store.Woken) is held back; a consumer
	// that handled the wake-up deletes the row meanwhile (store.
	// OutboxConsumed) and no copy is published. Zero publishes every copy
	// at once; at most half of Reserve.
	HoldWoken time.Duration
}

// heldMsg is a woken message's broker copy waiting for its due time.
type heldMsg struct {
	m   store.OutboxMessage
	due time.Time
}

// Relay is the outbox module.
type Relay struct {
	st   *store.Store
	bus  bus.Bus
	log  *slog.Logger
	opts Options

	wake      chan struct{}
	mu        sync.Mutex
	direct    []store.OutboxMessage // committed here, handed over by the store hook
	held      []heldMsg             // woken messages committed here, in due order
	confirmed []int64               // published rows of the direct path, to delete
	deletes   chan struct{}         // wakes deleteLoop
	cancel    context.CancelFunc
	done      chan struct{}
	stopOnce  sync.Once
	published prometheus.Counter
	failures  prometheus.Counter
	skipped   prometheus.Counter
}

// New builds a relay.
func New(st *store.Store, b bus.Bus, log *slog.Logger, metrics prometheus.Registerer, opts Options) *Relay {
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.Reserve <= 0 {
		opts.Reserve = 15 * time.Second
	}
	opts.HoldWoken = min(max(opts.HoldWoken, 0), opts.Reserve/2)
	r := &Relay{st: st, bus: b, log: log, opts: opts, wake: make(chan struct{}, 1), deletes: make(chan struct{}, 1),
		done: make(chan struct{})}
	r.published = prometheus.NewCounter(prometheus.CounterOpts{Name: "attune_outbox_published_total", Help: "Outbox messages published and confirmed."})
	r.failures = prometheus.NewCounter(prometheus.CounterOpts{Name: "attune_outbox_publish_failures_total", Help: "Outbox publish attempts that failed and will be retried."})
	r.skipped = prometheus.NewCounter(prometheus.CounterOpts{Name: "attune_outbox_copies_skipped_total",
		Help: "Held-back broker copies never published: their consumer handled the wake-up."})
	if metrics != nil {
		metrics.MustRegister(r.published, r.failures, r.skipped)
	}
	return r
}

// handOver receives the due messages of a transaction committed in this
// process (the store's commit hook): publishing them needs no query to find
// them, which keeps each pipeline hop to one commit.
func (r *Relay) handOver(msgs []store.OutboxMessage) {
	due := time.Now().Add(r.opts.HoldWoken)
	r.mu.Lock()
	for _, m := range msgs {
		if r.opts.HoldWoken > 0 && store.Woken(m) {
			r.held = append(r.held, heldMsg{m: m, due: due})
		} else {
			r.direct = append(r.direct, m)
		}
	}
	r.mu.Unlock()
	r.Kick()
}

// Kick asks the relay to run now; it never blocks.
func (r *Relay) Kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Start begins relaying in the background.
func (r *Relay) Start(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.st.OnOutboxCommit(r.handOver, r.opts.Reserve)
	loopDone := make(chan struct{})
	go func() { defer close(loopDone); r.loop(ctx) }()
	go func() { defer close(r.done); r.deleteLoop(ctx, loopDone) }()
	return nil
}

// Stop finishes the batch in flight and stops. Unpublished rows stay in the
// table for the next relay.
func (r *Relay) Stop(ctx context.Context) error {
	r.stopOnce.Do(func() {
		if r.cancel == nil {
			close(r.done)
			return
		}
		r.st.OnOutboxCommit(nil, 0)
		r.cancel()
	})
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Relay) loop(ctx context.Context) {
	// The poll runs on its own schedule, not after every wake-up: a commit
	// here hands its rows straight over, so a query per commit would find
	// nothing; polling is for rows of processes that died and for retries.
	// Under a stream of wake-ups the poll still runs every PollInterval.
	t := time.NewTicker(r.opts.PollInterval)
	defer t.Stop()
	hold := time.NewTimer(time.Hour)
	defer hold.Stop()
	poll := true // once at start: rows left by an earlier run
	for {
		r.relayDirect(ctx)
		next := r.relayHeld(ctx, time.Now())
		if poll {
			r.drain(ctx)
			poll = false
		}
		var holdC <-chan time.Time
		if !next.IsZero() {
			hold.Reset(time.Until(next))
			holdC = hold.C
		}
		select {
		case <-ctx.Done():
			// Stop: what is still handed over or held goes out now,
			// bounded, rather than waiting for its reservation to lapse.
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			r.relayDirect(fctx)
			r.relayHeld(fctx, time.Time{})
			cancel()
			return
		case <-r.wake:
		case <-holdC:
		case <-t.C:
			poll = true
		}
	}
}

// held wraps msgs as held copies due at due.
func held(msgs []store.OutboxMessage, due time.Time) []heldMsg {
	out := make([]heldMsg, len(msgs))
	for i, m := range msgs {
		out[i] = heldMsg{m: m, due: due}
	}
	return out
}

// relayHeld publishes the held copies due by now (all of them when now is
// zero) whose rows are still there, and returns when the next one is due
// (zero: none held). If the look-up fails every due copy is published: a
// duplicate is dropped by its consumer, a missing message is not recovered.
func (r *Relay) relayHeld(ctx context.Context, now time.Time) time.Time {
	r.mu.Lock()
	n := len(r.held)
	if !now.IsZero() {
		n = 0
		for n < len(r.held) && !r.held[n].due.After(now) {
			n++
		}
	}
	due := make([]store.OutboxMessage, n)
	for i, h := range r.held[:n] {
		due[i] = h.m
	}
	r.held = r.held[n:]
	var next time.Time
	if len(r.held) > 0 {
		next = r.held[0].due
	}
	r.mu.Unlock()
	if len(due) == 0 {
		return next
	}
	ids := make([]int64, len(due))
	for i, m := range due {
		ids[i] = m.ID
	}
	present, err := r.st.OutboxPresent(ctx, ids)
	if err != nil && ctx.Err() != nil {
		// Stopping: back to the front, for the final flush.
		r.mu.Lock()
		r.held = append(held(due, now), r.held...)
		r.mu.Unlock()
		return next
	}
	if err != nil {
		r.log.Warn("outbox: look up held copies (publishing them all)", "rows", len(due), "err", err)
	} else {
		kept := due[:0]
		for _, m := range due {
			if present[m.ID] {
				kept = append(kept, m)
			}
		}
		r.skipped.Add(float64(len(due) - len(kept)))
		due = kept
	}
	if len(due) > 0 {
		if err := r.publish(ctx, due, true); err != nil {
			r.log.Warn("outbox relay", "err", err)
		}
	}
	return next
}

// drain relays due rows until none is left: a backlog is relayed in
// consecutive batches rather than one batch per poll.
func (r *Relay) drain(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := r.RelayOnce(ctx)
		if err != nil {
			r.log.Warn("outbox relay", "err", err)
			return
		}
		if n < int(r.opts.BatchSize) {
			return
		}
	}
}

// relayDirect publishes what the commit hook handed over. Messages that
// fail stay in the table and are retried by polling after their backoff.
func (r *Relay) relayDirect(ctx context.Context) {
	for ctx.Err() == nil {
		msgs := take(&r.mu, &r.direct)
		if len(msgs) == 0 {
			return
		}
		if err := r.publish(ctx, msgs, true); err != nil {
			r.log.Warn("outbox relay", "err", err)
		}
	}
}

// deleteLoop deletes the rows the direct path published, in batches, off
// the publishing path: the next hand-over is published while the previous
// one's bookkeeping commits. A row whose delete is lost (crash) is only
// re-published after its reservation lapses, and consumers are idempotent.
func (r *Relay) deleteLoop(ctx context.Context, loopDone <-chan struct{}) {
	for {
		select {
		case <-r.deletes:
		case <-ctx.Done():
			// Stop: once the publishing loop has ended, one last bounded
			// flush, so a clean shutdown leaves no published row behind.
			<-loopDone
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			r.flushDeletes(fctx)
			cancel()
			return
		}
		r.flushDeletes(ctx)
	}
}

// take empties *s under mu and returns what it held.
func take[T any](mu *sync.Mutex, s *[]T) []T {
	mu.Lock()
	defer mu.Unlock()
	v := *s
	*s = nil
	return v
}

func (r *Relay) flushDeletes(ctx context.Context) {
	ids := take(&r.mu, &r.confirmed)
	if len(ids) == 0 {
		return
	}
	if _, err := r.st.OutboxDeletePublished(ctx, ids...); err != nil && ctx.Err() == nil {
		r.log.Warn("outbox: delete published rows (they will be re-published once their reservation lapses)", "rows", len(ids), "err", err)
	}
}

// RelayOnce claims one batch, publishes it and deletes what the broker
// confirmed. It returns how many rows it claimed.
func (r *Relay) RelayOnce(ctx context.Context) (int, error) {
	msgs, err := r.st.OutboxClaimBatch(ctx, r.opts.BatchSize, r.opts.Lease)
	if err != nil {
		return 0, fmt.Errorf("claim: %w", err)
	}
	return len(msgs), r.publish(ctx, msgs, false)
}

// publish sends msgs in order and records the outcome of each. A bus that
// can pipeline confirms gets the whole batch at once. With asyncDelete the
// confirmed rows are deleted by deleteLoop instead of before returning.
func (r *Relay) publish(ctx context.Context, msgs []store.OutboxMessage, asyncDelete bool) error {
	out := make([]bus.Outgoing, len(msgs))
	for i, m := range msgs {
		out[i] = bus.Outgoing{Exchange: m.Exchange, RoutingKey: m.RoutingKey, Message: bus.Message{
			// A stable id lets consumers recognise a re-publish of the same row.
			ID:      fmt.Sprintf("outbox-%d", m.ID),
			Type:    m.MessageType,
			Payload: m.Payload,
		}}
	}
	var errs []error
	if bp, ok := r.bus.(bus.BatchPublisher); ok && len(out) > 1 {
		errs = bp.PublishBatch(ctx, out)
	} else {
		errs = make([]error, len(out))
		for i, o := range out {
			errs[i] = r.bus.Publish(ctx, o.Exchange, o.RoutingKey, o.Message)
		}
	}
	var ok []int64
	for i, m := range msgs {
		if err := errs[i]; err != nil {
			r.failures.Inc()
			backoff := min(time.Duration(1<<min(m.Attempts, 6))*time.Second, time.Minute)
			if ferr := r.st.OutboxMarkFailed(ctx, m.ID, backoff, err); ferr != nil {
				r.log.Warn("outbox: record failure", "id", m.ID, "err", ferr)
			}
			continue
		}
		ok = append(ok, m.ID)
	}
	if len(ok) > 0 && asyncDelete {
		r.published.Add(float64(len(ok)))
		r.mu.Lock()
		r.confirmed = append(r.confirmed, ok...)
		r.mu.Unlock()
		select {
		case r.deletes <- struct{}{}:
		default:
		}
		return nil
	}
	if len(ok) > 0 {
		if _, err := r.st.OutboxDeletePublished(ctx, ok...); err != nil {
			return fmt.Errorf("delete published: %w", err)
		}
		r.published.Add(float64(len(ok)))
	}
	return nil
}
