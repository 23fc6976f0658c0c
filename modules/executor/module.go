package executor

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attune-system/attune/modules/bus"
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
}

// Module is the executor module.
type Module struct {
	d Deps
}

// New builds the executor module.
func New(d Deps) (*Module, error) {
	return &Module{d: d}, nil
}

// Start subscribes to events, enforcements and completions.
func (m *Module) Start(ctx context.Context) error {
	return nil
}

// Stop stops consuming; unacked messages return to their queues.
func (m *Module) Stop(ctx context.Context) error {
	return nil
}
