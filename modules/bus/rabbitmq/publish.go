package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/attune-system/attune/modules/bus"
)

// publisher owns the confirm-mode channel. Returns and confirms are read by
// one dispatcher goroutine from unbuffered channels: amqp091 delivers them
// synchronously and in wire order, and the broker sends basic.return before
// the basic.ack of the same message, so when the dispatcher sees a confirm it
// already knows whether that message was returned as unroutable.
type publisher struct {
	ch *amqp.Channel

	sendMu sync.Mutex // serialises sequence-number reads with publishes

	mu       sync.Mutex // guards the fields below (not held while sending)
	pending  map[uint64]*pending
	returned map[string]int // message id -> returns not yet matched to a confirm
	dead     bool
}

type pending struct {
	msgID string
	done  chan error // buffered 1
}

func (b *Bus) newPublisher(conn *amqp.Connection) (*publisher, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	// Re-declaring is idempotent and repairs an exchange deleted behind our
	// back, which would otherwise kill every new publisher channel.
	if err := b.declareExchanges(ch); err != nil {
		return nil, err
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, err
	}
	p := &publisher{ch: ch, pending: map[uint64]*pending{}, returned: map[string]int{}}
	returns := ch.NotifyReturn(make(chan amqp.Return))
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation))
	go p.dispatch(returns, confirms)
	return p, nil
}

func (p *publisher) dispatch(returns <-chan amqp.Return, confirms <-chan amqp.Confirmation) {
	for returns != nil || confirms != nil {
		select {
		case r, ok := <-returns:
			if !ok {
				returns = nil
				continue
			}
			p.mu.Lock()
			p.returned[r.MessageId]++
			p.mu.Unlock()
		case c, ok := <-confirms:
			if !ok {
				confirms = nil
				continue
			}
			p.resolve(c)
		}
	}
	// The channel is gone: whatever was in flight will never be confirmed.
	p.mu.Lock()
	p.dead = true
	for tag, w := range p.pending {
		w.done <- fmt.Errorf("%w: channel closed before confirm", bus.ErrNotConfirmed)
		delete(p.pending, tag)
	}
	p.mu.Unlock()
}

func (p *publisher) resolve(c amqp.Confirmation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	w, ok := p.pending[c.DeliveryTag]
	if !ok {
		return // its Publish already gave up
	}
	delete(p.pending, c.DeliveryTag)
	var err error
	switch {
	case p.returned[w.msgID] > 0:
		if p.returned[w.msgID]--; p.returned[w.msgID] == 0 {
			delete(p.returned, w.msgID)
		}
		err = bus.ErrUnroutable
	case !c.Ack:
		err = fmt.Errorf("%w: broker nacked the message", bus.ErrNotConfirmed)
	}
	w.done <- err
}

func (p *publisher) isDead() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dead
}

// publisher returns the live publisher, opening one if needed.
func (b *Bus) publisher(ctx context.Context) (*publisher, error) {
	for {
		conn, err := b.connection(ctx)
		if err != nil {
			return nil, err
		}
		b.mu.Lock()
		if b.pub != nil && !b.pub.isDead() && b.conn == conn {
			p := b.pub
			b.mu.Unlock()
			return p, nil
		}
		p, err := b.newPublisher(conn)
		if err == nil {
			b.pub = p
		}
		b.mu.Unlock()
		if err == nil {
			return p, nil
		}
		if !conn.IsClosed() {
			return nil, fmt.Errorf("rabbitmq: open publisher channel: %w", err)
		}
		// The connection died meanwhile: wait for the next one.
	}
}

// Publish sends m persistently with the mandatory flag and waits for the
// broker confirm, bounded by ctx and Options.PublishTimeout.
func (b *Bus) Publish(ctx context.Context, exchange, routingKey string, m bus.Message) error {
	ctx, cancel := context.WithTimeout(ctx, b.opts.PublishTimeout)
	defer cancel()
	wait, err := b.begin(ctx, exchange, routingKey, m)
	if err != nil {
		return err
	}
	return wait(ctx)
}

// PublishBatch sends msgs in order, then waits for all their confirms:
// one broker round trip for the batch instead of one per message. errs[i]
// is msgs[i]'s outcome, as Publish would report it.
func (b *Bus) PublishBatch(ctx context.Context, msgs []bus.Outgoing) []error {
	ctx, cancel := context.WithTimeout(ctx, b.opts.PublishTimeout)
	defer cancel()
	errs := make([]error, len(msgs))
	waits := make([]func(context.Context) error, len(msgs))
	for i, o := range msgs {
		waits[i], errs[i] = b.begin(ctx, o.Exchange, o.RoutingKey, o.Message)
	}
	for i, wait := range waits {
		if wait != nil {
			errs[i] = wait(ctx)
		}
	}
	return errs
}

// begin sends m and returns the wait for its confirm.
func (b *Bus) begin(ctx context.Context, exchange, routingKey string, m bus.Message) (func(context.Context) error, error) {
	if _, ok := bus.ExchangeKind(exchange); !ok {
		return nil, fmt.Errorf("%w: %q", bus.ErrUnknownExchange, exchange)
	}
	m, err := bus.Prepare(m)
	if err != nil {
		return nil, err
	}
	body, err := bus.Encode(m)
	if err != nil {
		return nil, err
	}
	p, err := b.publisher(ctx)
	if err != nil {
		return nil, err
	}
	w := &pending{msgID: m.ID, done: make(chan error, 1)}
	tag, err := p.send(ctx, b.name(exchange), routingKey, w, amqp.Publishing{
		ContentType:   "application/json",
		DeliveryMode:  amqp.Persistent,
		MessageId:     m.ID,
		CorrelationId: m.CorrelationID,
		Type:          m.Type,
		Timestamp:     m.Timestamp,
		Body:          body,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %s to %s/%s: %w", bus.ErrNotConfirmed, m.Type, exchange, routingKey, err)
	}
	return func(ctx context.Context) error {
		select {
		case err := <-w.done:
			if err != nil {
				return fmt.Errorf("publish %s %s to %s/%s: %w", m.Type, m.ID, exchange, routingKey, err)
			}
			return nil
		case <-ctx.Done():
			// DeferredConfirmation-style waits can hang after a network
			// error; ours is bounded and forgets the entry so a late
			// confirm is ignored.
			p.mu.Lock()
			delete(p.pending, tag)
			p.mu.Unlock()
			return fmt.Errorf("%w: %s %s to %s/%s: %w", bus.ErrNotConfirmed, m.Type, m.ID, exchange, routingKey, ctx.Err())
		}
	}, nil
}

// send registers w under the channel's next sequence number, then publishes.
func (p *publisher) send(ctx context.Context, exchange, key string, w *pending, msg amqp.Publishing) (uint64, error) {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	tag := p.ch.GetNextPublishSeqNo()
	p.mu.Lock()
	if p.dead {
		p.mu.Unlock()
		return 0, errors.New("publisher channel closed")
	}
	p.pending[tag] = w
	p.mu.Unlock()
	if err := p.ch.PublishWithContext(ctx, exchange, key, true, false, msg); err != nil {
		p.mu.Lock()
		delete(p.pending, tag)
		p.mu.Unlock()
		return 0, err
	}
	return tag, nil
}
