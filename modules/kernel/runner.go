package kernel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// State is a module's lifecycle state (the dskit states, reduced).
type State string

// Module states, in lifecycle order.
const (
	StateNew      State = "new"
	StateStarting State = "starting"
	StateRunning  State = "running"
	StateStopping State = "stopping"
	StateStopped  State = "stopped"
	StateFailed   State = "failed"
)

// RunnerOptions bounds start-up and shutdown.
type RunnerOptions struct {
	// StartTimeout bounds each module's Start. Defaults to 60s.
	StartTimeout time.Duration
	// StopTimeout is the whole graceful-shutdown budget shared by all
	// modules. Defaults to 30s.
	StopTimeout time.Duration
}

// Runner starts resolved modules in order, blocks until the context ends or a
// module fails, then stops them in reverse order.
type Runner struct {
	defs []Definition
	log  *slog.Logger
	opts RunnerOptions

	mu       sync.Mutex
	states   map[string]State
	modules  map[string]Module
	draining bool
}

// NewRunner returns a runner for defs, which must already be in start order
// (as returned by Registry.Resolve).
func NewRunner(defs []Definition, log *slog.Logger, opts RunnerOptions) *Runner {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 30 * time.Second
	}
	r := &Runner{defs: defs, log: log, opts: opts, states: map[string]State{}, modules: map[string]Module{}}
	for _, d := range defs {
		r.states[d.Name] = StateNew
	}
	return r
}

// Names returns the module names in start order.
func (r *Runner) Names() []string {
	out := make([]string, len(r.defs))
	for i, d := range r.defs {
		out[i] = d.Name
	}
	return out
}

// Run starts every module, then blocks until ctx is cancelled (a clean
// shutdown, returning nil) or a module fails (returning that module's error).
// Either way every started module is stopped in reverse order.
func (r *Runner) Run(ctx context.Context) error {
	failed := make(chan error, len(r.defs))
	started := 0
	var runErr error
	for _, d := range r.defs {
		if ctx.Err() != nil {
			break
		}
		if err := r.start(ctx, d, failed); err != nil {
			runErr = err
			break
		}
		started++
	}
	if runErr == nil && ctx.Err() == nil {
		r.log.Info("all modules running", "modules", r.Names()[:started])
		// Start-up garbage (documents parsed, packs checksummed, schemas
		// compiled) would stay resident until the scavenger got to it;
		// hand it back now so an idle process is small.
		debug.FreeOSMemory()
		select {
		case <-ctx.Done():
			r.log.Info("shutdown requested")
		case err := <-failed:
			runErr = err
		}
	}
	r.stopAll(started)
	return runErr
}

func (r *Runner) start(ctx context.Context, d Definition, failed chan<- error) error {
	log := r.log.With("module", d.Name)
	r.setState(d.Name, StateStarting)
	m, err := d.New()
	if err != nil {
		r.setState(d.Name, StateFailed)
		return fmt.Errorf("module %s: %w", d.Name, err)
	}
	r.mu.Lock()
	r.modules[d.Name] = m
	r.mu.Unlock()
	sctx, cancel := context.WithTimeout(ctx, r.opts.StartTimeout)
	defer cancel()
	begin := time.Now()
	if err := m.Start(sctx); err != nil {
		r.setState(d.Name, StateFailed)
		// A module that failed half-way may hold resources: Stop must be safe.
		stopCtx, stopCancel := context.WithTimeout(context.Background(), r.opts.StopTimeout)
		_ = m.Stop(stopCtx)
		stopCancel()
		return fmt.Errorf("module %s: start: %w", d.Name, err)
	}
	r.setState(d.Name, StateRunning)
	log.Debug("module started", "took", time.Since(begin))
	if f, ok := m.(Failer); ok {
		go func() {
			err, ok := <-f.Failed()
			if !ok || err == nil {
				return
			}
			r.setState(d.Name, StateFailed)
			failed <- fmt.Errorf("module %s: %w", d.Name, err)
		}()
	}
	return nil
}

// stopAll drains then stops the first n modules in reverse start order within
// the shared StopTimeout budget.
func (r *Runner) stopAll(n int) {
	r.mu.Lock()
	r.draining = true
	mods := make([]Module, 0, n)
	for _, d := range r.defs[:n] {
		mods = append(mods, r.modules[d.Name])
	}
	r.mu.Unlock()
	for _, m := range mods {
		if d, ok := m.(Drainer); ok {
			d.Drain()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.StopTimeout)
	defer cancel()
	for i := n - 1; i >= 0; i-- {
		d := r.defs[i]
		m := mods[i]
		if r.state(d.Name) != StateFailed {
			r.setState(d.Name, StateStopping)
		}
		if err := m.Stop(ctx); err != nil {
			r.log.Error("module stop failed", "module", d.Name, "err", err)
			r.setState(d.Name, StateFailed)
			continue
		}
		if r.state(d.Name) != StateFailed {
			r.setState(d.Name, StateStopped)
		}
		r.log.Debug("module stopped", "module", d.Name)
	}
}

func (r *Runner) setState(name string, s State) {
	r.mu.Lock()
	r.states[name] = s
	r.mu.Unlock()
}

func (r *Runner) state(name string) State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.states[name]
}

// States returns a snapshot of every module's state.
func (r *Runner) States() map[string]State {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]State, len(r.states))
	for k, v := range r.states {
		out[k] = v
	}
	return out
}

// ErrDraining is returned by Ready once shutdown has begun.
var ErrDraining = errors.New("shutting down")
