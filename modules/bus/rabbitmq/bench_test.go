package rabbitmq

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/bus/inproc"
)

// Publish→consume round trips with publisher confirms, prefetch 10 and
// benchPublishers concurrent publishers, for inproc, this package and raw
// amqp091-go on the same queue type, so their ratio can be compared:
//
//	go test -run '^$' -bench RoundTrip ./modules/bus/rabbitmq/
const benchPublishers = 16

var benchPayload = []byte(`{"execution_id":123456,"action_ref":"core.local"}`)

func BenchmarkRoundTrip(b *testing.B) {
	b.Run("inproc", func(b *testing.B) {
		ib, err := inproc.New(inproc.Options{})
		require.NoError(b, err)
		defer ib.Close()
		benchBus(b, ib)
	})
	b.Run("rabbitmq", func(b *testing.B) { benchBus(b, newTestBus(b)) })
	b.Run("raw-amqp091", benchRaw)
}

func benchBus(b *testing.B, bb bus.Bus) {
	ctx := context.Background()
	q := bus.QueueSpec{Name: "bench", Exchange: bus.ExchangeExecutions, Bindings: []string{"bench"}, Prefetch: 10}
	got := make(chan struct{}, 1024)
	c, err := bb.Consume(ctx, q, func(context.Context, bus.Delivery) error { got <- struct{}{}; return nil })
	require.NoError(b, err)
	defer c.Close()
	roundTrip(b, got, func() error {
		return bb.Publish(ctx, bus.ExchangeExecutions, "bench", bus.Message{Type: "Bench", Payload: benchPayload})
	})
}

func benchRaw(b *testing.B) {
	conn, err := amqp.Dial(testURL())
	require.NoError(b, err)
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(b, err)
	name := "rawbench." + uuid.NewString()[:8]
	_, err = ch.QueueDeclare(name, true, false, false, false, amqp.Table{"x-queue-type": "quorum"})
	require.NoError(b, err)
	defer func() {
		dch, err := conn.Channel()
		require.NoError(b, err)
		_, err = dch.QueueDelete(name, false, false, false)
		require.NoError(b, err)
	}()
	require.NoError(b, ch.Qos(10, 0, false))
	deliveries, err := ch.Consume(name, "", false, false, false, false, nil)
	require.NoError(b, err)
	got := make(chan struct{}, 1024)
	go func() {
		for d := range deliveries {
			_ = d.Ack(false)
			got <- struct{}{}
		}
	}()
	pch, err := conn.Channel()
	require.NoError(b, err)
	require.NoError(b, pch.Confirm(false))
	body, err := bus.Encode(bus.Message{ID: uuid.NewString(), Type: "Bench", Timestamp: time.Now(), Payload: benchPayload})
	require.NoError(b, err)
	roundTrip(b, got, func() error {
		dc, err := pch.PublishWithDeferredConfirm("", name, true, false, amqp.Publishing{
			ContentType: "application/json", DeliveryMode: amqp.Persistent, MessageId: uuid.NewString(), Body: body})
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = dc.WaitContext(ctx)
		return err
	})
}

// roundTrip publishes b.N messages from benchPublishers goroutines and waits
// until all were consumed.
func roundTrip(b *testing.B, got <-chan struct{}, publish func() error) {
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchPublishers)
	for range benchPublishers {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := publish(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := 0; i < b.N; i++ {
		select {
		case <-got:
		case err := <-errs:
			b.Fatal(err)
		case <-time.After(30 * time.Second):
			b.Fatalf("only %d of %d messages consumed", i, b.N)
		}
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
