package worker_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/pipeline"
)

// BenchmarkDispatchToCompleted measures dispatch → running → completed of a
// trivial shell action through the worker alone (in-process bus, real PG,
// real subprocess), ending when ExecutionCompleted is published.
func BenchmarkDispatchToCompleted(b *testing.B) {
	e := newEnv(b, envOpts{})
	done := make(chan int64, 16)
	c, err := e.bus.Consume(context.Background(), bus.SpecExecutionComplete, func(_ context.Context, d bus.Delivery) error {
		var m pipeline.ExecutionCompleted
		_ = json.Unmarshal(d.Payload, &m)
		done <- m.ExecutionID
		return nil
	})
	require.NoError(b, err)
	b.Cleanup(func() { _ = c.Close() })
	act := e.action("noop", "#!/bin/sh\nexit 0\n", nil)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		ex := e.schedule(act, nil, nil)
		b.StartTimer()
		e.dispatch(ex)
		select {
		case id := <-done:
			require.Equal(b, ex.ID, id)
		case <-time.After(10 * time.Second):
			b.Fatal("no completion")
		}
	}
}
