package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/pack"
	"github.com/attune-system/attune/modules/store"
)

// coreAction registers a core builtin with the core pack's real schemas.
func (e *env) coreAction(name string) store.Action {
	e.t.Helper()
	ctx := context.Background()
	core, err := pack.CorePack()
	require.NoError(e.t, err)
	p, err := e.st.PackUpsert(ctx, store.Pack{Ref: "core", Label: "Core", Version: core.Version})
	require.NoError(e.t, err)
	require.NoError(e.t, os.MkdirAll(filepath.Join(e.packsDir, "core"), 0o755))
	for _, a := range core.Actions {
		if a.Ref != "core."+name {
			continue
		}
		out := json.RawMessage(`{}`)
		if a.Output != nil {
			out = a.Output.JSON()
		}
		to := int32(a.TimeoutSeconds)
		saved, err := e.st.ActionUpsert(ctx, store.Action{Ref: a.Ref, Pack: p.ID, PackRef: "core", Label: a.Label,
			Entrypoint: a.EntryPoint, Runtime: &e.nativeRT, Enabled: true, ParamSchema: a.Parameters.JSON(), OutSchema: out,
			ParameterDelivery: a.ParameterDelivery, ParameterFormat: a.ParameterFormat, OutputFormat: a.OutputFormat,
			TimeoutSeconds: &to, ReferenceVisibility: "public", OnWorkerLost: "abandon", MaxAttempts: 1})
		require.NoError(e.t, err)
		return saved
	}
	e.t.Fatalf("core.%s not in the core pack", name)
	return store.Action{}
}

func TestCoreLocal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	act := e.coreAction("local")
	dir := t.TempDir()
	ex := e.run(act, map[string]any{"cmd": `echo "$GREETING from $(pwd) $ATTUNE_ACTION"; echo oops >&2`,
		"env": map[string]any{"GREETING": "hi; rm -rf /"}, "cwd": dir})
	require.Equal(t, "completed", ex.Status, "%s", ex.Result)
	require.Equal(t, fmt.Sprintf("hi; rm -rf / from %s core.local\n", dir), result(t, ex)["stdout"])

	ex = e.run(act, map[string]any{"cmd": "exit 4"})
	require.Equal(t, "failed", ex.Status)
	require.Equal(t, float64(4), result(t, ex)["exit_code"])

	ex = e.run(act, map[string]any{"cmd": "true", "env": map[string]any{"ATTUNE_API_TOKEN": "x"}})
	require.Equal(t, "failed", ex.Status)
	require.Contains(t, result(t, ex)["error"], "names starting with ATTUNE_ are reserved")

	ex = e.run(act, map[string]any{"cmd": "sleep 30", "timeout": 1})
	require.Equal(t, "timeout", ex.Status)
}

func TestCoreHTTPRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	act := e.coreAction("http_request")
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/json":
			if r.Header.Get("Authorization") != "Bearer tok-123" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			var in map[string]any
			_ = json.NewDecoder(r.Body).Decode(&in)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"q": r.URL.Query().Get("q"), "method": r.Method, "in": in})
		case "/loop":
			http.Redirect(w, r, srv.URL+"/loop", http.StatusFound)
		case "/basic":
			u, p, _ := r.BasicAuth()
			fmt.Fprintf(w, "%s:%d", u, len(p))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)

	ex := e.run(act, map[string]any{"url": srv.URL + "/json", "method": "POST", "query_params": map[string]any{"q": "v"},
		"json_body": map[string]any{"k": "v"}, "auth_type": "bearer", "auth_token": "tok-123"})
	require.Equal(t, "completed", ex.Status, "%s", ex.Result)
	require.NotContains(t, string(ex.Result), "tok-123")
	data := result(t, ex)["data"].(map[string]any)
	require.Equal(t, float64(200), data["status_code"])
	require.Equal(t, true, data["success"])
	require.Equal(t, map[string]any{"q": "v", "method": "POST", "in": map[string]any{"k": "v"}}, data["json"])
	require.Equal(t, srv.URL+"/json?q=v", data["url"])
	require.Contains(t, data, "elapsed_ms")
	require.Equal(t, "application/json", data["headers"].(map[string]any)["Content-Type"])

	ex = e.run(act, map[string]any{"url": srv.URL + "/basic", "auth_type": "basic", "auth_username": "bob", "auth_password": "pw-secret"})
	require.Equal(t, "completed", ex.Status)
	require.Equal(t, "bob:9", result(t, ex)["data"].(map[string]any)["body"])

	ex = e.run(act, map[string]any{"url": srv.URL + "/missing"})
	require.Equal(t, "failed", ex.Status)
	require.Equal(t, float64(404), result(t, ex)["data"].(map[string]any)["status_code"])

	ex = e.run(act, map[string]any{"url": srv.URL + "/loop", "max_redirects": 2})
	require.Equal(t, "failed", ex.Status)
	require.Contains(t, result(t, ex)["error"], "stopped after 2 redirects")

	ex = e.run(act, map[string]any{"url": "file:///etc/passwd"})
	require.Equal(t, "failed", ex.Status)
	require.Contains(t, result(t, ex)["error"], "parameter url")
}
