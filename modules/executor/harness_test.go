package executor_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/bus/inproc"
	"github.com/attune-system/attune/modules/bus/rabbitmq"
	"github.com/attune-system/attune/modules/executor"
	"github.com/attune-system/attune/modules/outbox"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
)

// harness runs real executors (and the real outbox relay) on a fresh
// database and a fresh bus namespace. It plays no worker: tests insert worker
// rows, read dispatches from the worker's queue and apply the worker side of
// the contract (claim, fenced completion) through the store.
type harness struct {
	t      testing.TB
	ctx    context.Context
	st     *store.Store
	bus    bus.Bus
	cfg    executor.Config
	execs  []*executor.Module
	prefix string
	log    *slog.Logger

	mu         sync.Mutex
	dispatches map[int64]chan pipeline.ExecutionDispatch
	cancels    map[int64]chan pipeline.ExecutionCancel
	declared   []bus.QueueSpec
}

type harnessOpts struct {
	rabbit    bool
	executors int
	cfg       func(*executor.Config)
}

func amqpURL() string {
	if u := os.Getenv("ATTUNE_TEST_AMQP_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

func newHarness(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := &harness{
		t: t, ctx: ctx, st: storetest.NewStore(t), prefix: "t" + randHex(6) + ".",
		log:        testLogger(),
		dispatches: map[int64]chan pipeline.ExecutionDispatch{},
		cancels:    map[int64]chan pipeline.ExecutionCancel{},
	}
	if o.rabbit {
		b, err := rabbitmq.New(ctx, rabbitmq.Options{URL: amqpURL(), Prefix: h.prefix, Logger: h.log})
		require.NoError(t, err)
		h.bus = b
		t.Cleanup(func() { _ = b.Close(); h.deleteRabbitNames() })
	} else {
		b, err := inproc.New(inproc.Options{Prefix: h.prefix})
		require.NoError(t, err)
		h.bus = b
		t.Cleanup(func() { _ = b.Close() })
	}
	for _, q := range bus.FixedQueues() {
		require.NoError(t, h.bus.Declare(ctx, q))
	}
	h.declared = append(h.declared, bus.FixedQueues()...)
	relay := outbox.New(h.st, h.bus, h.log, nil, outbox.Options{PollInterval: 50 * time.Millisecond})
	require.NoError(t, relay.Start(ctx))
	t.Cleanup(func() { _ = relay.Stop(context.Background()) })

	h.cfg = executor.Defaults()
	h.cfg.ReaperInterval = time.Hour // tests call ReapOnce themselves
	if o.cfg != nil {
		o.cfg(&h.cfg)
	}
	for range max(o.executors, 1) {
		m, err := executor.New(executor.Deps{Config: h.cfg, Log: h.log, Store: h.st, Bus: h.bus})
		require.NoError(t, err)
		require.NoError(t, m.Start(ctx))
		t.Cleanup(func() { _ = m.Stop(context.Background()) })
		h.execs = append(h.execs, m)
	}
	return h
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// deleteRabbitNames removes this test's queues and exchanges from the shared broker.
func (h *harness) deleteRabbitNames() {
	conn, err := amqp.Dial(amqpURL())
	if err != nil {
		return
	}
	defer conn.Close()
	for _, q := range h.declared {
		for _, n := range []string{q.Name, bus.DeadLetterQueueOf(q)} {
			if n == "" {
				continue
			}
			if ch, err := conn.Channel(); err == nil {
				_, _ = ch.QueueDelete(h.prefix+n, false, false, false)
				_ = ch.Close()
			}
		}
	}
	for _, e := range bus.Exchanges() {
		if ch, err := conn.Channel(); err == nil {
			_ = ch.ExchangeDelete(h.prefix+e.Name, false, false)
			_ = ch.Close()
		}
	}
}

// fixture is one pack with a shell runtime, an action and a trigger.
type fixture struct {
	pack    store.Pack
	runtime store.Runtime
	action  store.Action
	trigger store.Trigger
}

// actionSchema requires url and defaults method.
const actionSchema = `{"type":"object","properties":{"url":{"type":"string"},"method":{"type":"string","default":"GET"}},"required":["url"]}`

func (h *harness) fixture(packRef string, mutate func(*store.Action)) fixture {
	h.t.Helper()
	ctx, st := h.ctx, h.st
	p, err := st.PackUpsert(ctx, store.Pack{Ref: packRef, Label: packRef, Version: "1.0.0", Config: json.RawMessage(`{"base":"https://example.test"}`)})
	require.NoError(h.t, err)
	rt, err := st.RuntimeUpsert(ctx, store.Runtime{Ref: packRef + ".shell", Pack: &p.ID, PackRef: &p.Ref, Name: "Shell", Aliases: []string{"shell", "bash"}})
	require.NoError(h.t, err)
	a := store.Action{Ref: packRef + ".act", Pack: p.ID, PackRef: p.Ref, Label: "act", Entrypoint: "act.sh",
		Runtime: &rt.ID, RuntimeRef: &rt.Ref, Enabled: true, ParamSchema: json.RawMessage(actionSchema)}
	if mutate != nil {
		mutate(&a)
	}
	a, err = st.ActionUpsert(ctx, a)
	require.NoError(h.t, err)
	tr, err := st.TriggerUpsert(ctx, store.Trigger{Ref: packRef + ".trig", Pack: &p.ID, PackRef: &p.Ref, Label: "trig", Enabled: true})
	require.NoError(h.t, err)
	return fixture{pack: p, runtime: rt, action: a, trigger: tr}
}

func (h *harness) rule(f fixture, name, conditions, params string) store.Rule {
	h.t.Helper()
	r, err := h.st.RuleUpsert(h.ctx, store.Rule{
		Ref: f.pack.Ref + "." + name, Pack: f.pack.ID, PackRef: f.pack.Ref, Label: name,
		Action: &f.action.ID, ActionRef: f.action.Ref, Trigger: &f.trigger.ID, TriggerRef: f.trigger.Ref,
		Conditions: json.RawMessage(conditions), ActionParams: json.RawMessage(params), Enabled: true,
	})
	require.NoError(h.t, err)
	return r
}

// worker registers a worker row with a fresh heartbeat and listens on its
// dispatch and cancel queues.
func (h *harness) worker(name string, runtimes ...string) store.Worker {
	h.t.Helper()
	caps, _ := json.Marshal(map[string]any{"runtimes": runtimes})
	w, err := h.st.WorkerUpsert(h.ctx, store.WorkerRegistration{Name: name, Capabilities: caps})
	require.NoError(h.t, err)
	execQ, _, cancelQ, _ := bus.WorkerQueues(strconv.FormatInt(w.ID, 10))
	dch := make(chan pipeline.ExecutionDispatch, 100)
	cch := make(chan pipeline.ExecutionCancel, 100)
	h.mu.Lock()
	h.dispatches[w.ID], h.cancels[w.ID] = dch, cch
	h.declared = append(h.declared, execQ, cancelQ)
	h.mu.Unlock()
	c, err := h.bus.Consume(h.ctx, execQ, func(_ context.Context, d bus.Delivery) error {
		var m pipeline.ExecutionDispatch
		require.NoError(h.t, json.Unmarshal(d.Payload, &m))
		dch <- m
		return nil
	})
	require.NoError(h.t, err)
	h.t.Cleanup(func() { _ = c.Close() })
	c2, err := h.bus.Consume(h.ctx, cancelQ, func(_ context.Context, d bus.Delivery) error {
		var m pipeline.ExecutionCancel
		require.NoError(h.t, json.Unmarshal(d.Payload, &m))
		cch <- m
		return nil
	})
	require.NoError(h.t, err)
	h.t.Cleanup(func() { _ = c2.Close() })
	return w
}

// nextDispatch waits for the next dispatch to worker w.
func (h *harness) nextDispatch(w store.Worker) pipeline.ExecutionDispatch {
	h.t.Helper()
	h.mu.Lock()
	ch := h.dispatches[w.ID]
	h.mu.Unlock()
	select {
	case d := <-ch:
		return d
	case <-time.After(10 * time.Second):
		h.t.Fatalf("no dispatch to worker %d within 10s", w.ID)
		return pipeline.ExecutionDispatch{}
	}
}

// noDispatch asserts that worker w receives nothing for a while.
func (h *harness) noDispatch(w store.Worker, wait time.Duration) {
	h.t.Helper()
	h.mu.Lock()
	ch := h.dispatches[w.ID]
	h.mu.Unlock()
	select {
	case d := <-ch:
		h.t.Fatalf("unexpected dispatch of execution %d to worker %d", d.ExecutionID, w.ID)
	case <-time.After(wait):
	}
}

// request submits an execution like POST /executions/execute does.
func (h *harness) request(actionRef string, params map[string]any) store.Execution {
	h.t.Helper()
	var ex store.Execution
	require.NoError(h.t, h.st.InTx(h.ctx, func(tx *store.Tx) error {
		var err error
		ex, err = pipeline.RequestExecution(h.ctx, tx, pipeline.NewExecution{ActionRef: actionRef, Params: params})
		return err
	}))
	return ex
}

// claim and finish apply the worker side of the lifecycle contract.
func (h *harness) claim(d pipeline.ExecutionDispatch, lease time.Duration) store.Execution {
	h.t.Helper()
	ex, err := h.st.ExecutionClaim(h.ctx, d.ExecutionID, d.WorkerID, lease)
	require.NoError(h.t, err)
	require.Equal(h.t, d.Fence+1, ex.Fence, "claim starts a new fenced attempt")
	return ex
}

func (h *harness) finish(ex store.Execution, status string) store.Execution {
	h.t.Helper()
	var done store.Execution
	res, _ := json.Marshal(map[string]any{"succeeded": status == pipeline.StatusCompleted, "exit_code": 0})
	require.NoError(h.t, h.st.InTx(h.ctx, func(tx *store.Tx) error {
		var err error
		done, err = pipeline.FinishExecution(h.ctx, tx, ex, []string{pipeline.StatusRunning, pipeline.StatusCanceling}, status, res)
		return err
	}))
	return done
}

// waitFor polls cond until it holds (10s bound).
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) execution(id int64) store.Execution {
	h.t.Helper()
	ex, err := h.st.ExecutionGet(h.ctx, id)
	require.NoError(h.t, err)
	return ex
}

func (h *harness) waitStatus(id int64, status string) store.Execution {
	h.t.Helper()
	var ex store.Execution
	h.waitFor("execution "+strconv.FormatInt(id, 10)+" "+status, func() bool {
		ex = h.execution(id)
		return ex.Status == status
	})
	return ex
}

// exec runs test-only SQL (fixtures the store has no method for, such as
// policies owned by the pack registrar, or ageing a heartbeat).
func (h *harness) exec(sql string, args ...any) {
	h.t.Helper()
	_, err := h.st.Pool().Exec(h.ctx, sql, args...)
	require.NoError(h.t, err)
}

func (h *harness) count(sql string, args ...any) int {
	h.t.Helper()
	var n int
	require.NoError(h.t, h.st.Pool().QueryRow(h.ctx, sql, args...).Scan(&n))
	return n
}

// ingest stores an event with its EventCreated message.
func (h *harness) ingest(f fixture, payload string) store.Event {
	h.t.Helper()
	ev, _, err := pipeline.IngestEvent(h.ctx, h.st, store.NewEvent{Trigger: &f.trigger.ID, TriggerRef: f.trigger.Ref, Payload: json.RawMessage(payload)})
	require.NoError(h.t, err)
	return ev
}

// testLogger discards logs unless ATTUNE_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("ATTUNE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// tap collects the payloads of every message published to exchange with
// routing key key from now on (a queue of its own, beside the real consumer).
func (h *harness) tap(exchange, key string) <-chan json.RawMessage {
	h.t.Helper()
	q := bus.QueueSpec{Name: "tap." + key + "." + randHex(4), Exchange: exchange, Bindings: []string{key}, Exclusive: true}
	ch := make(chan json.RawMessage, 100)
	c, err := h.bus.Consume(h.ctx, q, func(_ context.Context, d bus.Delivery) error {
		ch <- d.Payload
		return nil
	})
	require.NoError(h.t, err)
	h.t.Cleanup(func() { _ = c.Close() })
	return ch
}

// published waits for a tapped message whose execution_id is id.
func (h *harness) published(ch <-chan json.RawMessage, id int64) {
	h.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case p := <-ch:
			var m struct {
				ExecutionID int64 `json:"execution_id"`
			}
			require.NoError(h.t, json.Unmarshal(p, &m))
			if m.ExecutionID == id {
				return
			}
		case <-deadline:
			h.t.Fatalf("no message for execution %d within 10s", id)
		}
	}
}
