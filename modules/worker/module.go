package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attune-system/attune/modules/bus"
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
}

// Module is the worker module.
type Module struct {
	d Deps
}

// New builds the worker module.
func New(d Deps) (*Module, error) {
	return &Module{d: d}, nil
}

// Start registers the worker, starts heartbeats and consumes its queue.
func (m *Module) Start(ctx context.Context) error {
	return nil
}

// Stop stops taking work and drains running actions within ctx.
func (m *Module) Stop(ctx context.Context) error {
	return nil
}
