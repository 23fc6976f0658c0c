package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/attune-system/attune/db"
	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/bus/inproc"
	"github.com/attune-system/attune/modules/bus/rabbitmq"
	"github.com/attune-system/attune/modules/packsvc"
	"github.com/attune-system/attune/modules/store"
)

// serverWarmConns covers the event path's concurrency in one process at the
// rates where latency matters: ingest, firing, claim with its cache check
// and a result write in flight together.
const serverWarmConns = 4

// wakeWorkers: dispatches also wake their worker, and events an executor,
// through PostgreSQL when the bus is RabbitMQ, whose quorum-queue hop is the
// slower one; the in-process bus delivers at once.
func (a *App) wakeWorkers() bool { return a.cfg.MessageQueue.URL != "" }

// holdWoken is how long the relay holds back the broker copies of woken
// messages: only where there are wake-ups.
func (a *App) holdWoken() time.Duration {
	if !a.wakeWorkers() {
		return 0
	}
	return a.cfg.MessageQueue.WakeCopyDelay
}

// databaseModule is the hidden `database` module: it opens the shared pool,
// applies or checks the schema, and reports database health to /readyz.
type databaseModule struct {
	a   *App
	log *slog.Logger
}

func (m *databaseModule) Start(ctx context.Context) error {
	cfg := m.a.cfg
	dsn := cfg.Database.URL
	if cfg.Dev {
		d, err := ensureDevDatabase(ctx, cfg, m.log)
		if err != nil {
			return err
		}
		m.a.devdb = d
		if _, err := db.EnsureDatabase(ctx, dsn); err != nil {
			return err
		}
	}
	var st *store.Store
	err := retry(ctx, m.log, "connect to database", func() error {
		var err error
		// Warm connections for the event path; over RabbitMQ, dispatches
		// also wake their worker through PostgreSQL (docs/pipeline.md).
		st, err = store.Open(ctx, dsn, store.PoolConfig{MaxConns: int32(cfg.Database.MaxConnections),
			WarmConns: serverWarmConns, WakeWorkers: m.a.wakeWorkers()})
		if err != nil {
			return err
		}
		if err := st.Ping(ctx); err != nil {
			st.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if cfg.Database.AutoMigrate {
		// Migrations run under a session advisory lock, so replicas starting
		// together apply them once.
		if err := db.Up(ctx, dsn); err != nil {
			st.Close()
			return fmt.Errorf("auto-migrate: %w", err)
		}
	}
	if err := db.CheckSchema(ctx, st.Pool()); err != nil {
		st.Close()
		if errors.Is(err, db.ErrSchemaBehind) {
			return fmt.Errorf("%w; or set database.auto_migrate", err)
		}
		return err
	}
	m.a.store = st
	return nil
}

func (m *databaseModule) Stop(context.Context) error {
	if m.a.store != nil {
		m.a.store.Close()
	}
	if m.a.devdb != nil {
		return m.a.devdb.stop()
	}
	return nil
}

func (m *databaseModule) CheckHealth(ctx context.Context) error {
	if m.a.store == nil {
		return errNotStarted
	}
	return m.a.store.Ping(ctx)
}

// busModule is the hidden `bus` module: RabbitMQ when message_queue.url is
// set, otherwise the in-process bus (roles=all only, checked in New).
type busModule struct {
	a   *App
	log *slog.Logger
}

func (m *busModule) Start(ctx context.Context) error {
	cfg := m.a.cfg.MessageQueue
	if cfg.URL == "" {
		b, err := inproc.New(inproc.Options{Prefix: cfg.Prefix})
		if err != nil {
			return err
		}
		m.a.bus = b
		m.log.Info("using the in-process bus (no message_queue.url)")
		return declareTopology(ctx, b)
	}
	var b bus.Bus
	err := retry(ctx, m.log, "connect to message broker", func() error {
		var err error
		b, err = rabbitmq.New(ctx, rabbitmq.Options{URL: cfg.URL, Prefix: cfg.Prefix, Logger: m.log})
		return err
	})
	if err != nil {
		return err
	}
	m.a.bus = b
	return declareTopology(ctx, b)
}

// declareTopology creates the fixed durable queues up front, so a message
// committed before its consumer's first start waits in its queue instead of
// being unroutable.
func declareTopology(ctx context.Context, b bus.Bus) error {
	for _, q := range bus.FixedQueues() {
		if err := b.Declare(ctx, q); err != nil {
			return fmt.Errorf("declare %s: %w", q.Name, err)
		}
	}
	return nil
}

func (m *busModule) Stop(context.Context) error {
	if m.a.bus != nil {
		return m.a.bus.Close()
	}
	return nil
}

func (m *busModule) CheckHealth(ctx context.Context) error {
	if m.a.bus == nil {
		return errNotStarted
	}
	return m.a.bus.Ping(ctx)
}

// retry runs fn with backoff until it succeeds or ctx (the module's start
// timeout) ends, so a process started alongside its database or broker waits
// for it instead of crash-looping.
func retry(ctx context.Context, log *slog.Logger, what string, fn func() error) error {
	delay := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if attempt == 1 || attempt%5 == 0 {
			log.Warn("retrying", "what", what, "attempt", attempt, "err", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, err)
		case <-time.After(delay):
		}
		delay = min(delay*2, 3*time.Second)
	}
}

// corePackModule registers the embedded core pack at start-up (a no-op when
// the same version and content are registered) so a fresh install has it.
type corePackModule struct {
	a   *App
	log *slog.Logger
}

func (m *corePackModule) Start(ctx context.Context) error {
	svc, err := packsvc.New(packsvc.Options{Store: m.a.store, PacksDir: m.a.cfg.PacksBaseDir, Log: m.log})
	if err != nil {
		return err
	}
	res, err := svc.EnsureCore(ctx)
	if err != nil {
		return fmt.Errorf("core pack: %w", err)
	}
	if !res.Unchanged {
		m.log.Info("core pack registered", "version", res.Pack.Version, "took", res.Duration)
	}
	return nil
}

func (m *corePackModule) Stop(context.Context) error { return nil }
