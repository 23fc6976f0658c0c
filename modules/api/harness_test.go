package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/httpserver"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/store"
	"github.com/attune-system/attune/modules/store/storetest"
)

// env is one started api module on its own database, served by httptest.
type env struct {
	t     testing.TB
	m     *Module
	st    *store.Store
	srv   *httptest.Server
	admin string // admin access token
	out   *bytes.Buffer
}

type envOpt func(*Deps)

func newEnv(t testing.TB, opts ...envOpt) *env {
	t.Helper()
	st := storetest.NewStore(t)
	d := Deps{
		Config: Config{LoginRateLimit: 1000, LoginRateWindow: time.Minute, RateLimit: 1000},
		Server: httpserver.Config{MaxBodySize: 1 << 20, RequestTimeout: 10 * time.Second,
			CORSOrigins: []string{"https://ui.example.com"}},
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Store: st, Metrics: prometheus.NewRegistry(),
		Security: security.Settings{JWTSecret: security.GenerateSecret(), EncryptionKey: security.GenerateSecret(),
			AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour, AdminLogin: "admin", AdminPassword: "Adm1n-test-password"},
	}
	for _, o := range opts {
		o(&d)
	}
	d.HTTP = httpserver.New(d.Server, d.Log, prometheus.NewRegistry())
	m, err := New(d)
	require.NoError(t, err)
	m.passwordCost = security.TestParams
	out := &bytes.Buffer{}
	m.out = out
	require.NoError(t, m.Start(context.Background()))
	t.Cleanup(func() { _ = m.Stop(context.Background()) })
	srv := httptest.NewServer(m.echo)
	t.Cleanup(srv.Close)
	e := &env{t: t, m: m, st: st, srv: srv, out: out}
	admin, err := st.IdentityGetByLogin(context.Background(), "admin")
	require.NoError(t, err)
	e.admin = e.tokenFor(admin)
	return e
}

// tokenFor mints a recorded access token without a password round trip.
func (e *env) tokenFor(ident store.Identity) string {
	e.t.Helper()
	resp, err := e.m.issuePair(context.Background(), ident, "", nil, "")
	require.NoError(e.t, err)
	return resp.AccessToken
}

// user creates an identity holding the given permission sets and returns
// it with an access token.
func (e *env) user(login string, sets ...string) (store.Identity, string) {
	e.t.Helper()
	ctx := context.Background()
	hash, err := security.HashPassword("Passw0rd-"+login, security.TestParams)
	require.NoError(e.t, err)
	ident, err := e.st.IdentityInsert(ctx, store.NewIdentity{Login: login, PasswordHash: &hash})
	require.NoError(e.t, err)
	for _, ref := range sets {
		set, err := e.st.PermissionSetGetByRef(ctx, ref)
		require.NoError(e.t, err)
		_, err = e.st.PermissionAssignmentInsert(ctx, ident.ID, set.ID)
		require.NoError(e.t, err)
	}
	return ident, e.tokenFor(ident)
}

type result struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (e *env) do(method, path, token string, body any, hdr ...string) result {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := testClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	r := result{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (r result) data() map[string]any {
	d, _ := r.body["data"].(map[string]any)
	return d
}

func (r result) items() []any {
	it, _ := r.body["items"].([]any)
	return it
}

// testClient bounds every request so a server-side hang fails the test
// with the offending request instead of stalling it.
var testClient = &http.Client{Timeout: 15 * time.Second}
