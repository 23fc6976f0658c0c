package rabbitmq

import (
	"context"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/attune-system/attune/modules/bus"
)

// DeleteNamespace deletes the fixed topology (queues, their dead-letter
// queues, exchanges) under prefix, plus the extra queues given (such as
// per-worker queues). Queues are durable quorum queues, which cost the broker
// a Raft group each, so tests and operators removing an installation must
// not leave them behind. Missing names are ignored.
func DeleteNamespace(ctx context.Context, url, prefix string, extra ...bus.QueueSpec) error {
	if err := bus.CheckPrefix(prefix); err != nil {
		return err
	}
	if prefix == "" {
		return fmt.Errorf("rabbitmq: refusing to delete the unprefixed namespace")
	}
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	conn, err := amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(timeout)})
	if err != nil {
		return fmt.Errorf("rabbitmq: connect: %w", err)
	}
	defer conn.Close()
	var names []string
	for _, q := range append(bus.FixedQueues(), extra...) {
		names = append(names, q.Name)
		if !q.Exclusive {
			names = append(names, bus.DeadLetterQueueOf(q))
		}
	}
	for _, n := range names {
		if err := deleteWith(conn, func(ch *amqp.Channel) error {
			_, err := ch.QueueDelete(prefix+n, false, false, false)
			return err
		}); err != nil {
			return err
		}
	}
	for _, e := range bus.Exchanges() {
		if err := deleteWith(conn, func(ch *amqp.Channel) error { return ch.ExchangeDelete(prefix+e.Name, false, false) }); err != nil {
			return err
		}
	}
	return nil
}

// deleteWith runs fn on a fresh channel: a failed delete closes its channel.
func deleteWith(conn *amqp.Connection, fn func(*amqp.Channel) error) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("rabbitmq: channel: %w", err)
	}
	defer ch.Close()
	_ = fn(ch) // a name that was never declared is not an error here
	return nil
}
