package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/app/apptest"
)

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) do(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(c.t, err)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (c client) waitStatus(id int64, want ...string) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, body := c.do("GET", fmt.Sprintf("/api/v1/executions/%d", id), nil)
		require.Equal(c.t, http.StatusOK, st)
		d := body["data"].(map[string]any)
		for _, w := range want {
			if d["status"] == w {
				return d
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("execution %d still %v, want %v", id, d["status"], want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestExecuteThroughAPI(t *testing.T) {
	t.Parallel()
	inst := apptest.Start(t, apptest.Options{Roles: []string{"all"}})
	c := client{t: t, base: inst.URL}
	st, login := c.do("POST", "/auth/login", map[string]any{"login": inst.Config.Security.AdminLogin, "password": inst.Config.Security.AdminPassword})
	require.Equal(t, http.StatusOK, st, login)
	c.token = login["data"].(map[string]any)["access_token"].(string)

	// core.echo runs on the real worker.
	st, body := c.do("POST", "/api/v1/executions/execute", map[string]any{"action_ref": "core.echo", "parameters": map[string]any{"message": "hi there"}})
	require.Equal(t, http.StatusCreated, st, body)
	id := int64(body["data"].(map[string]any)["id"].(float64))
	done := c.waitStatus(id, "completed", "failed")
	require.Equal(t, "completed", done["status"], done)
	require.Contains(t, fmt.Sprint(done["result"]), "hi there")

	// T3.13: a missing required parameter fails the execution with the exact message.
	st, body = c.do("POST", "/api/v1/executions/execute", map[string]any{"action_ref": "core.http_request", "parameters": map[string]any{}})
	require.Equal(t, http.StatusCreated, st, body)
	bad := c.waitStatus(int64(body["data"].(map[string]any)["id"].(float64)), "failed")
	require.Equal(t, "Missing required parameter: url", bad["result"].(map[string]any)["error"])

	// Rerun with edited parameters.
	st, body = c.do("POST", fmt.Sprintf("/api/v1/executions/%d/rerun", id), map[string]any{"parameters": map[string]any{"message": "again"}})
	require.Equal(t, http.StatusCreated, st, body)
	require.EqualValues(t, id, body["data"].(map[string]any)["rerun_of"])
	re := body["data"].(map[string]any)["execution"].(map[string]any)
	require.Equal(t, "again", re["parameters"].(map[string]any)["message"])
	c.waitStatus(int64(re["id"].(float64)), "completed")

	// Cancel a long sleep while it runs; a finished execution cannot be cancelled.
	st, body = c.do("POST", "/api/v1/executions/execute", map[string]any{"action_ref": "core.sleep", "parameters": map[string]any{"seconds": 30}})
	require.Equal(t, http.StatusCreated, st, body)
	sid := int64(body["data"].(map[string]any)["id"].(float64))
	st, body = c.do("POST", fmt.Sprintf("/api/v1/executions/%d/cancel", sid), nil)
	require.Equal(t, http.StatusOK, st, body)
	c.waitStatus(sid, "cancelled")
	st, _ = c.do("POST", fmt.Sprintf("/api/v1/executions/%d/cancel", id), nil)
	require.Equal(t, http.StatusConflict, st)

	// T3.22 pagination over executions: newest first, no dups or gaps.
	var seen []float64
	for page := 1; ; page++ {
		st, body = c.do("GET", fmt.Sprintf("/api/v1/executions?page=%d&page_size=2&include_total=true", page), nil)
		require.Equal(t, http.StatusOK, st, body)
		for _, it := range body["items"].([]any) {
			seen = append(seen, it.(map[string]any)["id"].(float64))
		}
		pg := body["pagination"].(map[string]any)
		require.EqualValues(t, 4, pg["total_items"])
		if !pg["has_next"].(bool) {
			break
		}
	}
	require.Len(t, seen, 4)
	for i := 1; i < len(seen); i++ {
		require.Greater(t, seen[i-1], seen[i])
	}
	st, body = c.do("GET", "/api/v1/executions/stats", nil)
	require.Equal(t, http.StatusOK, st)
	require.EqualValues(t, 4, body["data"].(map[string]any)["total"])
}
