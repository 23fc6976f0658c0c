package executor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/bus/inproc"
	"github.com/attune-system/attune/modules/executor"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
)

// wakeHarness runs two executors that listen for event wake-ups, on a
// store whose sessions send them and a bus no relay feeds: an event reaches
// the executors only through its wake-up until the test publishes its
// broker copy itself.
type wakeHarness struct {
	*harness
	plain *store.Store // a session without wake-ups
	regs  []*prometheus.Registry
}

func newWakeHarness(t *testing.T) *wakeHarness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dsn := storetest.NewDatabase(t)
	open := func(wake bool) *store.Store {
		s, err := store.Open(ctx, dsn, store.PoolConfig{MaxConns: 8, WakeWorkers: wake})
		require.NoError(t, err)
		t.Cleanup(s.Close)
		return s
	}
	b, err := inproc.New(inproc.Options{Prefix: "wake."})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	for _, q := range bus.FixedQueues() {
		require.NoError(t, b.Declare(ctx, q))
	}
	h := &wakeHarness{harness: &harness{t: t, ctx: ctx, st: open(true), bus: b, log: testLogger(),
		dispatches: map[int64]chan pipeline.ExecutionDispatch{}, cancels: map[int64]chan pipeline.ExecutionCancel{}},
		plain: open(false)}
	h.cfg = executor.Defaults()
	h.cfg.ReaperInterval = time.Hour
	for range 2 {
		reg := prometheus.NewRegistry()
		m, err := executor.New(executor.Deps{Config: h.cfg, Log: h.log, Store: h.st, Bus: b, Metrics: reg, Wake: true})
		require.NoError(t, err)
		require.NoError(t, m.Start(ctx))
		t.Cleanup(func() { _ = m.Stop(context.Background()) })
		h.execs, h.regs = append(h.execs, m), append(h.regs, reg)
	}
	// Both executors know they are two (the share is re-read every 2 s).
	require.Eventually(t, func() bool {
		for _, m := range h.execs {
			if _, n, ok := m.WakeShare(); !ok || n != 2 {
				return false
			}
		}
		return true
	}, 15*time.Second, 20*time.Millisecond)
	return h
}

// counter sums a metric of both executors.
func (h *wakeHarness) counter(name string, labels ...string) float64 {
	total := 0.0
	for _, reg := range h.regs {
		mfs, err := reg.Gather()
		require.NoError(h.t, err)
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				match := true
				for i := 0; i+1 < len(labels); i += 2 {
					found := false
					for _, lp := range m.GetLabel() {
						found = found || (lp.GetName() == labels[i] && lp.GetValue() == labels[i+1])
					}
					match = match && found
				}
				if match {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

// fired counts the event's enforcements and executions.
func (h *wakeHarness) fired(event int64) (enf, exec int) {
	h.t.Helper()
	require.NoError(h.t, h.st.Pool().QueryRow(h.ctx, `SELECT count(*) FROM enforcement WHERE event = $1`, event).Scan(&enf))
	require.NoError(h.t, h.st.Pool().QueryRow(h.ctx,
		`SELECT count(*) FROM execution x JOIN enforcement f ON f.id = x.enforcement WHERE f.event = $1`, event).Scan(&exec))
	return enf, exec
}

// brokerCopies publishes each event's EventCreated, as the relay would: a
// copy that got through before its consumer deleted the outbox row, or
// whose wake-up was lost.
func (h *wakeHarness) brokerCopies(events []int64) {
	h.t.Helper()
	for _, id := range events {
		msg := pipeline.EventCreated{EventID: id}
		require.NoError(h.t, h.st.Pool().QueryRow(h.ctx, `SELECT trigger, trigger_ref FROM event WHERE id = $1`, id).
			Scan(&msg.TriggerID, &msg.TriggerRef))
		payload, err := json.Marshal(msg)
		require.NoError(h.t, err)
		require.NoError(h.t, h.bus.Publish(h.ctx, bus.ExchangeEvents, bus.KeyEventCreated,
			bus.Message{Type: pipeline.TypeEventCreated, Payload: payload}))
	}
}

// heldCopies counts the events' EventCreated rows still in the outbox.
func (h *wakeHarness) heldCopies(events []int64) int {
	h.t.Helper()
	var n int
	require.NoError(h.t, h.st.Pool().QueryRow(h.ctx, `SELECT count(*) FROM outbox
		WHERE message_type = 'EventCreated' AND (payload->>'event_id')::bigint = ANY($1)`, events).Scan(&n))
	return n
}

// Over a broker, an event is fired from its wake-up alone, by one of the
// executors, which then deletes its outbox row so that the relay, holding
// the broker copy back, publishes none. A copy that still gets through
// fires nothing again and reaches no rule evaluation that would write: the
// executor that was woken skips its copy, the other hears the firing
// announced and acks.
func TestEventWakeUpFiresOnceAheadOfBrokerCopy(t *testing.T) {
	t.Parallel()
	h := newWakeHarness(t)
	f := h.fixture("wake", nil)
	h.rule(f, "r", `{}`, `{"url":"{{ event.payload.u }}"}`)
	h.worker("w1", "shell")
	_, err := h.plain.Pool().Exec(h.ctx, `UPDATE trigger SET webhook_enabled = true, webhook_key = 'wh_' || md5('wake') WHERE id = $1`, f.trigger.ID)
	require.NoError(t, err)
	accepted := int32(202)
	var key string
	require.NoError(t, h.plain.Pool().QueryRow(h.ctx, `SELECT webhook_key FROM trigger WHERE id = $1`, f.trigger.ID).Scan(&key))

	var events []int64
	for i := range 6 {
		ne := store.NewEvent{Trigger: &f.trigger.ID, TriggerRef: f.trigger.Ref, Payload: json.RawMessage(fmt.Sprintf(`{"u":"https://x.test/%d"}`, i))}
		var ev store.Event
		var err error
		if i%2 == 0 { // the webhook statement: the message carries a snapshot
			src := "webhook"
			ne.SourceRef = &src
			ev, _, err = pipeline.IngestWebhookEvent(h.ctx, h.st, ne, store.WebhookLogEntry{TriggerID: f.trigger.ID, TriggerRef: f.trigger.Ref, WebhookKey: key, StatusCode: &accepted})
		} else { // a transaction: the executor reads the event
			ev, _, err = pipeline.IngestEvent(h.ctx, h.st, ne)
		}
		require.NoError(t, err)
		events = append(events, ev.ID)
	}
	for _, id := range events {
		require.Eventually(t, func() bool { e, x := h.fired(id); return e == 1 && x == 1 }, 10*time.Second, 10*time.Millisecond,
			"event %d was not fired from its wake-up", id)
	}
	// The counter moves just after the firing commits.
	require.Eventually(t, func() bool {
		return h.counter("attune_executor_events_evaluated_total", "path", "wake-up") == float64(len(events))
	}, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return h.heldCopies(events) == 0 }, 10*time.Second, 10*time.Millisecond,
		"events evaluated from their wake-ups left their outbox rows for the relay to publish")

	h.brokerCopies(events)
	require.Eventually(t, func() bool {
		return h.counter("attune_executor_event_copies_skipped_total")+h.counter("attune_executor_firings_hinted_total") == float64(len(events))
	}, 10*time.Second, 10*time.Millisecond)
	for _, id := range events {
		e, x := h.fired(id)
		require.Equal(t, 1, e)
		require.Equal(t, 1, x)
	}
}

// A wake-up that never came (the event was written by a session without
// them, as while a listener is down) leaves the event to its broker copy,
// which fires it once whichever executor receives it — after waiting out
// the announcement it cannot hear, when the event was the other's to take.
func TestEventWithoutWakeUpFiresFromBrokerCopy(t *testing.T) {
	t.Parallel()
	h := newWakeHarness(t)
	f := h.fixture("nowake", nil)
	h.rule(f, "r", `{}`, `{"url":"https://x.test"}`)
	h.worker("w1", "shell")

	var events []int64
	for range 4 {
		ev, _, err := pipeline.IngestEvent(h.ctx, h.plain, store.NewEvent{Trigger: &f.trigger.ID, TriggerRef: f.trigger.Ref, Payload: json.RawMessage(`{}`)})
		require.NoError(t, err)
		events = append(events, ev.ID)
	}
	require.Never(t, func() bool { e, _ := h.fired(events[0]); return e > 0 }, 300*time.Millisecond, 20*time.Millisecond,
		"fired without a wake-up or a broker copy")
	h.brokerCopies(events)
	for _, id := range events {
		require.Eventually(t, func() bool { e, x := h.fired(id); return e == 1 && x == 1 }, 10*time.Second, 10*time.Millisecond)
	}
	require.Eventually(t, func() bool {
		return h.counter("attune_executor_events_evaluated_total", "path", "broker") == float64(len(events))
	}, 10*time.Second, 10*time.Millisecond)
	require.Zero(t, h.counter("attune_executor_firings_hinted_total"))
}

// A head start that fails hands the event back to its broker copy, which
// fires it once, whichever executor receives it.
func TestFailedWakeUpLeavesEventToBrokerCopy(t *testing.T) {
	t.Parallel()
	h := newWakeHarness(t)
	f := h.fixture("wakefail", nil)
	h.rule(f, "r", `{}`, `{"url":"https://x.test"}`)
	h.worker("w1", "shell")
	// The first enforcement written fails (a sequence, so the failure
	// itself is not rolled back); later ones succeed.
	_, err := h.plain.Pool().Exec(h.ctx, `
CREATE SEQUENCE test_fail_once;
CREATE FUNCTION test_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF nextval('test_fail_once') = 1 THEN
        RAISE EXCEPTION 'injected failure';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER test_fail_once BEFORE INSERT ON enforcement FOR EACH ROW EXECUTE FUNCTION test_fail_once();`)
	require.NoError(t, err)

	ev, _, err := pipeline.IngestEvent(h.ctx, h.st, store.NewEvent{Trigger: &f.trigger.ID, TriggerRef: f.trigger.Ref, Payload: json.RawMessage(`{}`)})
	require.NoError(t, err)
	require.Eventually(t, func() bool { // nextval ran once: the head start tried and failed
		var tried bool
		err := h.plain.Pool().QueryRow(h.ctx, `SELECT is_called FROM test_fail_once`).Scan(&tried)
		return err == nil && tried
	}, 10*time.Second, 10*time.Millisecond, "the wake-up was not evaluated")
	e, _ := h.fired(ev.ID)
	require.Zero(t, e, "the failed head start left an enforcement")
	require.Zero(t, h.counter("attune_executor_events_evaluated_total", "path", "wake-up"))
	require.Never(t, func() bool { return h.heldCopies([]int64{ev.ID}) == 0 }, 300*time.Millisecond, 20*time.Millisecond,
		"the failed head start deleted the event's outbox row: its broker copy would never be published")

	h.brokerCopies([]int64{ev.ID})
	require.Eventually(t, func() bool { e, x := h.fired(ev.ID); return e == 1 && x == 1 }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return h.counter("attune_executor_events_evaluated_total", "path", "broker") == 1 },
		10*time.Second, 10*time.Millisecond)
}
