// Package bustest holds the contract every bus.Bus implementation must pass.
// Implementations run it from their own tests:
//
//	bustest.RunContract(t, func(t *testing.T) bus.Bus { ... })
//
// The factory must return a fresh, isolated bus (e.g. a unique Prefix) and
// arrange its cleanup; the suite may Close it early.
package bustest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/bus"
)

// Factory returns a fresh, isolated bus for one subtest.
type Factory func(t *testing.T) bus.Bus

// wait bounds every asynchronous expectation of the suite.
const wait = 15 * time.Second

// RunContract runs the bus contract subtests against buses made by newBus.
func RunContract(t *testing.T, newBus Factory) {
	t.Run("RoutingByPattern", func(t *testing.T) { t.Parallel(); testRouting(t, newBus(t)) })
	t.Run("OrderingPrefetchOne", func(t *testing.T) { t.Parallel(); testOrdering(t, newBus(t)) })
	t.Run("RedeliveryAfterConsumerClose", func(t *testing.T) { t.Parallel(); testRedelivery(t, newBus(t)) })
	t.Run("ErrorRequeuesThenSucceeds", func(t *testing.T) { t.Parallel(); testRetryThenSuccess(t, newBus(t)) })
	t.Run("PoisonDeadLettered", func(t *testing.T) { t.Parallel(); testPoison(t, newBus(t)) })
	t.Run("PermanentDeadLetteredAtOnce", func(t *testing.T) { t.Parallel(); testPermanent(t, newBus(t)) })
	t.Run("MessageTTLDeadLetters", func(t *testing.T) { t.Parallel(); testTTL(t, newBus(t)) })
	t.Run("PublishFailures", func(t *testing.T) { t.Parallel(); testPublishFailures(t, newBus(t)) })
	t.Run("DeclareMismatch", func(t *testing.T) { t.Parallel(); testDeclareMismatch(t, newBus(t)) })
	t.Run("ExclusiveQueueDeletedOnClose", func(t *testing.T) { t.Parallel(); testExclusive(t, newBus(t)) })
	t.Run("ConcurrentPublishers", func(t *testing.T) { t.Parallel(); testConcurrentPublishers(t, newBus(t)) })
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	t.Cleanup(cancel)
	return ctx
}

// msg builds a test message whose payload is {"n": n}.
func msg(n int) bus.Message {
	return bus.Message{Type: "ContractTest", Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))}
}

func num(t *testing.T, d bus.Delivery) int {
	var p struct{ N int }
	require.NoError(t, json.Unmarshal(d.Payload, &p))
	return p.N
}

func consume(t *testing.T, b bus.Bus, q bus.QueueSpec, h bus.Handler) bus.Consumer {
	t.Helper()
	c, err := b.Consume(ctxT(t), q, h)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// recv returns the next delivery from ch or fails after wait.
func recv(t *testing.T, ch <-chan bus.Delivery) bus.Delivery {
	t.Helper()
	select {
	case d := <-ch:
		return d
	case <-time.After(wait):
		t.Fatal("timed out waiting for a delivery")
		return bus.Delivery{}
	}
}

// deadLetters polls the dead-letter queue until n messages were taken.
func deadLetters(t *testing.T, b bus.Bus, dlq string, n int) []bus.Delivery {
	t.Helper()
	var got []bus.Delivery
	require.Eventually(t, func() bool {
		ds, err := b.TakeDeadLetters(ctxT(t), dlq, n-len(got))
		require.NoError(t, err)
		got = append(got, ds...)
		return len(got) >= n
	}, wait, 20*time.Millisecond, "dead-letter queue %s: want %d messages", dlq, n)
	return got
}

func testRouting(t *testing.T, b bus.Bus) {
	ctx := ctxT(t)
	star := bus.QueueSpec{Name: "ct.routing.star", Exchange: bus.ExchangeExecutions, Bindings: []string{"ct.*.done"}}
	hash := bus.QueueSpec{Name: "ct.routing.hash", Exchange: bus.ExchangeExecutions, Bindings: []string{"ct.#"}}
	stars, hashes := make(chan bus.Delivery, 10), make(chan bus.Delivery, 10)
	consume(t, b, star, func(_ context.Context, d bus.Delivery) error { stars <- d; return nil })
	consume(t, b, hash, func(_ context.Context, d bus.Delivery) error { hashes <- d; return nil })

	in := bus.Message{Type: "Routed", CorrelationID: "corr-1", Headers: map[string]string{"trace_id": "abc"},
		Payload: json.RawMessage(`{"execution_id":42}`)}
	require.NoError(t, b.Publish(ctx, bus.ExchangeExecutions, "ct.a.done", in))
	require.NoError(t, b.Publish(ctx, bus.ExchangeExecutions, "ct.a.b.done", msg(2)))

	d := recv(t, stars)
	require.Equal(t, "Routed", d.Type)
	require.Equal(t, "corr-1", d.CorrelationID)
	require.Equal(t, map[string]string{"trace_id": "abc"}, d.Headers)
	require.JSONEq(t, `{"execution_id":42}`, string(d.Payload))
	require.NotEmpty(t, d.ID, "Publish must assign an ID")
	require.False(t, d.Timestamp.IsZero(), "Publish must assign a Timestamp")
	require.Equal(t, bus.ExchangeExecutions, d.Exchange)
	require.Equal(t, "ct.a.done", d.RoutingKey)
	require.Equal(t, 1, d.Attempt)
	require.False(t, d.Redelivered)

	first, second := recv(t, hashes), recv(t, hashes)
	require.Equal(t, d.ID, first.ID, "both queues get the same message")
	require.Equal(t, "ct.a.b.done", second.RoutingKey)
	require.Equal(t, 2, num(t, second))
	select {
	case extra := <-stars:
		t.Fatalf("ct.*.done must not match %q", extra.RoutingKey)
	case <-time.After(300 * time.Millisecond):
	}
}

func testOrdering(t *testing.T, b bus.Bus) {
	ctx := ctxT(t)
	q := bus.QueueSpec{Name: "ct.ordering", Exchange: bus.ExchangeEvents, Bindings: []string{"ct.order"}, Prefetch: 1}
	require.NoError(t, b.Declare(ctx, q))
	const n = 50
	for i := range n {
		require.NoError(t, b.Publish(ctx, bus.ExchangeEvents, "ct.order", msg(i)))
	}
	got := make(chan bus.Delivery, n)
	consume(t, b, q, func(_ context.Context, d bus.Delivery) error { got <- d; return nil })
	for i := range n {
		require.Equal(t, i, num(t, recv(t, got)), "delivery %d out of order", i)
	}
}

func testRedelivery(t *testing.T, b bus.Bus) {
	ctx := ctxT(t)
	q := bus.QueueSpec{Name: "ct.redelivery", Exchange: bus.ExchangeEvents, Bindings: []string{"ct.redeliver"}, Prefetch: 1}
	first := make(chan bus.Delivery, 1)
	c1 := consume(t, b, q, func(ctx context.Context, d bus.Delivery) error {
		first <- d
		<-ctx.Done() // simulate a worker that dies mid-message
		return ctx.Err()
	})
	require.NoError(t, b.Publish(ctx, bus.ExchangeEvents, "ct.redeliver", msg(7)))
	d1 := recv(t, first)
	require.Equal(t, 1, d1.Attempt)
	require.False(t, d1.Redelivered)
	require.NoError(t, c1.Close())

	second := make(chan bus.Delivery, 1)
	consume(t, b, q, func(_ context.Context, d bus.Delivery) error { second <- d; return nil })
	d2 := recv(t, second)
	require.Equal(t, d1.ID, d2.ID)
	require.Equal(t, 7, num(t, d2))
	require.Equal(t, 2, d2.Attempt)
	require.True(t, d2.Redelivered)
}

func testRetryThenSuccess(t *testing.T, b bus.Bus) {
	ctx := ctxT(t)
	q := bus.QueueSpec{Name: "ct.retry", Exchange: bus.ExchangeEvents, Bindings: []string{"ct.retry"}, Prefetch: 1, MaxDeliveries: 5}
	attempts := make(chan bus.Delivery, 10)
	consume(t, b, q, func(_ context.Context, d bus.Delivery) error {
		attempts <- d
		if d.Attempt < 3 {
			return fmt.Errorf("transient failure on attempt %d", d.Attempt)
		}
		return nil
	})
	require.NoError(t, b.Publish(ctx, bus.ExchangeEvents, "ct.retry", msg(1)))
	for want := 1; want <= 3; want++ {
		d := recv(t, attempts)
		require.Equal(t, want, d.Attempt)
		require.Equal(t, want > 1, d.Redelivered)
	}
	select {
	case d := <-attempts:
		t.Fatalf("acked message delivered again (attempt %d)", d.Attempt)
	case <-time.After(300 * time.Millisecond):
	}
	dl, err := b.TakeDeadLetters(ctx, bus.DeadLetterQueueOf(q), 10)
	require.NoError(t, err)
	require.Empty(t, dl)
}

func testPoison(t *testing.T, b bus.Bus) {
	ctx := ctxT(t)
	q := bus.QueueSpec{Name: "ct.poison", Exchange: bus.ExchangeEvents, Bindings: []string{"ct.poison"}, Prefetch: 1, MaxDeliveries: 3}
	var mu sync.Mutex
	var seen []int
	consume(t, b, q, func(_ context.Context, d bus.Delivery) error {
		mu.Lock()
		seen = append(seen, d.Attempt)
		mu.Unlock()
		return fmt.Errorf("always failing")
	})
	m := msg(9)
	m.ID = "poison-1"
	require.NoError(t, b.Publish(ctx, bus.ExchangeEvents, "ct.poison", m))
	dl := deadLetters(t, b, bus.DeadLetterQueueOf(q), 1)
	require.Equal(t, "poison-1", dl[0].ID)
	require.Equal(t, 9, num(t, dl[0]))
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []int{1, 2, 3}, seen, "exactly MaxDeliveries attempts")
}

func testPermanent(t *testing.T, b bus.Bus) {
	ctx := ctxT(t)
	q := bus.QueueSpec{Name: "ct.permanent", Exchange: bus.ExchangeEvents, Bindings: []string{"ct.permanent"}, Prefetch: 1, MaxDeliveries: 5}
	calls := make(chan bus.Delivery, 10)
	consume(t, b, q, func(_ context.Context, d bus.Delivery) error {
		calls <- d
		return bus.Permanent(fmt.Errorf("bad payload"))
	})
	require.NoError(t, b.Publish(ctx, bus.ExchangeEvents, "ct.permanent", msg(3)))
	require.Equal(t, 1, recv(t, calls).Attempt)
	dl := deadLetters(t, b, bus.DeadLetterQueueOf(q), 1)
	require.Equal(t, 3, num(t, dl[0]))
	require.Empty(t, calls, "a permanent failure must not be retried")
}

func testTTL(t *testing.T, b bus.Bus) {
	ctx := ctxT(t)
	q := bus.QueueSpec{Name: "ct.ttl", Exchange: bus.ExchangeExecutions, Bindings: []string{"ct.ttl"},
		MessageTTL: 200 * time.Millisecond, DeadLetterQueue: "ct.ttl.expired"}
	require.NoError(t, b.Declare(ctx, q))
	require.NoError(t, b.Publish(ctx, bus.ExchangeExecutions, "ct.ttl", msg(5)))
	dl := deadLetters(t, b, "ct.ttl.expired", 1)
	require.Equal(t, 5, num(t, dl[0]))
}

func testPublishFailures(t *testing.T, b bus.Bus) {
	ctx := ctxT(t)
	err := b.Publish(ctx, bus.ExchangeEvents, "ct.nobody.listens", msg(1))
	require.ErrorIs(t, err, bus.ErrUnroutable)
	err = b.Publish(ctx, "attune.nonexistent", "ct.x", msg(1))
	require.ErrorIs(t, err, bus.ErrUnknownExchange)
	err = b.Publish(ctx, bus.ExchangeEvents, "ct.x", bus.Message{Type: "Bad", Payload: json.RawMessage(`{not json`)})
	require.Error(t, err)

	// The bus must still work after refused publishes.
	q := bus.QueueSpec{Name: "ct.after.failures", Exchange: bus.ExchangeEvents, Bindings: []string{"ct.ok"}}
	require.NoError(t, b.Declare(ctx, q))
	require.NoError(t, b.Publish(ctx, bus.ExchangeEvents, "ct.ok", msg(1)))

	require.NoError(t, b.Close())
	require.ErrorIs(t, b.Publish(ctx, bus.ExchangeEvents, "ct.ok", msg(2)), bus.ErrClosed)
	require.Error(t, b.Ping(ctx))
}

func testDeclareMismatch(t *testing.T, b bus.Bus) {
	ctx := ctxT(t)
	q := bus.QueueSpec{Name: "ct.mismatch", Exchange: bus.ExchangeEvents, Bindings: []string{"ct.mismatch"}, MaxDeliveries: 3}
	require.NoError(t, b.Declare(ctx, q))
	require.NoError(t, b.Declare(ctx, q), "identical redeclare is fine")
	q.MaxDeliveries = 4
	require.ErrorIs(t, b.Declare(ctx, q), bus.ErrQueueMismatch)
	// The bus stays usable after the refused declare.
	require.NoError(t, b.Publish(ctx, bus.ExchangeEvents, "ct.mismatch", msg(1)))
	_, err := b.Consume(ctx, bus.QueueSpec{Name: "", Exchange: bus.ExchangeEvents, Bindings: []string{"x"}}, nil)
	require.ErrorIs(t, err, bus.ErrInvalidSpec)
}

func testExclusive(t *testing.T, b bus.Bus) {
	ctx := ctxT(t)
	q := bus.MetadataQueue("ct-replica")
	got := make(chan bus.Delivery, 1)
	c := consume(t, b, q, func(_ context.Context, d bus.Delivery) error { got <- d; return nil })
	key := bus.KeyMetadataChanged("action")
	require.NoError(t, b.Publish(ctx, bus.ExchangeMetadata, key, msg(1)))
	require.Equal(t, key, recv(t, got).RoutingKey)
	require.NoError(t, c.Close())
	require.ErrorIs(t, b.Publish(ctx, bus.ExchangeMetadata, key, msg(2)), bus.ErrUnroutable,
		"an exclusive queue is deleted with its consumer")
}

func testConcurrentPublishers(t *testing.T, b bus.Bus) {
	ctx := ctxT(t)
	q := bus.QueueSpec{Name: "ct.concurrent", Exchange: bus.ExchangeExecutions, Bindings: []string{"ct.concurrent"}, Prefetch: 10}
	const publishers, each = 8, 50
	got := make(chan bus.Delivery, publishers*each)
	consume(t, b, q, func(_ context.Context, d bus.Delivery) error { got <- d; return nil })
	var wg sync.WaitGroup
	errs := make(chan error, publishers*each)
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				errs <- b.Publish(ctx, bus.ExchangeExecutions, "ct.concurrent", msg(p*each+i))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	seen := map[int]bool{}
	for range publishers * each {
		n := num(t, recv(t, got))
		require.False(t, seen[n], "message %d delivered twice", n)
		seen[n] = true
	}
	require.Len(t, seen, publishers*each)
}
