package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/store"
)

// Deps is everything the worker module needs.
type Deps struct {
	Config         Config
	Log            *slog.Logger
	Store          *store.Store
	Bus            bus.Bus
	Metrics        prometheus.Registerer
	APIURL         func() string
	Security       security.Settings
	PacksBaseDir   string
	RuntimeEnvsDir string
	DataDir        string
	DefaultTimeout time.Duration
	// Wake listens for dispatch wake-ups (wake.go), which the server's
	// sessions send when its bus is a broker.
	Wake bool
	// Envs prepares per-pack runtime environments (virtualenv, node_modules)
	// and detects runtimes. Nil uses runtimeenv.NewManager over the dirs
	// above.
	Envs EnvProvider
}

// Module is the worker module: it registers a worker row, heartbeats it and
// the leases of its running executions, and runs the executions dispatched
// to its per-worker queue.
type Module struct {
	d      Deps
	log    *slog.Logger
	met    *metrics
	tokens *security.TokenIssuer
	box    *security.SecretBox
	envs   EnvProvider

	workerID int64
	runtimes []string
	sem      chan struct{}

	mu   sync.Mutex
	runs map[int64]*run
	// launch caches launch inputs per metadata version (prefetch.go).
	launch launchCache
	// artifacts recycles empty per-attempt artifacts directories.
	artifacts artifactDirs
	cancels   *pendingCancels

	dispatchC, cancelC bus.Consumer
	// seen dedupes a dispatch's wake-up and broker copies (wake.go).
	seen *pipeline.Copies[dispatchKey]
	// stopWake ends the wake-up listener and its claims; nil without one.
	stopWake func()
	wakeWG   sync.WaitGroup
	// wakeWaiting counts woken dispatches waiting for a slot (wake.go).
	wakeWaiting atomic.Int32
	// life bounds background work (heartbeats, completion retries); it is
	// cancelled at the very end of Stop.
	life     context.Context
	stopLife context.CancelFunc
	hbStop   chan struct{}
	hbDone   chan struct{}
	runsWG   sync.WaitGroup

	stopOnce sync.Once
	stopErr  error
}

// New builds the worker module. It validates what Start would otherwise
// fail on late: the JWT secret used for execution tokens.
func New(d Deps) (*Module, error) {
	if d.Store == nil || d.Bus == nil {
		return nil, errors.New("worker: Store and Bus are required")
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.APIURL == nil {
		d.APIURL = func() string { return "" }
	}
	if d.DefaultTimeout <= 0 {
		d.DefaultTimeout = 600 * time.Second
	}
	tokens, err := security.NewTokenIssuer([]byte(d.Security.JWTSecret), nil)
	if err != nil {
		return nil, fmt.Errorf("worker: execution tokens: %w", err)
	}
	m := &Module{
		d: d, log: d.Log, tokens: tokens,
		met:     newMetrics(d.Metrics),
		runs:    map[int64]*run{},
		cancels: newPendingCancels(pendingCancelMax, pendingCancelTTL),
		sem:     make(chan struct{}, max(d.Config.MaxConcurrentTasks, 1)),
		seen:    pipeline.NewCopies[dispatchKey](),
		envs:    d.Envs,
	}
	if d.Security.EncryptionKey != "" {
		// Without a key, encrypted keys cannot be delivered; executions that
		// need one fail with a clear error instead of the worker refusing to run.
		if m.box, err = security.NewSecretBox(d.Security.EncryptionKey); err != nil {
			return nil, fmt.Errorf("worker: secret box: %w", err)
		}
	}
	if m.envs == nil {
		m.envs = defaultEnvProvider(d)
	}
	return m, nil
}

// WorkerID is the database id of this worker once Start returned.
func (m *Module) WorkerID() int64 { return m.workerID }

// transientWait bounds how long a handler waits out a database outage (in
// place, not spending the message's deliveries) before requeueing it.
const transientWait = time.Minute

// Start registers the worker, starts heartbeats and consumes its queues.
func (m *Module) Start(ctx context.Context) error {
	m.life, m.stopLife = context.WithCancel(context.Background())
	if err := m.register(ctx); err != nil {
		m.stopLife()
		return err
	}
	if err := m.artifacts.open(m.artifactsDir(), m.workerID, 2*cap(m.sem)); err != nil {
		m.stopLife()
		return err
	}
	id := fmt.Sprint(m.workerID)
	dispatch, _, cancel, _ := bus.WorkerQueues(id)
	dispatch.Prefetch = cap(m.sem) + 2
	var err error
	if m.cancelC, err = m.d.Bus.Consume(ctx, cancel, bus.RetryTransient(m.onCancel, store.IsTransient, transientWait)); err != nil {
		m.stopLife()
		return fmt.Errorf("worker: consume %s: %w", cancel.Name, err)
	}
	if m.dispatchC, err = m.d.Bus.Consume(ctx, dispatch, bus.RetryTransient(m.onDispatch, store.IsTransient, transientWait)); err != nil {
		_ = m.cancelC.Close()
		m.stopLife()
		return fmt.Errorf("worker: consume %s: %w", dispatch.Name, err)
	}
	if m.d.Wake {
		m.startWake()
	}
	m.hbStop, m.hbDone = make(chan struct{}), make(chan struct{})
	go m.heartbeatLoop()
	m.log.Info("worker started", "worker_id", m.workerID, "runtimes", m.runtimes, "max_concurrent", cap(m.sem))
	return nil
}

// Stop stops taking work and drains running actions within ctx. Actions
// still running at the deadline are killed; those whose action says
// on_worker_lost=abandon are marked abandoned (fenced), the others are left
// to the executor's reaper once their lease lapses.
func (m *Module) Stop(ctx context.Context) error {
	m.stopOnce.Do(func() { m.stopErr = m.stop(ctx) })
	return m.stopErr
}

func (m *Module) stop(ctx context.Context) error {
	if m.life == nil {
		return nil // Start never ran
	}
	var errs []error
	if m.stopWake != nil {
		m.stopWake()
	}
	if m.dispatchC != nil {
		// No new claims; handlers waiting for a slot give their message back.
		errs = append(errs, m.dispatchC.Close())
	}
	drained := make(chan struct{})
	go func() { m.runsWG.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-ctx.Done():
		n := m.killAll()
		m.log.Warn("worker: shutdown deadline reached, killing running actions", "count", n)
		// The runner needs KillGrace to escalate to SIGKILL; the completion
		// (abandoned) write needs a moment more.
		select {
		case <-drained:
		case <-time.After(m.d.Config.KillGrace + 5*time.Second):
			errs = append(errs, errors.New("worker: actions still running after kill"))
		}
	}
	if m.cancelC != nil {
		errs = append(errs, m.cancelC.Close())
	}
	if m.hbStop != nil {
		close(m.hbStop)
		<-m.hbDone
	}
	m.stopLife()
	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.d.Store.WorkerMarkInactive(dctx, m.workerID); err != nil {
		errs = append(errs, fmt.Errorf("worker: mark inactive: %w", err))
	}
	return errors.Join(errs...)
}

// killAll cancels every running action for shutdown and returns how many.
func (m *Module) killAll() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.runs {
		r.shutdown.Store(true)
		r.cancel()
	}
	return len(m.runs)
}
