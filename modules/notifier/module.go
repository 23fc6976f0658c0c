package notifier

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

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
	// AllowedOrigins are the browser origins (server.cors_origins, exact
	// match) allowed to open /ws besides the server's own host.
	AllowedOrigins []string
}

// Module is the notifier module: one LISTEN connection, an in-process hub,
// and the /ws endpoint.
type Module struct {
	d       Deps
	log     *slog.Logger
	issuer  *security.TokenIssuer
	metrics *metrics
	hub     *hub
	auth    *authorizer
	lis     *store.Listener
	pres    *presence

	ctx     context.Context // ends at Stop; closes client connections
	cancel  context.CancelFunc
	running sync.WaitGroup
}

// New builds the notifier module.
func New(d Deps) (*Module, error) {
	if d.Store == nil || d.HTTP == nil {
		return nil, fmt.Errorf("notifier: store and http are required")
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Config.ClientBuffer < 1 {
		d.Config.ClientBuffer = Defaults().ClientBuffer
	}
	if d.Config.TokenCheckInterval <= 0 {
		d.Config.TokenCheckInterval = Defaults().TokenCheckInterval
	}
	issuer, err := security.NewTokenIssuer([]byte(d.Security.JWTSecret), nil)
	if err != nil {
		return nil, fmt.Errorf("notifier: %w", err)
	}
	met, err := newMetrics(d.Metrics)
	if err != nil {
		return nil, fmt.Errorf("notifier: register metrics: %w", err)
	}
	m := &Module{d: d, log: d.Log, issuer: issuer, metrics: met, hub: newHub(met)}
	m.auth = &authorizer{st: d.Store, log: d.Log, cache: newLookupCache()}
	m.lis = newListener(d.Store, d.Log, m.hub, met, time.Now)
	m.pres = newPresence(d.Store)
	return m, nil
}

// Start LISTENs on PostgreSQL and mounts /ws. The first LISTEN happens
// before Start returns, so once the process is ready no notification
// committed afterwards is missed.
func (m *Module) Start(ctx context.Context) error {
	if err := m.lis.Connect(ctx); err != nil {
		return fmt.Errorf("notifier: %w", err)
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.running.Add(2)
	go func() {
		defer m.running.Done()
		m.lis.Run(m.ctx)
	}()
	go func() {
		defer m.running.Done()
		m.pres.run(m.ctx, m.log)
	}()
	m.d.HTTP.Mount("notifier", "/ws", http.HandlerFunc(m.serveWS))
	return nil
}

// Stop unmounts /ws, closes client connections (1001 going away) and the
// LISTEN connection.
func (m *Module) Stop(ctx context.Context) error {
	if m.cancel == nil {
		return nil
	}
	m.d.HTTP.Unmount("/ws")
	m.cancel()
	err := m.hub.closeAll(ctx)
	m.running.Wait()
	return err
}

// CheckHealth fails while the LISTEN connection is down (/readyz).
func (m *Module) CheckHealth(context.Context) error { return m.lis.Health() }
