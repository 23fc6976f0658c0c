// Package apptest boots the real attune app in-process for tests: any roles,
// port 0, its own database (from storetest) and its own bus namespace.
package apptest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/app"
	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/bus/rabbitmq"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
)

// AMQPURL is the broker tests use (ATTUNE_TEST_AMQP_URL or the local default).
func AMQPURL() string {
	if u := os.Getenv("ATTUNE_TEST_AMQP_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

// Options configure one instance.
type Options struct {
	// Roles to run; default all.
	Roles []string
	// DatabaseURL to use; default a fresh isolated database.
	DatabaseURL string
	// RabbitMQ uses the real broker with BusPrefix instead of the in-process bus.
	RabbitMQ bool
	// BusPrefix namespaces queues; default a random prefix (when RabbitMQ).
	BusPrefix string
	// Configure edits the config before the app is built.
	Configure func(*app.Config)
}

// Instance is a running app.
type Instance struct {
	App    *app.App
	URL    string
	Config app.Config
	cancel context.CancelFunc
	done   chan error
}

// Config returns a test configuration: not dev mode, random secrets, port 0,
// an isolated data dir.
func Config(t testing.TB) app.Config {
	cfg := app.DefaultConfig()
	cfg.Server.Port = 0
	cfg.DataDir = t.TempDir()
	cfg.PacksBaseDir = cfg.DataDir + "/packs"
	cfg.RuntimeEnvsDir = cfg.DataDir + "/runtime_envs"
	cfg.Security.JWTSecret = randomHex(32)
	cfg.Security.EncryptionKey = randomHex(32)
	cfg.Security.AdminPassword = "Adm1n-" + randomHex(8)
	cfg.Shutdown.GracePeriod = 10 * time.Second
	cfg.Log.Level = "warn"
	if os.Getenv("ATTUNE_TEST_LOG") != "" {
		cfg.Log.Level = os.Getenv("ATTUNE_TEST_LOG")
	}
	return cfg
}

// RandomPrefix returns a bus namespace unique to one test.
func RandomPrefix() string { return "t" + randomHex(6) + "." }

// Start boots an instance and waits until /readyz answers 200. It is stopped
// at test cleanup.
func Start(t testing.TB, o Options) *Instance {
	t.Helper()
	cfg := Config(t)
	cfg.Database.URL = o.DatabaseURL
	if cfg.Database.URL == "" {
		cfg.Database.URL = storetest.NewDatabase(t)
	}
	if o.RabbitMQ {
		cfg.MessageQueue.URL = AMQPURL()
		cfg.MessageQueue.Prefix = o.BusPrefix
		if cfg.MessageQueue.Prefix == "" {
			cfg.MessageQueue.Prefix = RandomPrefix()
			CleanupBroker(t, cfg.Database.URL, cfg.MessageQueue.Prefix)
		}
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	roles := o.Roles
	if len(roles) == 0 {
		roles = []string{"all"}
	}
	a, err := app.New(cfg, roles, Logger(t, cfg.Log.Level))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	inst := &Instance{App: a, Config: cfg, cancel: cancel, done: make(chan error, 1)}
	go func() { inst.done <- a.Run(ctx) }()
	t.Cleanup(func() { _ = inst.Stop() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-inst.done:
			inst.done <- err
			require.NoError(t, err, "app exited during start-up")
			t.Fatal("app exited during start-up")
		default:
		}
		if u := a.HTTPURL(); u != "" {
			if resp, err := http.Get(u + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					inst.URL = u
					return inst
				}
			}
		}
		if time.Now().After(deadline) {
			checks, _ := a.Readiness(context.Background())
			t.Fatalf("app not ready after 60s: %+v", checks)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop shuts the instance down and returns Run's error. Idempotent.
func (i *Instance) Stop() error {
	i.cancel()
	err := <-i.done
	i.done <- err
	return err
}

// Logger writes to the test log at level (so failures show context).
func Logger(t testing.TB, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: lv}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	defer func() { _ = recover() }() // logging after the test ended must not panic
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var _ io.Writer = testWriter{}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// CleanupBroker deletes, at test cleanup, every RabbitMQ queue and exchange
// under prefix: the fixed topology and the per-worker queues of the workers
// registered in the database at dsn. Register it before starting instances,
// so it runs after they stopped (cleanups run last-in first-out).
func CleanupBroker(t testing.TB, dsn, prefix string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var extra []bus.QueueSpec
		if st, err := store.Open(ctx, dsn, store.PoolConfig{MaxConns: 2}); err == nil {
			workers, _ := st.WorkerList(ctx)
			for _, w := range workers {
				e, p, c, pt := bus.WorkerQueues(strconv.FormatInt(w.ID, 10))
				extra = append(extra, e, p, c, pt)
			}
			st.Close()
		}
		if err := rabbitmq.DeleteNamespace(ctx, AMQPURL(), prefix, extra...); err != nil {
			t.Logf("cleanup broker namespace %s: %v", prefix, err)
		}
	})
}
