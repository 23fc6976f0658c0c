package sensor

import (
	"context"
	"log/slog"

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
}

// Module is the sensor module.
type Module struct {
	d Deps
}

// New builds the sensor module.
func New(d Deps) (*Module, error) {
	return &Module{d: d}, nil
}

// Start loads enabled rules and starts their timers and sensor processes.
func (m *Module) Start(ctx context.Context) error {
	return nil
}

// Stop stops timers and sensor processes.
func (m *Module) Stop(ctx context.Context) error {
	return nil
}
