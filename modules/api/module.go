package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/httpserver"
	"github.com/attune-system/attune/modules/packsvc"
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

// Mount prefixes on the shared listener.
var mountPrefixes = []string{"/api/", "/auth/", "/api-spec/"}

// Module is the api module.
type Module struct {
	d Deps

	echo         *echo.Echo
	doc          *openapi3.T
	docJSON      []byte
	tokens       *security.TokenIssuer
	box          *security.SecretBox
	hashSem      chan struct{}
	loginLimiter *security.Limiter
	reqLimiter   *security.Limiter
	passwordCost security.Params
	now          func() time.Time
	mounted      bool
	dummyOnce    sync.Once
	out          io.Writer // where the generated admin password is printed
	dummy        string
	// packs is the shared pack service (same code path as the CLI); nil
	// when Deps.PacksBaseDir is empty (pack mutations then answer 503).
	packs atomic.Pointer[packsvc.Service]
}

// New builds the api module. Secrets are checked here so a misconfigured
// process fails before it binds anything.
func New(d Deps) (*Module, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	tokens, err := security.NewTokenIssuer([]byte(d.Security.JWTSecret), nil)
	if err != nil {
		return nil, fmt.Errorf("api: security.jwt_secret: %w", err)
	}
	box, err := security.NewSecretBox(d.Security.EncryptionKey)
	if err != nil {
		return nil, fmt.Errorf("api: security.encryption_key: %w", err)
	}
	cfg := d.Config
	window := cfg.LoginRateWindow
	loginLim, err := security.NewLimiter(float64(cfg.LoginRateLimit)/window.Seconds(), cfg.LoginRateLimit, 10*window)
	if err != nil {
		return nil, fmt.Errorf("api: login rate limit: %w", err)
	}
	reqLim, err := security.NewLimiter(float64(cfg.RateLimit), 2*cfg.RateLimit, 10*time.Minute)
	if err != nil {
		return nil, fmt.Errorf("api: rate limit: %w", err)
	}
	if d.Security.AccessTTL <= 0 {
		d.Security.AccessTTL = time.Hour
	}
	if d.Security.RefreshTTL <= 0 {
		d.Security.RefreshTTL = 7 * 24 * time.Hour
	}
	return &Module{
		d: d, tokens: tokens, box: box,
		// Argon2id at 64 MiB per hash: two at a time bounds memory and
		// keeps a login flood from starving the 2-core box.
		hashSem:      make(chan struct{}, 2),
		loginLimiter: loginLim, reqLimiter: reqLim,
		passwordCost: security.DefaultParams, now: time.Now, out: os.Stdout,
	}, nil
}

// Start loads the OpenAPI contract, builds the router from the route table,
// bootstraps the system and first-run admin identities and mounts the API.
func (m *Module) Start(ctx context.Context) error {
	doc, js, err := loadSpec(ctx)
	if err != nil {
		return err
	}
	m.doc, m.docJSON = doc, js
	if err := m.startPacks(); err != nil {
		return err
	}
	if err := m.bootstrap(ctx); err != nil {
		return err
	}
	e, err := m.buildEcho(m.routes())
	if err != nil {
		return err
	}
	m.echo = e
	for _, p := range mountPrefixes {
		m.d.HTTP.Mount("api", p, e)
	}
	m.mounted = true
	return nil
}

// Stop unmounts the routes; in-flight requests finish under the listener's drain.
func (m *Module) Stop(ctx context.Context) error {
	if !m.mounted {
		return nil
	}
	for _, p := range mountPrefixes {
		m.d.HTTP.Unmount(p)
	}
	m.mounted = false
	return nil
}

// buildEcho registers every route with its middleware chain, in order:
// authenticate → rate limit → audit → validate (OpenAPI) → handler. Auth
// runs before validation so anonymous callers learn nothing about schemas.
func (m *Module) buildEcho(routes []Route) (*echo.Echo, error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = echo.ExtractIPDirect()
	e.HTTPErrorHandler = m.errorHandler
	e.Use(securityHeaders, cors(m.d.Server.CORSOrigins), m.limits)
	v := &validator{doc: m.doc}
	seen := map[string]bool{}
	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		if seen[key] {
			return nil, fmt.Errorf("api: route %s registered twice", key)
		}
		seen[key] = true
		if _, op := v.operation(rt.Method, rt.Path); op == nil {
			return nil, fmt.Errorf("api: route %s has no operation in the OpenAPI document", key)
		} else if op.OperationID != rt.OperationID {
			return nil, fmt.Errorf("api: route %s: operationId %q in the table, %q in the document", key, rt.OperationID, op.OperationID)
		}
		chain := []echo.MiddlewareFunc{m.authenticate(rt), m.rateLimit, m.audit(rt), v.middleware(rt)}
		if rt.SelfGoverned {
			// The receiver also checks its own input (key, Idempotency-Key,
			// raw body): kin-openapi compiles a JSON Schema 2020 validator
			// per call for 3.1 documents, which would dominate the cost of
			// a webhook delivery.
			chain = []echo.MiddlewareFunc{m.authenticate(rt)}
		}
		e.Add(rt.Method, echoPath(rt.Path), rt.Handler, chain...)
	}
	m.staticRoutes(e)
	e.RouteNotFound("/*", func(c echo.Context) error {
		return &APIError{Status: http.StatusNotFound, Code: "NOT_FOUND", Message: "no route for " + c.Request().URL.Path}
	})
	return e, nil
}

// resolveForTest is used by benchmarks: verify + resolve without HTTP.
func (m *Module) resolveToken(ctx context.Context, tok string) (*access.Principal, error) {
	c, err := m.tokens.Verify(tok)
	if err != nil {
		return nil, err
	}
	return access.Resolve(ctx, m.d.Store, c)
}
