package rabbitmq

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/attune-system/attune/modules/bus"
)

// consumer keeps one subscription alive across connection losses.
type consumer struct {
	b    *Bus
	spec bus.QueueSpec
	h    bus.Handler
	// Close cancels sub first; the subscription is then cancelled at the
	// broker before ctx (the handlers' context) is cancelled, so a message a
	// handler gives up on is not redelivered to this closing channel.
	sub       context.Context
	closeSub  context.CancelFunc
	ctx       context.Context
	cancelCtx context.CancelFunc
	done      chan struct{} // closed when run returns
	once      sync.Once

	// attempts counts deliveries per message id on exclusive (classic)
	// queues, which have no x-delivery-count. Exact because an exclusive
	// queue has only this consumer; reset with the queue on reconnect.
	mu       sync.Mutex
	attempts map[string]int
}

// Consume declares spec on the consumer's own channel and subscribes; it
// returns once the first subscription is active (or failed).
func (b *Bus) Consume(ctx context.Context, spec bus.QueueSpec, h bus.Handler) (bus.Consumer, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: nil handler", bus.ErrInvalidSpec)
	}
	spec, err := bus.Normalize(spec, b.opts.Prefix)
	if err != nil {
		return nil, err
	}
	c := &consumer{b: b, spec: spec, h: h, done: make(chan struct{}), attempts: map[string]int{}}
	c.sub, c.closeSub = context.WithCancel(context.Background())
	c.ctx, c.cancelCtx = context.WithCancel(context.Background())
	ch, deliveries, err := c.subscribe(ctx)
	if err != nil {
		c.closeSub()
		c.cancelCtx()
		return nil, err
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		c.closeSub()
		c.cancelCtx()
		_ = ch.Close()
		return nil, bus.ErrClosed
	}
	b.consumers[c] = struct{}{}
	b.mu.Unlock()
	go c.run(ch, deliveries)
	return c, nil
}

// consumerTag is fixed: each consumer has its own channel, so it is unique
// where it matters, and Close can cancel by it.
const consumerTag = "attune"

// subscribe opens a channel, declares the queue and starts consuming.
func (c *consumer) subscribe(ctx context.Context) (*amqp.Channel, <-chan amqp.Delivery, error) {
	conn, err := c.b.connection(ctx)
	if err != nil {
		return nil, nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		return nil, nil, fmt.Errorf("rabbitmq: open consumer channel: %w", err)
	}
	fail := func(err error) (*amqp.Channel, <-chan amqp.Delivery, error) {
		_ = ch.Close()
		return nil, nil, err
	}
	if err := ch.Qos(c.spec.Prefetch, 0, false); err != nil {
		return fail(fmt.Errorf("rabbitmq: qos: %w", err))
	}
	if err := c.b.declare(ch, c.spec); err != nil {
		return fail(err)
	}
	deliveries, err := ch.Consume(c.b.name(c.spec.Name), consumerTag, false, c.spec.Exclusive, false, false, nil)
	if err != nil {
		return fail(fmt.Errorf("rabbitmq: consume %q: %w", c.b.name(c.spec.Name), err))
	}
	c.mu.Lock()
	clear(c.attempts)
	c.mu.Unlock()
	return ch, deliveries, nil
}

// run processes deliveries and resubscribes with backoff after the channel
// or connection is lost, until Close.
func (c *consumer) run(ch *amqp.Channel, deliveries <-chan amqp.Delivery) {
	defer close(c.done)
	defer c.cancelCtx()
	log := c.b.log.With("queue", c.spec.Name)
	for {
		c.process(ch, deliveries)
		_ = ch.Close() // returns unacked messages to the queue
		if c.sub.Err() != nil {
			return
		}
		log.Warn("bus consumer lost its channel, resubscribing")
		delay := c.b.opts.ReconnectMin
		for {
			var err error
			if ch, deliveries, err = c.subscribe(c.sub); err == nil {
				log.Info("bus consumer resubscribed")
				break
			}
			if c.sub.Err() != nil {
				return
			}
			log.Warn("bus consumer resubscribe failed", "err", err, "retry_in", delay)
			select {
			case <-c.sub.Done():
				return
			case <-time.After(jitter(delay)):
			}
			delay = min(delay*2, c.b.opts.ReconnectMax)
		}
	}
}

// process runs Prefetch workers until the delivery stream ends: on channel
// loss, or on Close, which cancels the subscription at the broker and only
// then cancels the handlers' context. Deliveries prefetched but not started
// are left unacked; closing the channel returns them to the queue.
func (c *consumer) process(ch *amqp.Channel, deliveries <-chan amqp.Delivery) {
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-c.sub.Done():
			_ = ch.Cancel(consumerTag, false) // ends deliveries
			c.cancelCtx()
		case <-finished:
		}
	}()
	var wg sync.WaitGroup
	for range c.spec.Prefetch {
		wg.Go(func() {
			for d := range deliveries {
				if c.sub.Err() != nil {
					continue // closing: leave unacked, do not start new work
				}
				c.handle(d)
			}
		})
	}
	wg.Wait()
}

func (c *consumer) handle(d amqp.Delivery) {
	log := c.b.log.With("queue", c.spec.Name, "message_id", d.MessageId, "type", d.Type)
	attempt := deliveryCount(d.Headers) + 1
	if c.spec.Exclusive {
		c.mu.Lock()
		c.attempts[d.MessageId]++
		attempt = c.attempts[d.MessageId]
		c.mu.Unlock()
	}
	m, err := bus.Decode(d.Body)
	if err != nil {
		log.Error("bus: undecodable message, dead-lettering", "err", err)
		c.settle(log, d, bus.DeadLetter)
		return
	}
	err = bus.CallHandler(c.ctx, c.h, c.b.delivery(m, d, attempt))
	outcome := bus.Decide(err, attempt, c.spec.MaxDeliveries)
	switch outcome {
	case bus.DeadLetter:
		log.Error("bus: handler failed, dead-lettering", "err", err, "attempt", attempt)
	case bus.Requeue:
		log.Warn("bus: handler failed, requeueing", "err", err, "attempt", attempt)
	}
	c.settle(log, d, outcome)
}

func (c *consumer) settle(log *slog.Logger, d amqp.Delivery, o bus.Outcome) {
	if c.spec.Exclusive && o != bus.Requeue {
		c.mu.Lock()
		delete(c.attempts, d.MessageId)
		c.mu.Unlock()
	}
	var err error
	switch o {
	case bus.Ack:
		err = d.Ack(false)
	case bus.Requeue:
		err = d.Nack(false, true)
	case bus.DeadLetter:
		err = d.Reject(false) // to the queue's DLX, or dropped if it has none
	}
	if err != nil {
		// The channel died: the broker redelivers the message, which is why
		// handlers must be idempotent.
		log.Warn("bus: could not settle message", "outcome", o.String(), "err", err)
	}
}

// Close stops consuming, cancels running handlers and waits for them.
func (c *consumer) Close() error {
	c.once.Do(func() {
		c.closeSub()
		<-c.done
		c.b.mu.Lock()
		delete(c.b.consumers, c)
		c.b.mu.Unlock()
	})
	return nil
}
