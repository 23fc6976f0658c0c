package api

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/httpserver"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/store"
)

// Deps is everything the api module needs, handed in by the composition root.
type Deps struct {
	Config       Config
	Server       httpserver.Config
	Log          *slog.Logger
	Store        *store.Store
	Bus          bus.Bus
	HTTP         *httpserver.Server
	Metrics      prometheus.Registerer
	Security     security.Settings
	PacksBaseDir string
}

// Module is the api module.
type Module struct {
	d Deps
}

// New builds the api module.
func New(d Deps) (*Module, error) {
	return &Module{d: d}, nil
}

// Start mounts the API routes on the shared listener.
func (m *Module) Start(ctx context.Context) error {
	return nil
}

// Stop unmounts the routes; in-flight requests finish under the listener's drain.
func (m *Module) Stop(ctx context.Context) error {
	return nil
}
