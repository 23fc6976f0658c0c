// Package app is the composition root: it turns a Config and a role list into
// a kernel Runner with every selected module wired to the shared
// infrastructure. It is the only package that imports every module.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/attune-system/attune/modules/buildinfo"
	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/httpserver"
	"github.com/attune-system/attune/modules/kernel"
	"github.com/attune-system/attune/modules/store"
)

// App is one attune process.
type App struct {
	cfg     Config
	log     *slog.Logger
	roles   []string // visible modules selected by --roles
	metrics *prometheus.Registry
	runner  *kernel.Runner

	// Shared infrastructure, set by the hidden modules as they start; module
	// constructors run after their dependencies started, so they may read these.
	http  *httpserver.Server
	store *store.Store
	bus   bus.Bus
	devdb *devDatabase
}

// New validates cfg for the selected roles and builds the process. It does
// not touch the network: Run does.
func New(cfg Config, roles []string, log *slog.Logger) (*App, error) {
	reg := kernel.NewRegistry()
	a := &App{log: log, metrics: prometheus.NewRegistry()}
	a.define(reg)
	selected, err := reg.ExpandRoles(roles)
	if err != nil {
		return nil, err
	}
	a.roles = selected
	if cfg.MessageQueue.URL == "" && !a.allRoles(reg) {
		return nil, fmt.Errorf("roles %v run without the rest need a message broker shared by every process: "+
			"set message_queue.url (ATTUNE__MESSAGE_QUEUE__URL=amqp://…); the in-process bus only works with --roles=all", selected)
	}
	if err := cfg.Validate(selected); err != nil {
		return nil, err
	}
	cfg.resolveDirs()
	if cfg.Dev {
		if err := prepareDev(&cfg, log); err != nil {
			return nil, err
		}
	}
	a.cfg = cfg
	defs, err := reg.Resolve(selected)
	if err != nil {
		return nil, err
	}
	a.http = httpserver.New(cfg.Server, log.With("module", "http"), a.metrics)
	a.http.SetReadiness(a.Readiness)
	a.runner = kernel.NewRunner(defs, log, kernel.RunnerOptions{StopTimeout: cfg.Shutdown.GracePeriod})
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	info := buildinfo.Get()
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "attune_build_info", Help: "Build information; always 1."},
		[]string{"version", "commit", "goversion"})
	build.WithLabelValues(info.Version, info.Commit, info.GoVersion).Set(1)
	a.metrics.MustRegister(build)
	return a, nil
}

// allRoles reports whether every visible module runs in this process, the
// only layout where the in-process bus is correct.
func (a *App) allRoles(reg *kernel.Registry) bool {
	all, _ := reg.ExpandRoles([]string{"all"})
	return len(all) == len(a.roles)
}

// Roles returns the selected visible modules.
func (a *App) Roles() []string { return a.roles }

// Modules returns every module that runs, in start order.
func (a *App) Modules() []string { return a.runner.Names() }

// Run starts the modules and blocks until ctx is cancelled (clean stop,
// returns nil) or a module fails.
func (a *App) Run(ctx context.Context) error {
	return a.runner.Run(ctx)
}

// Readiness is what /readyz reports.
func (a *App) Readiness(ctx context.Context) ([]kernel.Check, bool) {
	return a.runner.Readiness(ctx, 2*time.Second, nil)
}

// HTTPAddr is the bound listener address once the http module started.
func (a *App) HTTPAddr() string {
	return a.http.Addr()
}

// HTTPURL is the base URL clients use once the http module started.
func (a *App) HTTPURL() string {
	return a.http.URL()
}

// errNotStarted guards accessors used before their module started.
var errNotStarted = errors.New("not started")
