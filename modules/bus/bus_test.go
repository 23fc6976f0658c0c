package bus_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/bus"
)

func TestTopicMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pattern, key string
		want         bool
	}{
		{"a.b", "a.b", true},
		{"a.b", "a.c", false},
		{"a.*", "a.b", true},
		{"a.*", "a.b.c", false},
		{"a.*", "a", false},
		{"a.#", "a", true},
		{"a.#", "a.b.c", true},
		{"#", "anything.at.all", true},
		{"#.c", "a.b.c", true},
		{"#.c", "c", true},
		{"a.#.c", "a.c", true},
		{"a.#.c", "a.x.y.c", true},
		{"a.#.c", "a.x.y.d", false},
		{"*.b.#", "a.b", true},
		{"enforcement.#", "enforcement.created", true},
		{"metadata.*.changed", "metadata.action.changed", true},
		{"metadata.*.changed", "metadata.action.x.changed", false},
	}
	for _, c := range cases {
		require.Equal(t, c.want, bus.TopicMatch(c.pattern, c.key), "%q vs %q", c.pattern, c.key)
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	transient := errors.New("db timeout")
	require.Equal(t, bus.Ack, bus.Decide(nil, 5, 5))
	require.Equal(t, bus.Requeue, bus.Decide(transient, 1, 5))
	require.Equal(t, bus.DeadLetter, bus.Decide(transient, 5, 5))
	require.Equal(t, bus.DeadLetter, bus.Decide(bus.Permanent(transient), 1, 5))
	require.Equal(t, bus.DeadLetter, bus.Decide(fmt.Errorf("wrapped: %w", bus.Permanent(nil)), 1, 5))
	require.ErrorIs(t, bus.Permanent(transient), transient, "the cause stays reachable")
}

func TestEnvelopeRoundTripAndUpstreamHeaders(t *testing.T) {
	t.Parallel()
	m, err := bus.Prepare(bus.Message{Type: "ExecutionRequested", CorrelationID: "c1",
		Headers: map[string]string{"source_service": "api"}, Payload: json.RawMessage(`{"execution_id":1}`)})
	require.NoError(t, err)
	body, err := bus.Encode(m)
	require.NoError(t, err)
	got, err := bus.Decode(body)
	require.NoError(t, err)
	require.Equal(t, m.ID, got.ID)
	require.Equal(t, m.Headers, got.Headers)
	require.True(t, m.Timestamp.Equal(got.Timestamp))
	require.JSONEq(t, `{"execution_id":1}`, string(got.Payload))
	var raw map[string]any
	require.NoError(t, json.Unmarshal(body, &raw))
	require.Equal(t, "1.0", raw["version"])
	require.Equal(t, "ExecutionRequested", raw["message_type"])

	// The upstream envelope of spec §8, with non-string headers.
	up := `{"message_id":"u1","correlation_id":"c","message_type":"ExecutionRequested","version":"1.0",
	 "timestamp":"2026-01-02T03:04:05Z","headers":{"retry_count":0,"source_service":"api-service","trace_id":null},"payload":{}}`
	got, err = bus.Decode([]byte(up))
	require.NoError(t, err)
	require.Equal(t, map[string]string{"retry_count": "0", "source_service": "api-service"}, got.Headers)
	require.Equal(t, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), got.Timestamp.UTC())

	_, err = bus.Decode([]byte(`{"payload":{}}`))
	require.Error(t, err, "message_id and message_type are required")
	_, err = bus.Prepare(bus.Message{Type: "X", Payload: json.RawMessage(`{`)})
	require.ErrorContains(t, err, "Payload")
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	q, err := bus.Normalize(bus.QueueSpec{Name: "q", Exchange: bus.ExchangeEvents, Bindings: []string{"a.#"}}, "")
	require.NoError(t, err)
	require.Equal(t, bus.DefaultPrefetch, q.Prefetch)
	require.Equal(t, bus.DefaultMaxDeliveries, q.MaxDeliveries)
	require.Equal(t, "q.dlq", bus.DeadLetterQueueOf(q))

	for field, spec := range map[string]bus.QueueSpec{
		"Name":          {Exchange: bus.ExchangeEvents, Bindings: []string{"a"}},
		"Exchange":      {Name: "q", Exchange: "nope", Bindings: []string{"a"}},
		"Bindings":      {Name: "q", Exchange: bus.ExchangeEvents},
		"Prefetch":      {Name: "q", Exchange: bus.ExchangeEvents, Bindings: []string{"a"}, Prefetch: -1},
		"MaxDeliveries": {Name: "q", Exchange: bus.ExchangeEvents, Bindings: []string{"a"}, MaxDeliveries: -1},
	} {
		_, err := bus.Normalize(spec, "")
		require.ErrorIs(t, err, bus.ErrInvalidSpec, field)
		require.ErrorContains(t, err, field)
	}
}

func TestTopologyIsValid(t *testing.T) {
	t.Parallel()
	specs := bus.FixedQueues()
	e, p, c, pt := bus.WorkerQueues("7")
	specs = append(specs, e, p, c, pt, bus.MetadataQueue("replica-1"))
	for _, s := range specs {
		_, err := bus.Normalize(s, "t12345678.")
		require.NoError(t, err, s.Name)
	}
	require.Equal(t, bus.QueueDeadLetters, bus.DeadLetterQueueOf(e), "expired dispatches reach the DeadLetterHandler")
	require.Equal(t, "execution.dispatch.worker.7", e.Bindings[0])
	require.Empty(t, bus.DeadLetterQueueOf(bus.SpecDeadLetters))
}
