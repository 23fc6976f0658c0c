// Package inproc is an in-memory bus.Bus with the same delivery semantics
// as the RabbitMQ implementation: topic routing, per-queue FIFO, prefetch,
// redelivery of unacked messages, delivery counting and dead-lettering. It
// serves roles=all deployments without a broker; messages do not survive a
// process restart (the outbox and the DB remain authoritative).
package inproc

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/attune-system/attune/modules/bus"
)

// Options configure an in-memory bus.
type Options struct {
	// Prefix namespaces every name, as in the rabbitmq implementation. In
	// memory it only matters for symmetry and name-length validation.
	Prefix string
}

// Bus is the in-memory bus. One mutex guards all state: the bus is meant for
// single-process deployments and tests, where simplicity beats throughput.
type Bus struct {
	prefix string

	mu        sync.Mutex
	closed    bool
	queues    map[string]*queue
	consumers map[*consumer]struct{}
}

var _ bus.Bus = (*Bus)(nil)

type queue struct {
	spec      bus.QueueSpec
	ready     []*entry
	cond      *sync.Cond
	consumers int
}

type entry struct {
	msg        bus.Message
	exchange   string
	key        string
	deliveries int
	enqueued   time.Time
}

// New returns an empty in-memory bus.
func New(opts Options) (*Bus, error) {
	if err := bus.CheckPrefix(opts.Prefix); err != nil {
		return nil, err
	}
	return &Bus{prefix: opts.Prefix, queues: map[string]*queue{}, consumers: map[*consumer]struct{}{}}, nil
}

// Publish routes m to every bound queue; with none it fails ErrUnroutable.
func (b *Bus) Publish(ctx context.Context, exchange, routingKey string, m bus.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	kind, ok := bus.ExchangeKind(exchange)
	if !ok {
		return fmt.Errorf("%w: %q", bus.ErrUnknownExchange, exchange)
	}
	m, err := bus.Prepare(m)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return bus.ErrClosed
	}
	routed := false
	for _, q := range b.queues {
		if q.spec.Exchange != exchange || !bound(kind, q.spec.Bindings, routingKey) {
			continue
		}
		q.ready = append(q.ready, &entry{msg: clone(m), exchange: exchange, key: routingKey, enqueued: time.Now()})
		q.cond.Broadcast()
		routed = true
	}
	if !routed {
		return fmt.Errorf("%w: exchange %q key %q", bus.ErrUnroutable, exchange, routingKey)
	}
	return nil
}

func bound(kind bus.ExchangeKindName, bindings []string, key string) bool {
	switch kind {
	case bus.KindFanout:
		return true
	case bus.KindDirect:
		return slices.Contains(bindings, key)
	default:
		return slices.ContainsFunc(bindings, func(p string) bool { return bus.TopicMatch(p, key) })
	}
}

// clone gives each queue its own copy so consumers cannot alias each other.
func clone(m bus.Message) bus.Message {
	m.Payload = slices.Clone(m.Payload)
	m.Headers = maps.Clone(m.Headers)
	return m
}

// Declare creates q and its dead-letter queue, adding bindings like AMQP
// queue.bind does. Arguments differing from an existing queue fail
// ErrQueueMismatch, as RabbitMQ's PRECONDITION_FAILED would.
func (b *Bus) Declare(ctx context.Context, q bus.QueueSpec) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q, err := bus.Normalize(q, b.prefix)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return bus.ErrClosed
	}
	_, err = b.declareLocked(q)
	return err
}

func (b *Bus) declareLocked(q bus.QueueSpec) (*queue, error) {
	if dlq := bus.DeadLetterQueueOf(q); dlq != "" {
		spec, err := bus.Normalize(bus.QueueSpec{Name: dlq, Exchange: bus.ExchangeDLX, Bindings: []string{dlq}}, b.prefix)
		if err != nil {
			return nil, err
		}
		if _, err := b.declareOne(spec); err != nil {
			return nil, err
		}
	}
	return b.declareOne(q)
}

func (b *Bus) declareOne(q bus.QueueSpec) (*queue, error) {
	cur, ok := b.queues[q.Name]
	if !ok {
		cur = &queue{spec: q, cond: sync.NewCond(&b.mu)}
		b.queues[q.Name] = cur
		return cur, nil
	}
	if !sameArgs(cur.spec, q) {
		return nil, fmt.Errorf("%w: %q", bus.ErrQueueMismatch, q.Name)
	}
	for _, k := range q.Bindings {
		if !slices.Contains(cur.spec.Bindings, k) {
			cur.spec.Bindings = append(cur.spec.Bindings, k)
		}
	}
	return cur, nil
}

// sameArgs compares what RabbitMQ would store as queue arguments; Prefetch is
// a consumer setting and bindings are additive, so both are ignored.
func sameArgs(a, b bus.QueueSpec) bool {
	same := a.Exchange == b.Exchange && a.Exclusive == b.Exclusive && a.MessageTTL == b.MessageTTL &&
		bus.DeadLetterQueueOf(a) == bus.DeadLetterQueueOf(b)
	if a.Exchange != bus.ExchangeDLX { // dead-letter queues carry no delivery limit
		same = same && a.MaxDeliveries == b.MaxDeliveries
	}
	return same
}

// TakeDeadLetters removes up to max messages from a dead-letter queue.
func (b *Bus) TakeDeadLetters(ctx context.Context, deadLetterQueue string, max int) ([]bus.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, bus.ErrClosed
	}
	q, ok := b.queues[deadLetterQueue]
	if !ok {
		return nil, fmt.Errorf("bus: dead-letter queue %q is not declared", deadLetterQueue)
	}
	b.expireLocked(time.Now())
	var out []bus.Delivery
	for len(out) < max && len(q.ready) > 0 {
		e := q.ready[0]
		q.ready = q.ready[1:]
		e.deliveries++
		out = append(out, e.delivery())
	}
	return out, nil
}

func (e *entry) delivery() bus.Delivery {
	return bus.Delivery{Message: clone(e.msg), Exchange: e.exchange, RoutingKey: e.key,
		Redelivered: e.deliveries > 1, Attempt: e.deliveries}
}

// deadLetterLocked moves e to q's dead-letter queue; a dead-letter queue's
// own failures are dropped, as RabbitMQ does for a queue without a DLX.
func (b *Bus) deadLetterLocked(q *queue, e *entry) {
	dlq, ok := b.queues[bus.DeadLetterQueueOf(q.spec)]
	if !ok {
		return
	}
	dlq.ready = append(dlq.ready, &entry{msg: e.msg, exchange: e.exchange, key: e.key, enqueued: time.Now()})
	dlq.cond.Broadcast()
}

// Ping fails only after Close: memory is always reachable.
func (b *Bus) Ping(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return bus.ErrClosed
	}
	return nil
}

// Close stops every consumer (waiting for running handlers) and makes all
// further operations fail with ErrClosed.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	cs := slices.Collect(maps.Keys(b.consumers))
	b.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
	}
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

// expireLocked dead-letters messages whose TTL has passed in every queue, so
// expiry is visible without a consumer, as with the broker.
func (b *Bus) expireLocked(now time.Time) {
	for _, q := range b.queues {
		ttl := q.spec.MessageTTL
		if ttl <= 0 {
			continue
		}
		kept := q.ready[:0]
		for _, e := range q.ready {
			if now.Sub(e.enqueued) > ttl {
				b.deadLetterLocked(q, e)
			} else {
				kept = append(kept, e)
			}
		}
		clear(q.ready[len(kept):])
		q.ready = kept
	}
}
