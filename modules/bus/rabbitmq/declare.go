package rabbitmq

import (
	"context"
	"errors"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/attune-system/attune/modules/bus"
)

// withChannel runs fn on a short-lived channel. Declaration errors close the
// channel they happen on, so each operation gets its own; and amqp091 RPCs
// take no context, so ctx is enforced by closing the channel.
func (b *Bus) withChannel(ctx context.Context, fn func(*amqp.Channel) error) error {
	conn, err := b.connection(ctx)
	if err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("rabbitmq: open channel: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- fn(ch) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = ch.Close()
		<-done
		return ctx.Err()
	}
	_ = ch.Close()
	return err
}

// Declare creates q, its dead-letter queue and bindings.
func (b *Bus) Declare(ctx context.Context, q bus.QueueSpec) error {
	q, err := bus.Normalize(q, b.opts.Prefix)
	if err != nil {
		return err
	}
	return b.withChannel(ctx, func(ch *amqp.Channel) error { return b.declare(ch, q) })
}

// declare is shared by Declare and consumers (which declare on their own
// channel so that exclusive queues belong to the consuming connection).
func (b *Bus) declare(ch *amqp.Channel, q bus.QueueSpec) error {
	if dlq := bus.DeadLetterQueueOf(q); dlq != "" {
		if err := b.declareOne(ch, bus.QueueSpec{Name: dlq, Exchange: bus.ExchangeDLX, Bindings: []string{dlq}}); err != nil {
			return err
		}
	}
	return b.declareOne(ch, q)
}

func (b *Bus) declareOne(ch *amqp.Channel, q bus.QueueSpec) error {
	name := b.name(q.Name)
	args := amqp.Table{}
	if q.MessageTTL > 0 {
		args["x-message-ttl"] = q.MessageTTL.Milliseconds()
	}
	durable, autoDelete, exclusive := true, false, false
	if q.Exclusive {
		// Quorum queues cannot be exclusive or auto-delete: per-replica
		// queues are classic and disappear with their connection.
		durable, autoDelete, exclusive = false, true, true
	} else {
		args["x-queue-type"] = "quorum"
		if dlq := bus.DeadLetterQueueOf(q); dlq != "" {
			// RabbitMQ 3.10 has no default delivery limit. The broker
			// dead-letters once a message was returned more than limit times,
			// so limit = MaxDeliveries-1 caps deliveries at MaxDeliveries even
			// when consumers crash instead of nacking.
			args["x-delivery-limit"] = int64(q.MaxDeliveries - 1)
			args["x-dead-letter-exchange"] = b.name(bus.ExchangeDLX)
			args["x-dead-letter-routing-key"] = dlq
		}
	}
	if _, err := ch.QueueDeclare(name, durable, autoDelete, exclusive, false, args); err != nil {
		return declareError(name, err)
	}
	b.namesMu.Lock()
	b.declared[name] = struct{}{}
	b.namesMu.Unlock()
	for _, key := range q.Bindings {
		if err := ch.QueueBind(name, key, b.name(q.Exchange), false, nil); err != nil {
			return fmt.Errorf("rabbitmq: bind queue %q to %q with %q: %w", name, b.name(q.Exchange), key, err)
		}
	}
	return nil
}

func declareError(name string, err error) error {
	var aerr *amqp.Error
	if errors.As(err, &aerr) && aerr.Code == amqp.PreconditionFailed {
		return fmt.Errorf("%w: %q: %s", bus.ErrQueueMismatch, name, aerr.Reason)
	}
	return fmt.Errorf("rabbitmq: declare queue %q: %w", name, err)
}

// TakeDeadLetters removes up to max messages from a dead-letter queue with
// basic.get, reporting each message's original exchange and routing key.
func (b *Bus) TakeDeadLetters(ctx context.Context, deadLetterQueue string, max int) ([]bus.Delivery, error) {
	var out []bus.Delivery
	err := b.withChannel(ctx, func(ch *amqp.Channel) error {
		for len(out) < max {
			d, ok, err := ch.Get(b.name(deadLetterQueue), false)
			if err != nil {
				return fmt.Errorf("rabbitmq: get from %q: %w", b.name(deadLetterQueue), err)
			}
			if !ok {
				return nil
			}
			m, err := bus.Decode(d.Body)
			if err != nil {
				// Undecodable dead letters are still reported, as raw bytes.
				m = bus.Message{ID: d.MessageId, Type: d.Type, Payload: rawPayload(d.Body)}
			}
			del := b.delivery(m, d, deliveryCount(d.Headers)+1)
			if ex, key, ok := firstDeath(d.Headers); ok {
				del.Exchange, del.RoutingKey = b.unprefix(ex), key
			}
			out = append(out, del)
			if err := d.Ack(false); err != nil {
				return fmt.Errorf("rabbitmq: ack dead letter: %w", err)
			}
		}
		return nil
	})
	return out, err
}
