package rabbitmq

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/bus/bustest"
)

// newTestBus connects with a unique prefix and removes its topology at cleanup.
func newTestBus(t testing.TB) *Bus {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := New(ctx, Options{URL: testURL(), Prefix: "t" + uuid.NewString()[:8] + ".",
		PublishTimeout: 5 * time.Second, ReconnectMin: 50 * time.Millisecond, ReconnectMax: time.Second})
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, b.Close())
		b.deleteAll(t)
	})
	return b
}

func TestContract(t *testing.T) {
	t.Parallel()
	bustest.RunContract(t, func(t *testing.T) bus.Bus { return newTestBus(t) })
}

func TestUndecodableMessageIsDeadLettered(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	ctx := context.Background()
	q := bus.QueueSpec{Name: "bad.json", Exchange: bus.ExchangeEvents, Bindings: []string{"bad.json"}, Prefetch: 1}
	calls := make(chan bus.Delivery, 1)
	c, err := b.Consume(ctx, q, func(_ context.Context, d bus.Delivery) error { calls <- d; return nil })
	require.NoError(t, err)
	defer c.Close()

	conn, err := amqp.Dial(testURL())
	require.NoError(t, err)
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(t, err)
	require.NoError(t, ch.PublishWithContext(ctx, b.name(bus.ExchangeEvents), "bad.json", false, false,
		amqp.Publishing{MessageId: "raw-1", Body: []byte("{not json")}))

	var got []bus.Delivery
	require.Eventually(t, func() bool {
		ds, err := b.TakeDeadLetters(ctx, bus.DeadLetterQueueOf(q), 1)
		require.NoError(t, err)
		got = append(got, ds...)
		return len(got) == 1
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, "raw-1", got[0].ID)
	require.Equal(t, bus.ExchangeEvents, got[0].Exchange, "original exchange from x-death")
	require.Equal(t, "bad.json", got[0].RoutingKey)
	require.Empty(t, calls, "the handler never sees an undecodable message")
}

func TestQueueArgumentsOnBroker(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	ctx := context.Background()
	q := bus.QueueSpec{Name: "args", Exchange: bus.ExchangeExecutions, Bindings: []string{"args"}, MaxDeliveries: 4}
	require.NoError(t, b.Declare(ctx, q))
	// A passive-compatible redeclare with the exact arguments must succeed,
	// proving the queue is a quorum queue with our DLX and delivery limit.
	conn, err := amqp.Dial(testURL())
	require.NoError(t, err)
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(t, err)
	_, err = ch.QueueDeclare(b.name("args"), true, false, false, false, amqp.Table{
		"x-queue-type": "quorum", "x-delivery-limit": int64(3),
		"x-dead-letter-exchange": b.name(bus.ExchangeDLX), "x-dead-letter-routing-key": "args.dlq"})
	require.NoError(t, err)
}

func TestConsumerResumesAfterConnectionLoss(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	ctx := context.Background()
	q := bus.QueueSpec{Name: "reconnect", Exchange: bus.ExchangeEvents, Bindings: []string{"reconnect"}, Prefetch: 1}
	got := make(chan bus.Delivery, 10)
	c, err := b.Consume(ctx, q, func(_ context.Context, d bus.Delivery) error { got <- d; return nil })
	require.NoError(t, err)
	defer c.Close()

	require.NoError(t, b.Publish(ctx, bus.ExchangeEvents, "reconnect", bus.Message{Type: "Before"}))
	require.Equal(t, "Before", (<-got).Type)

	b.mu.Lock()
	old := b.conn
	b.mu.Unlock()
	b.breakNetwork(t)
	require.Eventually(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.conn != nil && b.conn != old && !b.conn.IsClosed()
	}, 10*time.Second, 10*time.Millisecond, "bus must reconnect by itself")
	require.NoError(t, b.Ping(ctx))

	// Publish waits for the publisher channel; the consumer resubscribes.
	for i := range 3 {
		require.NoError(t, b.Publish(ctx, bus.ExchangeEvents, "reconnect", bus.Message{Type: fmt.Sprintf("After%d", i)}))
	}
	for i := 0; i < 3; {
		select {
		case d := <-got:
			if d.Type == "Before" {
				// At-least-once: the ack of "Before" can be lost with the
				// connection, and then the broker delivers it again.
				require.True(t, d.Redelivered, "a second copy is marked redelivered")
				continue
			}
			require.Equal(t, fmt.Sprintf("After%d", i), d.Type)
			i++
		case <-time.After(10 * time.Second):
			t.Fatal("consumer did not resume after reconnect")
		}
	}
}

func TestPingFailsWhileDisconnected(t *testing.T) {
	t.Parallel()
	// A port nothing listens on: New must keep retrying until ctx ends.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := New(ctx, Options{URL: "amqp://guest:guest@127.0.0.1:1/", ReconnectMin: 20 * time.Millisecond})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotContains(t, err.Error(), "guest:guest", "credentials must not leak into errors")
}

// The whole topology of topology.go must be declarable on the real broker
// (quorum arguments, TTLs, the shared dead-letter queue, exclusive queues).
func TestDeclareWholeTopology(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	ctx := context.Background()
	specs := bus.FixedQueues()
	e, p, c, pt := bus.WorkerQueues("1")
	specs = append(specs, e, p, c, pt)
	for _, s := range specs {
		require.NoError(t, b.Declare(ctx, s), s.Name)
	}
	meta, err := b.Consume(ctx, bus.MetadataQueue("r1"), func(context.Context, bus.Delivery) error { return nil })
	require.NoError(t, err)
	defer meta.Close()
	for _, k := range []string{bus.KeyExecutionRequested, bus.KeyEnforcementCreated, bus.KeyInquiryCreated} {
		require.NoError(t, b.Publish(ctx, bus.ExchangeExecutions, k, bus.Message{Type: "T"}), k)
	}
	require.NoError(t, b.Publish(ctx, bus.ExchangeEvents, bus.KeyPackRegistered, bus.Message{Type: "T"}))
	require.NoError(t, b.Publish(ctx, bus.ExchangeMetadata, bus.KeyMetadataChanged("pack"), bus.Message{Type: "T"}))
}
