package sensor_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/bus/inproc"
	"github.com/attune-system/attune/modules/bus/rabbitmq"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/sensor"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
)

const testSecret = "0123456789abcdef0123456789abcdef-sensor-test"

// harness is one isolated database with a pack and an action for rules.
type harness struct {
	t        *testing.T
	dsn      string
	st       *store.Store
	packID   int64
	actionID int64
	packsDir string
	dataDir  string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dsn := storetest.NewDatabase(t)
	h := &harness{t: t, dsn: dsn, st: h0open(t, dsn), packsDir: t.TempDir(), dataDir: t.TempDir()}
	ctx := context.Background()
	require.NoError(t, h.st.Pool().QueryRow(ctx,
		`INSERT INTO pack (ref, label, version) VALUES ('tpack', 'Test pack', '1.0.0') RETURNING id`).Scan(&h.packID))
	require.NoError(t, h.st.Pool().QueryRow(ctx,
		`INSERT INTO action (ref, pack, pack_ref, label, entrypoint) VALUES ('tpack.act', $1, 'tpack', 'Act', 'act.sh')
		 RETURNING id`, h.packID).Scan(&h.actionID))
	return h
}

func h0open(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn, store.PoolConfig{MaxConns: 4, ApplicationName: "sensor-test"})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	return st
}

// newBus returns the in-process bus, or RabbitMQ in its own namespace.
func newBus(t *testing.T, rabbit bool) bus.Bus {
	t.Helper()
	var b bus.Bus
	var err error
	if rabbit {
		prefix := randomPrefix()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = rabbitmq.DeleteNamespace(ctx, amqpURL(), prefix)
		})
		b, err = rabbitmq.New(context.Background(), rabbitmq.Options{URL: amqpURL(), Prefix: prefix})
	} else {
		b, err = inproc.New(inproc.Options{})
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// start runs a sensor module on its own store pool (like a separate
// process) and stops it at cleanup.
func (h *harness) start(b bus.Bus, edit func(*sensor.Config)) *sensor.Module {
	h.t.Helper()
	cfg := sensor.Defaults()
	cfg.ResyncInterval = 500 * time.Millisecond
	cfg.StopGrace = 2 * time.Second
	if edit != nil {
		edit(&cfg)
	}
	m, err := sensor.New(sensor.Deps{
		Config: cfg, Log: testLogger(h.t).With("module", "sensor"),
		Store: h0open(h.t, h.dsn), Bus: b, Metrics: prometheus.NewRegistry(),
		APIURL: func() string { return "http://127.0.0.1:1" }, Security: security.Settings{JWTSecret: testSecret},
		PacksBaseDir: h.packsDir, DataDir: h.dataDir, LogLevel: "debug",
	})
	require.NoError(h.t, err)
	require.NoError(h.t, m.Start(context.Background()))
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(h.t, m.Stop(ctx))
	})
	return m
}

// rule inserts an enabled rule on triggerRef with trigger_params params.
func (h *harness) rule(ref, triggerRef, params string) store.Rule {
	h.t.Helper()
	r, err := h.st.RuleUpsert(context.Background(), store.Rule{
		Ref: "tpack." + ref, Pack: h.packID, PackRef: "tpack", Label: ref, Action: &h.actionID,
		ActionRef: "tpack.act", TriggerRef: triggerRef, TriggerParams: json.RawMessage(params), Enabled: true,
	})
	require.NoError(h.t, err)
	return r
}

// announce publishes a rule lifecycle message, as the API does on change.
func announce(t *testing.T, b bus.Bus, key string, r store.Rule) {
	t.Helper()
	payload, err := json.Marshal(pipeline.RuleLifecycle{RuleID: r.ID, RuleRef: r.Ref, TriggerRef: r.TriggerRef, Enabled: r.Enabled})
	require.NoError(t, err)
	require.NoError(t, b.Publish(context.Background(), bus.ExchangeEvents, key, bus.Message{
		Type: pipeline.TypeRuleEnabled, Payload: payload,
	}))
}

// fired is one timer event as stored.
type fired struct {
	slot    time.Time // payload scheduled_at (fire_at for datetime)
	created time.Time // event row creation (commit-side clock)
	payload map[string]any
}

func (h *harness) fires(ruleID int64) []fired {
	h.t.Helper()
	rows, err := h.st.Pool().Query(context.Background(),
		`SELECT payload, created FROM event WHERE rule = $1 AND source_ref = 'core.timer_sensor' ORDER BY id`, ruleID)
	require.NoError(h.t, err)
	defer rows.Close()
	var out []fired
	for rows.Next() {
		var raw []byte
		var f fired
		require.NoError(h.t, rows.Scan(&raw, &f.created))
		require.NoError(h.t, json.Unmarshal(raw, &f.payload))
		at, _ := f.payload["scheduled_at"].(string)
		if at == "" {
			at, _ = f.payload["fire_at"].(string)
		}
		f.slot, err = time.Parse(time.RFC3339Nano, at)
		require.NoError(h.t, err, "payload %s", raw)
		out = append(out, f)
	}
	require.NoError(h.t, rows.Err())
	return out
}

// waitFires polls until ruleID has at least n events.
func (h *harness) waitFires(ruleID int64, n int, within time.Duration) []fired {
	h.t.Helper()
	var got []fired
	require.Eventually(h.t, func() bool {
		got = h.fires(ruleID)
		return len(got) >= n
	}, within, 20*time.Millisecond, "want %d timer events for rule %d", n, ruleID)
	return got
}

func (h *harness) count(query string, args ...any) int {
	h.t.Helper()
	var n int
	require.NoError(h.t, h.st.Pool().QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

// requirePunctual checks every fire happened within tolerance after its slot.
func requirePunctual(t *testing.T, fs []fired, tolerance time.Duration) {
	t.Helper()
	for _, f := range fs {
		late := f.created.Sub(f.slot)
		require.True(t, late > -50*time.Millisecond && late < tolerance,
			"slot %s fired at %s (%s late)", f.slot.Format(time.RFC3339Nano), f.created.Format(time.RFC3339Nano), late)
	}
}

func amqpURL() string {
	if u := os.Getenv("ATTUNE_TEST_AMQP_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

func randomPrefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "t" + hex.EncodeToString(b) + "."
}

// testLogger writes module logs to the test log (ATTUNE_TEST_LOG=debug for more).
func testLogger(t *testing.T) *slog.Logger {
	lv := slog.LevelWarn
	if v := os.Getenv("ATTUNE_TEST_LOG"); v != "" {
		_ = lv.UnmarshalText([]byte(v))
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: lv}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	defer func() { _ = recover() }() // a log line after the test ended must not panic
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
