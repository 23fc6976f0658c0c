package app

import (
	"context"
	"slices"
	"time"

	"github.com/attune-system/attune/modules/api"
	"github.com/attune-system/attune/modules/executor"
	"github.com/attune-system/attune/modules/kernel"
	"github.com/attune-system/attune/modules/notifier"
	"github.com/attune-system/attune/modules/outbox"
	"github.com/attune-system/attune/modules/runtimeenv"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/sensor"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/worker"
)

// Role aliases accepted by --roles.
const roleAll = "all"

// define registers every module and the dependency table. This is the one
// place that knows which module needs what: roles are data, not branches.
func (a *App) define(reg *kernel.Registry) {
	infra := []string{"http", "database", "bus"}
	reg.Register(kernel.Definition{
		Name: "http", Hidden: true,
		Description: "HTTP listener: /livez, /readyz, /metrics, /version; routes of the other modules",
		// Built in New, not here, so HTTPURL can be read while Run starts it.
		New: func() (kernel.Module, error) { return a.http, nil },
	})
	reg.Register(kernel.Definition{
		Name: "database", Hidden: true,
		Description: "PostgreSQL pool, schema gate (or auto-migrate), dev-mode private cluster",
		New: func() (kernel.Module, error) {
			return &databaseModule{a: a, log: a.log.With("module", "database")}, nil
		},
	})
	reg.Register(kernel.Definition{
		Name: "bus", Hidden: true,
		Description: "message bus: RabbitMQ, or in-process when every role runs in one process",
		New: func() (kernel.Module, error) {
			return &busModule{a: a, log: a.log.With("module", "bus")}, nil
		},
	})
	reg.Register(kernel.Definition{
		Name: "outbox", Hidden: true, Requires: []string{"database", "bus"},
		Description: "relays committed outbox rows to the bus (at-least-once, after broker confirm)",
		New: func() (kernel.Module, error) {
			return outbox.New(a.store, a.bus, a.log.With("module", "outbox"), a.metrics,
				outbox.Options{PollInterval: a.cfg.Executor.OutboxPollInterval, HoldWoken: a.holdWoken()}), nil
		},
	})
	reg.Register(kernel.Definition{
		Name: "corepack", Hidden: true, Requires: []string{"database"},
		Description: "registers or upgrades the embedded core pack and materialises its files",
		New: func() (kernel.Module, error) {
			return &corePackModule{a: a, log: a.log.With("module", "corepack")}, nil
		},
	})
	// Modules that write state changes relay their own outbox rows at once,
	// and every module that reads packs needs the core pack in place.
	writer := append(slices.Clone(infra), "outbox", "corepack")
	reg.Register(kernel.Definition{
		Name: "api", Requires: writer,
		Description: "REST API, authentication, RBAC, OpenAPI document, webhook receiver",
		New: func() (kernel.Module, error) {
			return api.New(api.Deps{
				Config: a.cfg.API, Server: a.cfg.Server, Log: a.log.With("module", "api"),
				Store: a.store, Bus: a.bus, HTTP: a.http, Metrics: a.metrics,
				Security: a.securitySettings(), PacksBaseDir: a.cfg.PacksBaseDir,
			})
		},
	})
	reg.Register(kernel.Definition{
		Name: "executor", Requires: writer,
		Description: "events → rules → enforcements → executions; policies, scheduling, retries, reaper",
		New: func() (kernel.Module, error) {
			return executor.New(executor.Deps{
				Config: a.cfg.Executor, Log: a.log.With("module", "executor"),
				Store: a.store, Bus: a.bus, Metrics: a.metrics,
				DefaultTimeout: time.Duration(a.cfg.DefaultExecutionTimeoutSeconds) * time.Second,
				Wake:           a.wakeWorkers(),
			})
		},
	})
	reg.Register(kernel.Definition{
		Name: "worker", Requires: writer,
		Description: "runs actions in their runtimes, heartbeats its lease",
		New: func() (kernel.Module, error) {
			return worker.New(worker.Deps{
				Config: a.cfg.Worker, Log: a.log.With("module", "worker"),
				Store: a.store, Bus: a.bus, Metrics: a.metrics, APIURL: a.http.URL,
				Security: a.securitySettings(), PacksBaseDir: a.cfg.PacksBaseDir,
				RuntimeEnvsDir: a.cfg.RuntimeEnvsDir, DataDir: a.cfg.DataDir,
				DefaultTimeout: time.Duration(a.cfg.DefaultExecutionTimeoutSeconds) * time.Second,
				Wake:           a.wakeWorkers(),
			})
		},
	})
	reg.Register(kernel.Definition{
		Name: "sensor", Requires: writer,
		Description: "timers and supervised sensor processes that fire triggers",
		New: func() (kernel.Module, error) {
			return sensor.New(sensor.Deps{
				Config: a.cfg.Sensor, Log: a.log.With("module", "sensor"),
				Store: a.store, Bus: a.bus, Metrics: a.metrics, APIURL: a.http.URL,
				Security: a.securitySettings(), PacksBaseDir: a.cfg.PacksBaseDir,
				DataDir: a.cfg.DataDir, LogLevel: a.cfg.Log.Level,
				RuntimeEnv: a.sensorRuntimeEnv(),
			})
		},
	})
	reg.Register(kernel.Definition{
		Name: "notifier", Requires: infra,
		Description: "live notifications over WebSocket (/ws) from PostgreSQL LISTEN",
		New: func() (kernel.Module, error) {
			return notifier.New(notifier.Deps{
				Config: a.cfg.Notifier, Log: a.log.With("module", "notifier"),
				Store: a.store, HTTP: a.http, Metrics: a.metrics, Security: a.securitySettings(),
				AllowedOrigins: a.cfg.Server.CORSOrigins,
			})
		},
	})
	reg.Alias(roleAll, "api", "executor", "worker", "sensor", "notifier")
}

func (a *App) securitySettings() security.Settings {
	s := a.cfg.Security
	return security.Settings{
		JWTSecret: s.JWTSecret, EncryptionKey: s.EncryptionKey,
		AccessTTL:  time.Duration(s.JWTAccessExpiration) * time.Second,
		RefreshTTL: time.Duration(s.JWTRefreshExpiration) * time.Second,
		AdminLogin: s.AdminLogin, AdminPassword: s.AdminPassword, Dev: a.cfg.Dev,
	}
}

// sensorRuntimeEnv lets python and node sensors run in their pack's
// environment, built by the same manager (and DB lease) as the worker's.
func (a *App) sensorRuntimeEnv() sensor.RuntimeEnvFunc {
	mgr := runtimeenv.NewManager(a.store, a.cfg.RuntimeEnvsDir, a.cfg.PacksBaseDir, a.log.With("module", "sensor"))
	return func(ctx context.Context, packRef string, rt store.Runtime) (sensor.RuntimeEnv, error) {
		e, err := mgr.Ensure(ctx, packRef, rt)
		return sensor.RuntimeEnv{Dir: e.Dir, Interpreter: e.Interpreter, Args: e.Args, Vars: e.Vars}, err
	}
}
