package executor_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
)

// Exactly one enforcement (and one execution) per (event, rule), however
// often EventCreated is delivered and however many executors consume it.
func TestEnforcementExactlyOncePerEventRule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		rabbit bool
	}{{"inproc", false}, {"rabbitmq", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{rabbit: tc.rabbit, executors: 2})
			f := h.fixture("dup", nil)
			h.worker("w1", "shell")
			r1 := h.rule(f, "r1", `{}`, `{"url":"{{ event.payload.url }}"}`)
			r2 := h.rule(f, "r2", `{}`, `{"url":"{{ pack.config.base }}/x"}`)
			ev := h.ingest(f, `{"url":"https://a.test"}`)

			// Redeliver EventCreated many times, concurrently, straight onto the bus.
			payload, _ := json.Marshal(pipeline.EventCreated{EventID: ev.ID, TriggerRef: ev.TriggerRef})
			var wg sync.WaitGroup
			for range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					require.NoError(t, h.bus.Publish(h.ctx, bus.ExchangeEvents, bus.KeyEventCreated,
						bus.Message{Type: pipeline.TypeEventCreated, Payload: payload}))
				}()
			}
			// Both executors also evaluate directly, racing the consumers.
			for _, m := range h.execs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := m.ProcessEvent(h.ctx, ev.ID)
					require.NoError(t, err)
				}()
			}
			wg.Wait()
			h.waitFor("all deliveries consumed", func() bool {
				return h.count(`SELECT count(*) FROM outbox`) == 0
			})
			for _, r := range []int64{r1.ID, r2.ID} {
				require.Equal(t, 1, h.count(`SELECT count(*) FROM enforcement WHERE event = $1 AND rule = $2`, ev.ID, r))
				require.Equal(t, 1, h.count(`SELECT count(*) FROM execution x JOIN enforcement e ON e.id = x.enforcement
					WHERE e.event = $1 AND e.rule = $2`, ev.ID, r))
				require.Equal(t, 1, h.count(`SELECT count(*) FROM enforcement WHERE event = $1 AND rule = $2 AND status = 'processed'`, ev.ID, r))
			}
			var urls []string
			require.NoError(t, h.st.Pool().QueryRow(h.ctx, `SELECT array_agg(config->>'url' ORDER BY config->>'url') FROM execution`).Scan(&urls))
			require.Equal(t, []string{"https://a.test", "https://example.test/x"}, urls, "templates resolved from event and pack config")
		})
	}
}

// T2.5: a rule with a condition fires for the matching event only; both
// events are stored.
func TestRuleConditions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	f := h.fixture("cond", nil)
	w := h.worker("w1", "shell")
	r := h.rule(f, "critical_only", `{"expression":"event.payload.severity == \"critical\""}`, `{"url":"https://x.test/{{ event.payload.severity }}"}`)
	info := h.ingest(f, `{"severity":"info"}`)
	crit := h.ingest(f, `{"severity":"critical"}`)

	d := h.nextDispatch(w)
	ex := h.execution(d.ExecutionID)
	require.Equal(t, pipeline.StatusScheduled, ex.Status)
	require.JSONEq(t, `{"url":"https://x.test/critical","method":"GET"}`, string(ex.Config), "params resolved, defaults applied")
	enf, err := h.st.EnforcementGet(h.ctx, *ex.Enforcement)
	require.NoError(t, err)
	require.Equal(t, crit.ID, *enf.Event)
	require.Equal(t, r.ID, *enf.Rule)
	// The info event was evaluated (its message consumed) and fired nothing.
	h.waitFor("info event evaluated", func() bool {
		return h.count(`SELECT count(*) FROM outbox`) == 0
	})
	require.Equal(t, 0, h.count(`SELECT count(*) FROM enforcement WHERE event = $1`, info.ID))
	require.Equal(t, 2, h.count(`SELECT count(*) FROM event WHERE trigger_ref = $1`, f.trigger.Ref))
	h.noDispatch(w, 200e6)
}

// T3.4: one event, three rules → three enforcements, three executions.
// T3.5: each rule applies its own criteria.
func TestOneEventManyRules(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	f := h.fixture("multi", nil)
	w := h.worker("w1", "shell")
	h.rule(f, "a", `{}`, `{"url":"a"}`)
	h.rule(f, "b", `[{"field":"payload.n","operator":"gt","value":5}]`, `{"url":"b"}`)
	h.rule(f, "c", `{"expression":"event.payload.n > 1"}`, `{"url":"c"}`)
	h.rule(f, "d", `{"expression":"event.payload.n > 100"}`, `{"url":"d"}`)

	ev := h.ingest(f, `{"n":10}`)
	got := map[string]bool{}
	for range 3 {
		d := h.nextDispatch(w)
		var cfg map[string]any
		require.NoError(t, json.Unmarshal(h.execution(d.ExecutionID).Config, &cfg))
		got[cfg["url"].(string)] = true
	}
	require.Equal(t, map[string]bool{"a": true, "b": true, "c": true}, got)
	require.Equal(t, 3, h.count(`SELECT count(*) FROM enforcement WHERE event = $1`, ev.ID))
	require.Equal(t, 3, h.count(`SELECT count(*) FROM execution`))

	ev2 := h.ingest(f, `{"n":3}`) // a and c only
	for range 2 {
		h.nextDispatch(w)
	}
	var refs []string
	require.NoError(t, h.st.Pool().QueryRow(h.ctx,
		`SELECT array_agg(rule_ref ORDER BY rule_ref) FROM enforcement WHERE event = $1`, ev2.ID).Scan(&refs))
	require.Equal(t, []string{"multi.a", "multi.c"}, refs)
	h.noDispatch(w, 200e6)
}

// T3.13: a missing required parameter fails the execution before dispatch
// with the exact upstream message, and still announces completion.
func TestMissingRequiredParamFailsBeforeDispatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	f := h.fixture("miss", nil)
	w := h.worker("w1", "shell")
	completed := h.tap(bus.ExchangeExecutions, bus.KeyExecutionCompleted)
	requested := h.tap(bus.ExchangeExecutions, bus.KeyExecutionRequested)

	ex := h.request(f.action.Ref, map[string]any{"method": "POST"})
	require.Equal(t, pipeline.StatusFailed, ex.Status)
	var res map[string]any
	require.NoError(t, json.Unmarshal(ex.Result, &res))
	require.Equal(t, map[string]any{"error": "Missing required parameter: url", "succeeded": false}, res)
	require.Nil(t, ex.Worker)
	h.published(completed, ex.ID)
	select {
	case p := <-requested:
		t.Fatalf("a failed execution must not be requested: %s", p)
	case <-time.After(200 * time.Millisecond):
	}

	// Via a rule whose template leaves url out: same outcome, enforcement processed.
	h.rule(f, "nourl", `{}`, `{"method":"GET"}`)
	ev := h.ingest(f, `{}`)
	h.waitFor("enforcement processed", func() bool {
		return h.count(`SELECT count(*) FROM enforcement WHERE event = $1 AND status = 'processed'`, ev.ID) == 1
	})
	require.Equal(t, 1, h.count(`SELECT count(*) FROM execution x JOIN enforcement e ON e.id = x.enforcement
		WHERE e.event = $1 AND x.status = 'failed' AND x.result->>'error' = 'Missing required parameter: url'`, ev.ID))
	h.noDispatch(w, 200e6)
}

// A template that does not resolve fails the execution with the template
// error; a rule whose action is gone gets a disabled enforcement.
func TestTemplateErrorAndMissingAction(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	f := h.fixture("tmpl", nil)
	h.rule(f, "bad", `{}`, `{"url":"{{ env.HOME }}"}`)
	ev := h.ingest(f, `{}`)
	h.waitFor("bad template processed", func() bool {
		return h.count(`SELECT count(*) FROM enforcement WHERE event = $1 AND status = 'processed'`, ev.ID) == 1
	})
	var msg string
	require.NoError(t, h.st.Pool().QueryRow(h.ctx, `SELECT result->>'error' FROM execution WHERE status = 'failed'`).Scan(&msg))
	require.Contains(t, msg, "env")

	// A rule loaded just before its action was deleted (the race the event
	// processor can lose) gets a disabled enforcement and no execution.
	g := h.fixture("gone", nil)
	r := h.rule(g, "orphan", `{}`, `{"url":"x"}`)
	ev2, _, err := h.st.EventInsert(h.ctx, store.NewEvent{TriggerRef: g.trigger.Ref, Payload: json.RawMessage(`{}`)})
	require.NoError(t, err)
	_, err = h.st.ActionDelete(h.ctx, g.action.ID)
	require.NoError(t, err)
	evc, err := pipeline.EventContextOf(ev2)
	require.NoError(t, err)
	var res pipeline.FireResult
	require.NoError(t, h.st.InTx(h.ctx, func(tx *store.Tx) error {
		res, err = pipeline.FireRule(h.ctx, tx, ev2, evc, r, nil)
		return err
	}))
	require.True(t, res.Created)
	require.Nil(t, res.Execution)
	require.Equal(t, pipeline.EnforcementStatusDisabled, res.Enforcement.Status)
	require.NotNil(t, res.Enforcement.ResolvedAt)
	require.Equal(t, 0, h.count(`SELECT count(*) FROM execution WHERE action_ref = $1`, g.action.Ref))

	// An enforcement left `created` by another producer is processed by the
	// enforcement processor when its EnforcementCreated arrives.
	ev3, _, err := h.st.EventInsert(h.ctx, store.NewEvent{TriggerRef: f.trigger.Ref, Payload: json.RawMessage(`{}`)})
	require.NoError(t, err)
	ok := h.rule(f, "ok", `{"expression":"false"}`, `{}`)
	enf, _, err := h.st.EnforcementInsert(h.ctx, store.NewEnforcement{Rule: &ok.ID, RuleRef: ok.Ref, TriggerRef: f.trigger.Ref,
		Event: &ev3.ID, Config: json.RawMessage(`{"url":"https://late.test"}`)})
	require.NoError(t, err)
	payload, _ := json.Marshal(pipeline.EnforcementCreated{EnforcementID: enf.ID, RuleRef: ok.Ref, EventID: ev3.ID})
	require.NoError(t, h.bus.Publish(h.ctx, bus.ExchangeExecutions, bus.KeyEnforcementCreated,
		bus.Message{Type: pipeline.TypeEnforcementCreated, Payload: payload}))
	h.waitFor("late enforcement processed", func() bool {
		return h.count(`SELECT count(*) FROM execution WHERE enforcement = $1 AND config->>'url' = 'https://late.test'`, enf.ID) == 1
	})
	require.Equal(t, pipeline.EnforcementStatusProcessed, must(h.st.EnforcementGet(h.ctx, enf.ID)).Status)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// The common firing is written by one statement: enforcement processed,
// execution scheduled on the picked worker, and a dispatch that names the
// execution, its fence and the enforcement's rule and trigger.
func TestFiringDispatchesScheduledExecution(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	f := h.fixture("fast", nil)
	w := h.worker("w1", "shell")
	r := h.rule(f, "r", `{}`, `{"url":"{{ event.payload.url }}"}`)
	ev := h.ingest(f, `{"url":"https://a.test"}`)
	d := h.nextDispatch(w)
	ex := h.execution(d.ExecutionID)
	require.Equal(t, pipeline.StatusScheduled, ex.Status)
	require.Equal(t, w.ID, *ex.Worker)
	require.Equal(t, ex.Fence, d.Fence)
	require.Equal(t, w.ID, d.WorkerID)
	require.Equal(t, f.action.Ref, d.ActionRef)
	require.Equal(t, r.Ref, d.RuleRef)
	require.Equal(t, f.trigger.Ref, d.TriggerRef)
	require.JSONEq(t, `{"url":"https://a.test","method":"GET"}`, string(ex.Config), "schema defaults applied")
	var status, config string
	require.NoError(t, h.st.Pool().QueryRow(h.ctx, `SELECT status::text, config::text FROM enforcement WHERE id = $1 AND event = $2`,
		*ex.Enforcement, ev.ID).Scan(&status, &config))
	require.Equal(t, pipeline.EnforcementStatusProcessed, status)
	require.JSONEq(t, `{"url":"https://a.test"}`, config, "the enforcement keeps the resolved parameters")
	require.Equal(t, int32(0), ex.Attempt)
	var system *int64
	require.NoError(t, h.st.Pool().QueryRow(h.ctx, `SELECT (SELECT id FROM identity WHERE login = 'system')`).Scan(&system))
	require.Equal(t, system, ex.Executor, "a rule without an owner runs as system (when there is one)")
}

// An EventCreated carrying a snapshot is evaluated from it, without reading
// the event back. (Events are immutable, so the two copies never differ in
// practice; here they do only to show which one was used.)
func TestEventSnapshotEvaluatedWithoutReadBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	f := h.fixture("snap", nil)
	w := h.worker("w1", "shell")
	h.rule(f, "r", `{}`, `{"url":"{{ event.payload.url }}"}`)
	ev, _, err := h.st.EventInsert(h.ctx, store.NewEvent{Trigger: &f.trigger.ID, TriggerRef: f.trigger.Ref,
		Payload: json.RawMessage(`{"url":"https://stored.test"}`)})
	require.NoError(t, err)
	var version int64
	require.NoError(t, h.st.Pool().QueryRow(h.ctx, `SELECT version FROM metadata_version`).Scan(&version))
	payload, _ := json.Marshal(pipeline.EventCreated{EventID: ev.ID, TriggerID: &f.trigger.ID, TriggerRef: f.trigger.Ref,
		Snapshot: &pipeline.EventSnapshot{Payload: json.RawMessage(`{"url":"https://snapshot.test"}`), Created: ev.Created,
			MetadataVersion: version}})
	require.NoError(t, h.bus.Publish(h.ctx, bus.ExchangeEvents, bus.KeyEventCreated,
		bus.Message{Type: pipeline.TypeEventCreated, Payload: payload}))
	d := h.nextDispatch(w)
	var url string
	require.NoError(t, h.st.Pool().QueryRow(h.ctx, `SELECT config->>'url' FROM execution WHERE id = $1`, d.ExecutionID).Scan(&url))
	require.Equal(t, "https://snapshot.test", url)
}
