package worker_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/bus/inproc"
	"github.com/attune-system/attune/modules/bus/rabbitmq"
	"github.com/attune-system/attune/modules/outbox"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
	"github.com/attune-system/attune/modules/worker"
)

const testPack = "tpack"

// env is one isolated worker test world: its own database, bus namespace,
// outbox relay, packs directory and a started worker.
type env struct {
	t        testing.TB
	st       *store.Store
	bus      bus.Bus
	packsDir string
	dataDir  string
	secret   string
	encKey   string
	packID   int64
	shellRT  int64
	nativeRT int64
	w        *worker.Module
	deps     worker.Deps
}

type envOpts struct {
	rabbit    bool
	configure func(*worker.Deps)
	noStart   bool
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, st: storetest.NewStore(t), packsDir: t.TempDir(), dataDir: t.TempDir(),
		secret: randHex(32), encKey: randHex(32)}
	var err error
	if o.rabbit {
		prefix := "tw" + randHex(6) + "."
		st := e.st
		t.Cleanup(func() { deleteNamespace(st, prefix) })
		e.bus, err = rabbitmq.New(ctx, rabbitmq.Options{URL: amqpURL(), Prefix: prefix})
	} else {
		e.bus, err = inproc.New(inproc.Options{})
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.bus.Close() })
	for _, q := range bus.FixedQueues() {
		require.NoError(t, e.bus.Declare(ctx, q))
	}
	relay := outbox.New(e.st, e.bus, testLogger(t), prometheus.NewRegistry(), outbox.Options{PollInterval: 50 * time.Millisecond})
	require.NoError(t, relay.Start(ctx))
	t.Cleanup(func() { _ = relay.Stop(context.Background()) })

	p, err := e.st.PackUpsert(ctx, store.Pack{Ref: testPack, Label: "Test", Version: "1.0.0"})
	require.NoError(t, err)
	e.packID = p.ID
	require.NoError(t, os.MkdirAll(filepath.Join(e.packsDir, testPack, "actions"), 0o755))
	sh, err := e.st.RuntimeUpsert(ctx, store.Runtime{Ref: "core.shell", Name: "Shell", Aliases: []string{"shell", "sh"},
		Distributions:   json.RawMessage(`{"verification":{"always_available":true}}`),
		ExecutionConfig: json.RawMessage(`{"interpreter":{"binary":"/bin/sh","args":[]},"env_vars":{"TEST_RT_VAR":"{pack_dir}/lib"}}`)})
	require.NoError(t, err)
	e.shellRT = sh.ID
	nat, err := e.st.RuntimeUpsert(ctx, store.Runtime{Ref: "core.native", Name: "Native", Aliases: []string{"native"},
		Distributions: json.RawMessage(`{"verification":{"always_available":true}}`), ExecutionConfig: json.RawMessage(`{}`)})
	require.NoError(t, err)
	e.nativeRT = nat.ID

	cfg := worker.Defaults()
	cfg.Name = "w-" + randHex(4)
	cfg.HeartbeatInterval = 200 * time.Millisecond
	cfg.LeaseTimeout = 2 * time.Second
	cfg.KillGrace = time.Second
	cfg.MaxConcurrentTasks = 4
	e.deps = worker.Deps{
		Config: cfg, Log: testLogger(t), Store: e.st, Bus: e.bus, Metrics: prometheus.NewRegistry(),
		APIURL:       func() string { return "http://0.0.0.0:8080" },
		Security:     security.Settings{JWTSecret: e.secret, EncryptionKey: e.encKey},
		PacksBaseDir: e.packsDir, RuntimeEnvsDir: filepath.Join(e.dataDir, "envs"), DataDir: e.dataDir,
		DefaultTimeout: 30 * time.Second,
	}
	if o.configure != nil {
		o.configure(&e.deps)
	}
	if !o.noStart {
		e.start()
	}
	return e
}

func (e *env) start() {
	e.t.Helper()
	w, err := worker.New(e.deps)
	require.NoError(e.t, err)
	require.NoError(e.t, w.Start(context.Background()))
	e.w = w
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Stop(ctx)
	})
}

// action writes actions/<name>.sh (when script is non-empty) and registers
// the action tpack.<name> on the shell runtime.
func (e *env) action(name, script string, mod func(*store.Action)) store.Action {
	e.t.Helper()
	a := store.Action{Ref: testPack + "." + name, Pack: e.packID, PackRef: testPack, Label: name,
		Entrypoint: name + ".sh", Runtime: &e.shellRT, Enabled: true, ParamSchema: json.RawMessage(`{}`),
		ParameterDelivery: "stdin", ParameterFormat: "json", OutputFormat: "text",
		ReferenceVisibility: "public", OnWorkerLost: "abandon", MaxAttempts: 1}
	if mod != nil {
		mod(&a)
	}
	if script != "" {
		require.NoError(e.t, os.WriteFile(filepath.Join(e.packsDir, a.PackRef, "actions", a.Entrypoint), []byte(script), 0o755))
	}
	saved, err := e.st.ActionUpsert(context.Background(), a)
	require.NoError(e.t, err)
	return saved
}

// schedule inserts an execution already scheduled on this worker, as the
// executor would, and returns it.
func (e *env) schedule(act store.Action, params map[string]any, mod func(*store.NewExecution)) store.Execution {
	e.t.Helper()
	ctx := context.Background()
	cfg, err := json.Marshal(params)
	require.NoError(e.t, err)
	ne := store.NewExecution{Action: &act.ID, ActionRef: act.Ref, Config: cfg, Status: "scheduled"}
	if mod != nil {
		mod(&ne)
	}
	ex, err := e.st.ExecutionInsert(ctx, ne)
	require.NoError(e.t, err)
	_, err = e.st.Pool().Exec(ctx, `UPDATE execution SET worker = $1 WHERE id = $2`, e.w.WorkerID(), ex.ID)
	require.NoError(e.t, err)
	ex.Worker = new(int64)
	*ex.Worker = e.w.WorkerID()
	return ex
}

func (e *env) dispatch(ex store.Execution) {
	e.t.Helper()
	b, err := json.Marshal(pipeline.ExecutionDispatch{ExecutionID: ex.ID, WorkerID: e.w.WorkerID(), ActionRef: ex.ActionRef, Fence: ex.Fence})
	require.NoError(e.t, err)
	require.NoError(e.t, e.bus.Publish(context.Background(), bus.ExchangeExecutions,
		bus.KeyExecutionDispatch(itoa(e.w.WorkerID())), bus.Message{Type: pipeline.TypeExecutionDispatch, Payload: b}))
}

func (e *env) cancel(id int64) {
	e.t.Helper()
	b, _ := json.Marshal(pipeline.ExecutionCancel{ExecutionID: id, WorkerID: e.w.WorkerID()})
	require.NoError(e.t, e.bus.Publish(context.Background(), bus.ExchangeExecutions,
		bus.KeyExecutionCancel(itoa(e.w.WorkerID())), bus.Message{Type: pipeline.TypeExecutionCancel, Payload: b}))
}

func (e *env) run(act store.Action, params map[string]any) store.Execution {
	e.t.Helper()
	ex := e.schedule(act, params, nil)
	e.dispatch(ex)
	return e.waitTerminal(ex.ID, 20*time.Second)
}

var terminal = map[string]bool{"completed": true, "failed": true, "timeout": true, "cancelled": true, "abandoned": true}

func (e *env) waitTerminal(id int64, within time.Duration) store.Execution {
	e.t.Helper()
	return e.waitFor(id, within, func(x store.Execution) bool { return terminal[x.Status] })
}

func (e *env) waitFor(id int64, within time.Duration, cond func(store.Execution) bool) store.Execution {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		ex, err := e.st.ExecutionGet(context.Background(), id)
		require.NoError(e.t, err)
		if cond(ex) {
			return ex
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("execution %d: condition not met within %s (status %s, result %s)", id, within, ex.Status, ex.Result)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func result(t *testing.T, ex store.Execution) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(ex.Result, &m), "result %s", ex.Result)
	return m
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// eventually polls cond until true or fails after within.
func eventually(t *testing.T, within time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func amqpURL() string {
	if u := os.Getenv("ATTUNE_TEST_AMQP_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

// testLogger writes warnings and errors to the test log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// deleteNamespace removes the test's quorum queues (fixed topology and the
// per-worker queues of the workers it registered) from the shared broker.
func deleteNamespace(st *store.Store, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var extra []bus.QueueSpec
	if workers, err := st.WorkerList(ctx); err == nil {
		for _, w := range workers {
			e, p, c, pt := bus.WorkerQueues(strconv.FormatInt(w.ID, 10))
			extra = append(extra, e, p, c, pt)
		}
	}
	_ = rabbitmq.DeleteNamespace(ctx, amqpURL(), prefix, extra...)
}
