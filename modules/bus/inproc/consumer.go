package inproc

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/attune-system/attune/modules/bus"
)

type consumer struct {
	b      *Bus
	q      *queue
	h      bus.Handler
	ctx    context.Context
	cancel context.CancelFunc
	closed bool // guarded by b.mu
	wg     sync.WaitGroup
	once   sync.Once
}

// Consume declares q and runs h on up to q.Prefetch messages at a time.
func (b *Bus) Consume(ctx context.Context, spec bus.QueueSpec, h bus.Handler) (bus.Consumer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, fmt.Errorf("%w: nil handler", bus.ErrInvalidSpec)
	}
	spec, err := bus.Normalize(spec, b.prefix)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, bus.ErrClosed
	}
	q, err := b.declareLocked(spec)
	if err != nil {
		return nil, err
	}
	if q.spec.Exclusive && q.consumers > 0 {
		return nil, fmt.Errorf("bus: exclusive queue %q already has a consumer", spec.Name)
	}
	q.consumers++
	cctx, cancel := context.WithCancel(context.Background())
	c := &consumer{b: b, q: q, h: h, ctx: cctx, cancel: cancel}
	b.consumers[c] = struct{}{}
	for range spec.Prefetch {
		c.wg.Add(1)
		go c.work()
	}
	return c, nil
}

// work is one of Prefetch workers: each holds at most one unacked message,
// which is how the prefetch bound is enforced.
func (c *consumer) work() {
	defer c.wg.Done()
	b, q := c.b, c.q
	for {
		b.mu.Lock()
		for !c.closed && len(q.ready) == 0 {
			q.cond.Wait()
		}
		if c.closed {
			b.mu.Unlock()
			return
		}
		e := q.ready[0]
		q.ready = q.ready[1:]
		if ttl := q.spec.MessageTTL; ttl > 0 && time.Since(e.enqueued) > ttl {
			b.deadLetterLocked(q, e)
			b.mu.Unlock()
			continue
		}
		e.deliveries++
		d := e.delivery()
		b.mu.Unlock()

		err := bus.CallHandler(c.ctx, c.h, d)

		b.mu.Lock()
		switch bus.Decide(err, e.deliveries, q.spec.MaxDeliveries) {
		case bus.Requeue:
			// Back to the head, like RabbitMQ's requeue to original position.
			q.ready = append([]*entry{e}, q.ready...)
			q.cond.Broadcast()
		case bus.DeadLetter:
			b.deadLetterLocked(q, e)
		case bus.Ack:
		}
		b.mu.Unlock()
	}
}

// Close stops the workers, cancels running handlers and waits for them.
// Their results still apply (a handler returning the context error requeues).
func (c *consumer) Close() error {
	c.once.Do(func() {
		b := c.b
		b.mu.Lock()
		c.closed = true
		c.q.cond.Broadcast()
		b.mu.Unlock()
		c.cancel()
		c.wg.Wait()
		b.mu.Lock()
		delete(b.consumers, c)
		c.q.consumers--
		if c.q.spec.Exclusive && c.q.consumers == 0 {
			// Auto-delete, like the broker does for exclusive queues.
			delete(b.queues, c.q.spec.Name)
		}
		b.mu.Unlock()
	})
	return nil
}
