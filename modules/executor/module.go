package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/rules"
	"github.com/attune-system/attune/modules/store"
)

// Deps is everything the executor module needs.
type Deps struct {
	Config         Config
	Log            *slog.Logger
	Store          *store.Store
	Bus            bus.Bus
	Metrics        prometheus.Registerer
	DefaultTimeout time.Duration
	// Wake listens for event wake-ups (wake.go), which the server's
	// sessions send when the bus is a broker.
	Wake bool
}

// Module is the executor module: event processor, enforcement processor,
// scheduler, completion listener and reaper. Every handler reloads rows by
// id and changes them by compare-and-set, so any number of executors may
// consume the same queues and messages may be delivered more than once.
type Module struct {
	d     Deps
	log   *slog.Logger
	cache *rules.Cache
	// meta caches rule-firing metadata per metadata_version (metacache.go).
	meta *metaCache

	// wake is the event wake-up listener (nil without Deps.Wake); events
	// dedupes an event's wake-up and broker copies.
	wake   *eventWake
	events *pipeline.Copies[int64]
	met    *metrics

	mu        sync.Mutex
	consumers []bus.Consumer
	stop      context.CancelFunc
	reaperWG  sync.WaitGroup
}

// New builds the executor module.
func New(d Deps) (*Module, error) {
	if d.Store == nil || d.Bus == nil {
		return nil, errors.New("executor: Store and Bus are required")
	}
	if d.Config == (Config{}) {
		d.Config = Defaults()
	}
	if err := d.Config.Validate(); err != nil {
		return nil, err
	}
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	return &Module{d: d, log: log, cache: rules.NewCache(0), meta: newMetaCache(),
		events: pipeline.NewCopies[int64](), met: newMetrics(d.Metrics)}, nil
}

// transientWait bounds how long a handler waits out a database outage before
// its message is requeued like any failure.
const transientWait = time.Minute

// Start subscribes to events, enforcements, execution requests and
// completions, and starts the reaper.
func (m *Module) Start(ctx context.Context) error {
	subs := []struct {
		spec bus.QueueSpec
		h    bus.Handler
	}{
		{bus.SpecExecutorEvents, m.handleEvent},
		{bus.SpecEnforcements, m.handleEnforcement},
		{bus.SpecExecutionRequests, m.handleRequested},
		{bus.SpecExecutionComplete, m.handleCompleted},
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.d.Wake {
		// Before the consumers: handleEvent reads m.wake.
		m.startWake()
	}
	for _, s := range subs {
		// A database outage is waited out in place rather than spending
		// the message's deliveries.
		c, err := m.d.Bus.Consume(ctx, s.spec, bus.RetryTransient(s.h, store.IsTransient, transientWait))
		if err != nil {
			m.closeConsumersLocked()
			m.stopWake()
			return fmt.Errorf("executor: consume %s: %w", s.spec.Name, err)
		}
		m.consumers = append(m.consumers, c)
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.stop = cancel
	m.reaperWG.Add(1)
	go func() {
		defer m.reaperWG.Done()
		m.runReaper(rctx)
	}()
	return nil
}

// Stop stops consuming; unacked messages return to their queues.
func (m *Module) Stop(ctx context.Context) error {
	m.mu.Lock()
	if m.stop != nil {
		m.stop()
	}
	err := m.closeConsumersLocked()
	m.mu.Unlock()
	m.stopWake()
	done := make(chan struct{})
	go func() { m.reaperWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return errors.Join(err, ctx.Err())
	}
	return err
}

func (m *Module) closeConsumersLocked() error {
	var errs []error
	for _, c := range m.consumers {
		if err := c.Close(); err != nil && !errors.Is(err, bus.ErrClosed) {
			errs = append(errs, err)
		}
	}
	m.consumers = nil
	return errors.Join(errs...)
}
