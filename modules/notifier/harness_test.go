package notifier_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/httpserver"
	"github.com/attune-system/attune/modules/notifier"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
)

// env is a started notifier module on its own database, served by its own
// httpserver on a loopback port. (The notifier uses no bus, so the test
// needs no broker.)
type env struct {
	t      *testing.T
	m      *notifier.Module
	st     *store.Store
	issuer *security.TokenIssuer
	reg    *prometheus.Registry
	addr   string
	wsURL  string
}

func newEnv(t *testing.T, configure func(*notifier.Deps)) *env {
	t.Helper()
	ctx := context.Background()
	st := storetest.NewStore(t)
	require.NoError(t, access.EnsureBuiltinSets(ctx, st))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hcfg := httpserver.Defaults()
	hcfg.Host, hcfg.Port = "127.0.0.1", 0
	srv := httpserver.New(hcfg, log, prometheus.NewRegistry())
	require.NoError(t, srv.Start(ctx))
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	reg := prometheus.NewRegistry()
	d := notifier.Deps{
		Config: notifier.Defaults(), Log: log, Store: st, HTTP: srv, Metrics: reg,
		Security: security.Settings{JWTSecret: security.GenerateSecret()},
	}
	if configure != nil {
		configure(&d)
	}
	m, err := notifier.New(d)
	require.NoError(t, err)
	require.NoError(t, m.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = m.Stop(ctx)
	})
	issuer, err := security.NewTokenIssuer([]byte(d.Security.JWTSecret), nil)
	require.NoError(t, err)
	return &env{t: t, m: m, st: st, issuer: issuer, reg: reg, addr: srv.Addr(),
		wsURL: "ws" + strings.TrimPrefix(srv.URL(), "http") + "/ws"}
}

// counter reads a notifier metric (summed over labels matching label=value
// when label is set).
func (e *env) counter(name, label, value string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	require.NoError(e.t, err)
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			ok := label == ""
			for _, lp := range m.GetLabel() {
				ok = ok || (lp.GetName() == label && lp.GetValue() == value)
			}
			if !ok {
				continue
			}
			switch {
			case m.Counter != nil:
				total += m.GetCounter().GetValue()
			case m.Gauge != nil:
				total += m.GetGauge().GetValue()
			}
		}
	}
	return total
}

// identity creates login holding the given permission set refs and an
// extra set with grants (when non-empty).
func (e *env) identity(login string, sets []string, grants ...rbac.Grant) store.Identity {
	e.t.Helper()
	ctx := context.Background()
	ident, err := e.st.IdentityInsert(ctx, store.NewIdentity{Login: login})
	require.NoError(e.t, err)
	if len(grants) > 0 {
		raw, err := json.Marshal(grants)
		require.NoError(e.t, err)
		ps, err := e.st.PermissionSetUpsert(ctx, store.PermissionSet{Ref: "test." + login, Grants: raw})
		require.NoError(e.t, err)
		sets = append(sets, ps.Ref)
	}
	for _, ref := range sets {
		ps, err := e.st.PermissionSetGetByRef(ctx, ref)
		require.NoError(e.t, err)
		_, err = e.st.PermissionAssignmentInsert(ctx, ident.ID, ps.ID)
		require.NoError(e.t, err)
	}
	return ident
}

// token mints a token for ident; access tokens are recorded as the API
// records them (unrecorded access tokens are refused).
func (e *env) token(ident store.Identity, tt security.TokenType, ttl time.Duration, meta map[string]any) string {
	e.t.Helper()
	jti := security.NewJTI()
	tok, err := e.issuer.Issue(security.Claims{Subject: ident.ID, Login: ident.Login, TokenType: tt, JTI: jti,
		Metadata: meta}, ttl)
	require.NoError(e.t, err)
	if tt == security.TokenAccess {
		id := ident.ID
		require.NoError(e.t, e.st.AuthTokenInsert(context.Background(), store.NewAuthToken{
			JTI: jti, Identity: &id, TokenType: string(tt), ExpiresAt: time.Now().Add(ttl)}))
	}
	return tok
}

func (e *env) admin() string {
	return e.token(e.identity("admin_"+security.NewJTI()[:6], []string{rbac.CoreAdmin}), security.TokenAccess, time.Hour, nil)
}

// exec runs SQL on the app's database (status changes, raw NOTIFYs).
func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	_, err := e.st.Pool().Exec(context.Background(), sql, args...)
	require.NoError(e.t, err)
}

// dialRaw opens /ws with token in the Authorization header and extra
// headers; it returns the HTTP response on failure.
func (e *env) dialRaw(token string, hdr http.Header, subprotocols ...string) (*websocket.Conn, *http.Response, error) {
	if hdr == nil {
		hdr = http.Header{}
	}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return websocket.Dial(ctx, e.wsURL, &websocket.DialOptions{HTTPHeader: hdr, Subprotocols: subprotocols})
}

// refused asserts the upgrade fails with status.
func refused(t *testing.T, resp *http.Response, err error, status int) string {
	t.Helper()
	require.Error(t, err)
	require.NotNil(t, resp, "expected an HTTP answer, got %v", err)
	require.Equal(t, status, resp.StatusCode)
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// wsClient reads frames in the background so tests can wait for them.
type wsClient struct {
	t      *testing.T
	conn   *websocket.Conn
	frames chan map[string]any
	err    chan error // the read error that ended the stream
}

func (e *env) connect(token string) *wsClient {
	e.t.Helper()
	conn, resp, err := e.dialRaw(token, nil)
	if resp != nil && resp.Body != nil {
		defer resp.Body.Close()
	}
	require.NoError(e.t, err)
	return startReading(e.t, conn)
}

func startReading(t *testing.T, conn *websocket.Conn) *wsClient {
	c := &wsClient{t: t, conn: conn, frames: make(chan map[string]any, 10000), err: make(chan error, 1)}
	t.Cleanup(func() { _ = conn.CloseNow() })
	go func() {
		for {
			var f map[string]any
			if err := wsjson.Read(context.Background(), conn, &f); err != nil {
				c.err <- err
				close(c.frames)
				return
			}
			c.frames <- f
		}
	}()
	welcome := c.next(func(map[string]any) bool { return true })
	require.Equal(t, "welcome", welcome["type"])
	require.Equal(t, "Connected to Attune Notifier", welcome["message"])
	return c
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(c.t, wsjson.Write(ctx, c.conn, v))
}

// subscribe subscribes and waits until the server applied it: messages are
// handled in order, so the error answer to a probe proves it.
func (c *wsClient) subscribe(filter string) {
	c.t.Helper()
	c.send(map[string]string{"type": "subscribe", "filter": filter})
	c.sync()
}

func (c *wsClient) sync() {
	c.t.Helper()
	c.send(map[string]string{"type": "sync-probe"})
	c.next(func(f map[string]any) bool {
		return f["type"] == "error" && strings.Contains(f["message"].(string), "sync-probe")
	})
}

// next returns the first frame matching pred, failing after 10 s. Frames
// before it are discarded.
func (c *wsClient) next(pred func(map[string]any) bool) map[string]any {
	c.t.Helper()
	f, err := c.nextWithin(10*time.Second, pred)
	require.NoError(c.t, err)
	return f
}

func (c *wsClient) nextWithin(d time.Duration, pred func(map[string]any) bool) (map[string]any, error) {
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				return nil, <-c.err
			}
			if pred(f) {
				return f, nil
			}
		case <-deadline:
			return nil, errors.New("timed out waiting for a frame")
		}
	}
}

// notification waits for the next notification frame (any other frame in
// between fails the test, so nothing unexpected slips through).
func (c *wsClient) notification() map[string]any {
	c.t.Helper()
	f := c.next(func(map[string]any) bool { return true })
	require.Equal(c.t, "notification", f["type"], "frame %v", f)
	return f
}

// closeStatus waits for the stream to end and returns its close code.
func (c *wsClient) closeStatus(d time.Duration) websocket.StatusCode {
	c.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case _, ok := <-c.frames:
			if !ok {
				return websocket.CloseStatus(<-c.err)
			}
		case <-deadline:
			c.t.Fatal("connection not closed in time")
		}
	}
}

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

func strconvFormat(i int64) string { return strconv.FormatInt(i, 10) }

type notifierDeps = notifier.Deps
