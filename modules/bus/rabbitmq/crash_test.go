package rabbitmq

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/bus"
)

// A consumer that dies mid-message (no ack, no nack) on every attempt must
// not loop forever: the broker's x-delivery-limit dead-letters the message
// after MaxDeliveries deliveries.
func TestCrashLoopIsDeadLetteredByBroker(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	ctx := context.Background()
	q := bus.QueueSpec{Name: "crashloop", Exchange: bus.ExchangeEvents, Bindings: []string{"crashloop"}, Prefetch: 1, MaxDeliveries: 2}
	attempts := make(chan int, 10)
	release := make(chan struct{})
	c, err := b.Consume(ctx, q, func(_ context.Context, d bus.Delivery) error {
		attempts <- d.Attempt
		<-release
		return nil // too late: the channel is gone, the ack fails
	})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, b.Publish(ctx, bus.ExchangeEvents, "crashloop", bus.Message{Type: "Crash"}))

	for want := 1; want <= 2; want++ {
		select {
		case got := <-attempts:
			require.Equal(t, want, got)
		case <-time.After(10 * time.Second):
			t.Fatalf("attempt %d not delivered", want)
		}
		b.breakNetwork(t)
		release <- struct{}{}
	}
	require.Eventually(t, func() bool {
		// The connection the test just broke may still be reconnecting:
		// a failed look is a "not yet", the dead letter must still come.
		ds, err := b.TakeDeadLetters(ctx, bus.DeadLetterQueueOf(q), 1)
		return err == nil && len(ds) == 1 && ds[0].Type == "Crash"
	}, 10*time.Second, 20*time.Millisecond)
	require.Empty(t, attempts, "no delivery beyond MaxDeliveries")
}
