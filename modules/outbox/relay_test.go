package outbox_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/bus/inproc"
	"github.com/attune-system/attune/modules/outbox"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
)

type setup struct {
	st    *store.Store
	bus   bus.Bus
	relay *outbox.Relay
}

func newSetup(t *testing.T, poll time.Duration) setup {
	st := storetest.NewStore(t)
	b, err := inproc.New(inproc.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	r := outbox.New(st, b, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, outbox.Options{PollInterval: poll})
	return setup{st: st, bus: b, relay: r}
}

func enqueue(t *testing.T, st *store.Store, key string, id int) {
	t.Helper()
	require.NoError(t, st.InTx(context.Background(), func(tx *store.Tx) error {
		_, err := tx.OutboxEnqueue(context.Background(), store.NewOutboxMessage{
			Exchange: bus.ExchangeExecutions, RoutingKey: key, MessageType: "Test",
			Payload: json.RawMessage(`{"id":` + jsonInt(id) + `}`),
		})
		return err
	}))
}

func jsonInt(i int) string { b, _ := json.Marshal(i); return string(b) }

type collector struct {
	mu   sync.Mutex
	seen []string
}

func (c *collector) handle(_ context.Context, d bus.Delivery) error {
	c.mu.Lock()
	c.seen = append(c.seen, string(d.Payload))
	c.mu.Unlock()
	return nil
}

func (c *collector) at(i int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[i]
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func TestCommittedMessagesAreRelayedAtOnce(t *testing.T) {
	t.Parallel()
	s := newSetup(t, time.Hour) // no polling: only the commit hook can wake the relay
	c := &collector{}
	_, err := s.bus.Consume(context.Background(), bus.QueueSpec{Name: "q", Exchange: bus.ExchangeExecutions, Bindings: []string{"test.#"}}, c.handle)
	require.NoError(t, err)
	require.NoError(t, s.relay.Start(context.Background()))
	t.Cleanup(func() { _ = s.relay.Stop(context.Background()) })
	for i := range 5 {
		enqueue(t, s.st, "test.one", i)
	}
	require.Eventually(t, func() bool { return c.count() == 5 }, 5*time.Second, 5*time.Millisecond)
	// The published rows are deleted off the publishing path, just after.
	require.Eventually(t, func() bool {
		n, err := s.st.OutboxCountPending(context.Background())
		require.NoError(t, err)
		return n == 0
	}, 5*time.Second, 5*time.Millisecond, "published rows left in the outbox")
}

func TestRolledBackMessagesAreNeverPublished(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 10*time.Millisecond)
	c := &collector{}
	_, err := s.bus.Consume(context.Background(), bus.QueueSpec{Name: "q", Exchange: bus.ExchangeExecutions, Bindings: []string{"#"}}, c.handle)
	require.NoError(t, err)
	require.NoError(t, s.relay.Start(context.Background()))
	t.Cleanup(func() { _ = s.relay.Stop(context.Background()) })
	err = s.st.InTx(context.Background(), func(tx *store.Tx) error {
		_, err := tx.OutboxEnqueue(context.Background(), store.NewOutboxMessage{
			Exchange: bus.ExchangeExecutions, RoutingKey: "x", MessageType: "T", Payload: json.RawMessage(`{}`)})
		require.NoError(t, err)
		return context.Canceled
	})
	require.ErrorIs(t, err, context.Canceled)
	enqueue(t, s.st, "after", 1)
	require.Eventually(t, func() bool { return c.count() == 1 }, 5*time.Second, 5*time.Millisecond)
	require.JSONEq(t, `{"id":1}`, c.seen[0])
}

func TestUnroutableMessagesWaitForAConsumer(t *testing.T) {
	t.Parallel()
	s := newSetup(t, 20*time.Millisecond)
	enqueue(t, s.st, "late.binding", 7)
	n, err := s.relay.RelayOnce(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n, "claimed but not publishable yet")
	pending, err := s.st.OutboxCountPending(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 1, pending, "kept for a later attempt")

	c := &collector{}
	_, err = s.bus.Consume(context.Background(), bus.QueueSpec{Name: "late", Exchange: bus.ExchangeExecutions, Bindings: []string{"late.#"}}, c.handle)
	require.NoError(t, err)
	require.NoError(t, s.relay.Start(context.Background()))
	t.Cleanup(func() { _ = s.relay.Stop(context.Background()) })
	require.Eventually(t, func() bool { return c.count() == 1 }, 10*time.Second, 10*time.Millisecond,
		"relayed after the failure backoff")
}

// A woken message's broker copy is held back for HoldWoken and published
// only if its row is still there; a consumer that handled the wake-up
// deleted it (store.OutboxConsumed) and no copy goes out. Other messages,
// and held copies at Stop, go at once.
func TestWokenCopiesAreHeldBackAndSkippedWhenConsumed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.NewStore(t)
	b, err := inproc.New(inproc.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	// Long enough for the three commits and the delete below on a loaded
	// 2-core machine.
	const hold = time.Second
	r := outbox.New(st, b, slog.New(slog.NewTextHandler(io.Discard, nil)), nil,
		outbox.Options{PollInterval: time.Hour, HoldWoken: hold})
	c := &collector{}
	_, err = b.Consume(ctx, bus.QueueSpec{Name: "q", Exchange: bus.ExchangeExecutions, Bindings: []string{"#"}}, c.handle)
	require.NoError(t, err)
	require.NoError(t, r.Start(ctx))
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = r.Stop(ctx)
		}
	})

	write := func(typ, payload string) int64 {
		t.Helper()
		var id int64
		require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error {
			m, err := tx.OutboxEnqueue(ctx, store.NewOutboxMessage{Exchange: bus.ExchangeExecutions, RoutingKey: "k",
				MessageType: typ, Payload: json.RawMessage(payload)})
			id = m.ID
			return err
		}))
		return id
	}
	start := time.Now()
	consumed := write("EventCreated", `{"event_id":1}`)
	write("ExecutionDispatch", `{"execution_id":2,"worker_id":3,"fence":0}`)
	write("ExecutionCompleted", `{"execution_id":4}`)
	require.NoError(t, st.OutboxConsumed(ctx, consumed))

	require.Eventually(t, func() bool { return c.count() == 1 }, 5*time.Second, 5*time.Millisecond)
	require.JSONEq(t, `{"execution_id":4}`, c.at(0), "a message without a wake-up goes at once")
	require.Eventually(t, func() bool { return c.count() == 2 }, 5*time.Second, 5*time.Millisecond)
	require.GreaterOrEqual(t, time.Since(start), hold, "the woken dispatch's copy was held back")
	require.JSONEq(t, `{"execution_id":2,"worker_id":3,"fence":0}`, c.at(1), "its row was still there")
	require.Never(t, func() bool { return c.count() > 2 }, hold, 20*time.Millisecond, "the consumed event's copy was published")
	require.Eventually(t, func() bool {
		n, err := st.OutboxCountPending(ctx)
		require.NoError(t, err)
		return n == 0
	}, 5*time.Second, 5*time.Millisecond)

	// Stop publishes what is still held rather than leaving it for another relay.
	write("EventCreated", `{"event_id":5}`)
	stopped = true
	require.NoError(t, r.Stop(ctx))
	require.Eventually(t, func() bool { return c.count() == 3 }, 5*time.Second, 5*time.Millisecond)
	require.JSONEq(t, `{"event_id":5}`, c.at(2))
}
