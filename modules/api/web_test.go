package api

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOpenAPIParity(t *testing.T) {
	t.Parallel()
	doc, _, err := loadSpec(context.Background())
	require.NoError(t, err)
	var fromDoc, fromTable []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			fromDoc = append(fromDoc, method+" "+path+" "+op.OperationID)
		}
	}
	m := &Module{}
	for _, rt := range m.routes() {
		fromTable = append(fromTable, rt.Method+" "+rt.Path+" "+rt.OperationID)
	}
	sort.Strings(fromDoc)
	sort.Strings(fromTable)
	require.Equal(t, fromDoc, fromTable, "route table and OpenAPI document must list the same operations")
}

func TestCORSExactMatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, origin := range []string{"null", "https://ui.example.com.evil.com", "https://evilui.example.com",
		"http://ui.example.com", "https://ui.example.com:8443", "*", "https://UI.example.com"} {
		r := e.do("GET", "/auth/settings", "", nil, "Origin", origin)
		require.Empty(t, r.header.Get("Access-Control-Allow-Origin"), origin)
		require.Contains(t, r.header.Values("Vary"), "Origin")
		pre := e.do("OPTIONS", "/api/v1/keys", "", nil, "Origin", origin, "Access-Control-Request-Method", "POST")
		require.Empty(t, pre.header.Get("Access-Control-Allow-Origin"), origin)
	}
	ok := e.do("OPTIONS", "/api/v1/keys", "", nil, "Origin", "https://ui.example.com", "Access-Control-Request-Method", "POST")
	require.Equal(t, http.StatusNoContent, ok.status)
	require.Equal(t, "https://ui.example.com", ok.header.Get("Access-Control-Allow-Origin"))
}

func TestSpecAndDocsServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	spec := e.do("GET", "/api-spec/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, spec.status)
	require.Equal(t, "3.1.0", spec.body["openapi"])
	docs := e.do("GET", "/api/docs", "", nil)
	require.Equal(t, http.StatusOK, docs.status)
	csp := docs.header.Get("Content-Security-Policy")
	require.Contains(t, csp, "script-src 'self'")
	require.NotContains(t, csp, "http")
	require.NotContains(t, string(docs.raw), "http", "nothing loaded from the internet")
	js := e.do("GET", "/api/docs/swagger-ui-bundle.js", "", nil)
	require.Equal(t, http.StatusOK, js.status)
	require.True(t, strings.HasPrefix(js.header.Get("Content-Type"), "text/javascript"))
}
