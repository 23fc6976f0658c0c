package notifier

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attune-system/attune/modules/httpserver"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/store"
)

// Deps is everything the notifier module needs.
type Deps struct {
	Config   Config
	Log      *slog.Logger
	Store    *store.Store
	HTTP     *httpserver.Server
	Metrics  prometheus.Registerer
	Security security.Settings
}

// Module is the notifier module.
type Module struct {
	d Deps
}

// New builds the notifier module.
func New(d Deps) (*Module, error) {
	return &Module{d: d}, nil
}

// Start LISTENs on PostgreSQL and mounts /ws.
func (m *Module) Start(ctx context.Context) error {
	return nil
}

// Stop closes client connections and the LISTEN connection.
func (m *Module) Stop(ctx context.Context) error {
	return nil
}
