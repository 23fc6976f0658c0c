package sensor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/store"
)

// Deps is everything the sensor module needs.
type Deps struct {
	Config       Config
	Log          *slog.Logger
	Store        *store.Store
	Bus          bus.Bus
	Metrics      prometheus.Registerer
	APIURL       func() string
	Security     security.Settings
	PacksBaseDir string
	// DataDir holds sensor_logs/<sensor ref>.stderr.log (capped stderr of
	// each sensor process). Empty means the OS temp dir.
	DataDir string
	// LogLevel is handed to sensor processes as ATTUNE_LOG_LEVEL (default info).
	LogLevel string
	// RuntimeEnv prepares the interpreter environment (virtualenv,
	// node_modules) of a pack's python/node runtime. Nil means the runtime's
	// interpreter binary is used from PATH as is.
	RuntimeEnv RuntimeEnvFunc
}

// Module is the sensor module.
type Module struct {
	d       Deps
	log     *slog.Logger
	metrics *metrics
	issuer  *security.TokenIssuer

	kick      chan struct{}     // asks the resync loop for an immediate reload
	timerRule chan []store.Rule // latest enabled timer rules, for the timer loop
	sup       *supervisor

	cancel   context.CancelFunc
	consumer bus.Consumer
	wg       sync.WaitGroup
}

// New builds the sensor module.
func New(d Deps) (*Module, error) {
	if d.Store == nil || d.Bus == nil {
		return nil, errors.New("sensor: Store and Bus are required")
	}
	if err := d.Config.Validate(); err != nil {
		return nil, err
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Metrics == nil {
		d.Metrics = prometheus.NewRegistry()
	}
	if d.APIURL == nil {
		d.APIURL = func() string { return "" }
	}
	if d.LogLevel == "" {
		d.LogLevel = "info"
	}
	issuer, err := security.NewTokenIssuer([]byte(d.Security.JWTSecret), nil)
	if err != nil {
		return nil, fmt.Errorf("sensor: %w", err)
	}
	m := &Module{
		d: d, log: d.Log, issuer: issuer, metrics: newMetrics(d.Metrics),
		kick: make(chan struct{}, 1), timerRule: make(chan []store.Rule, 1),
	}
	m.sup = newSupervisor(m)
	return m, nil
}

// Start loads enabled rules, starts their timers and sensor processes, and
// follows rule changes: lifecycle messages trigger an immediate reload, and a
// periodic reload from the database (the source of truth) repairs anything a
// lost message would leave wrong.
func (m *Module) Start(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	if err := m.reload(ctx); err != nil {
		cancel()
		return fmt.Errorf("sensor: initial rule load: %w", err)
	}
	c, err := m.d.Bus.Consume(ctx, bus.SpecRulesLifecycle, func(context.Context, bus.Delivery) error {
		m.requestReload()
		return nil
	})
	if err != nil {
		cancel()
		return fmt.Errorf("sensor: consume %s: %w", bus.QueueRulesLifecycle, err)
	}
	m.consumer = c
	m.wg.Add(2)
	go func() { defer m.wg.Done(); m.resyncLoop(runCtx) }()
	go func() { defer m.wg.Done(); m.timerLoop(runCtx) }()
	return nil
}

// Stop stops timers and sensor processes (SIGTERM, then SIGKILL after
// Config.StopGrace or when ctx ends, whichever is first).
func (m *Module) Stop(ctx context.Context) error {
	if m.cancel == nil {
		return nil
	}
	var err error
	if m.consumer != nil {
		err = m.consumer.Close()
	}
	m.cancel()
	m.wg.Wait()
	m.sup.stopAll(ctx)
	return err
}

func (m *Module) requestReload() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// resyncLoop reloads the enabled rules on every kick and every ResyncInterval.
func (m *Module) resyncLoop(ctx context.Context) {
	t := time.NewTicker(m.d.Config.ResyncInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.kick:
		}
		if err := m.reload(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("sensor: reload rules failed; keeping the previous set", "err", err)
		}
	}
}

// reload reads the enabled timer rules and sensor bindings and hands them to
// the timer loop and the supervisor.
func (m *Module) reload(ctx context.Context) error {
	rules, err := m.d.Store.RuleListEnabledTimers(ctx, timerTriggerRefs)
	if err != nil {
		return err
	}
	bindings, err := m.d.Store.RuleListEnabledSensorBindings(ctx)
	if err != nil {
		return err
	}
	// The mailbox holds only the latest set: drop a stale one not yet taken.
	select {
	case <-m.timerRule:
	default:
	}
	m.timerRule <- rules
	m.sup.reconcile(desiredSensors(bindings))
	return nil
}
