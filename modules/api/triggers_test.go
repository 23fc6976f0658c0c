package api

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTriggerWebhookAdministration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	f := newDefsFixture(t, e, "wh")
	ref := f.trigger
	require.Equal(t, 200, e.do("POST", "/api/v1/triggers/"+ref+"/webhooks/disable", e.admin, nil).status)
	r := e.do("POST", "/api/v1/triggers/"+ref+"/webhooks/regenerate", e.admin, nil)
	require.Equal(t, 400, r.status, string(r.raw))

	cfg := map[string]any{"webhook_config": map[string]any{
		"hmac":         map[string]any{"enabled": true, "secret": "a-very-long-hmac-secret-value", "algorithm": "sha256"},
		"ip_whitelist": map[string]any{"enabled": true, "ips": []string{"10.0.0.0/8"}},
		"rate_limit":   map[string]any{"enabled": true, "requests": 10, "window_seconds": 60}}}
	r = e.do("POST", "/api/v1/triggers/"+ref+"/webhooks/enable", e.admin, cfg)
	require.Equal(t, 200, r.status, string(r.raw))
	key, _ := r.data()["webhook_key"].(string)
	require.Regexp(t, `^wh_[0-9a-f]{32}$`, key)
	require.True(t, strings.HasSuffix(r.data()["url"].(string), "/api/v1/webhooks/"+key))
	require.Equal(t, "a-very-long-hmac-secret-value", r.data()["hmac_secret"])

	// Stored sealed, never returned again, and opens with the documented aad.
	tr, err := e.st.TriggerGetByRef(ctx, ref)
	require.NoError(t, err)
	require.NotContains(t, string(tr.WebhookConfig), "a-very-long-hmac-secret-value")
	var stored WebhookConfig
	require.NoError(t, json.Unmarshal(tr.WebhookConfig, &stored))
	var secret string
	require.NoError(t, e.m.box.DecryptRow(stored.HMAC.SecretSealed, stored.HMAC.SecretKeyHash, WebhookSecretAAD(ref), &secret))
	require.Equal(t, "a-very-long-hmac-secret-value", secret)
	r = e.do("GET", "/api/v1/triggers/"+ref, e.admin, nil)
	require.Equal(t, 200, r.status)
	require.NotContains(t, string(r.raw), "secret_sealed")
	require.NotContains(t, string(r.raw), "a-very-long-hmac-secret-value")
	require.Contains(t, string(r.raw), `"secret_set":true`)

	r = e.do("POST", "/api/v1/triggers/"+ref+"/webhooks/regenerate", e.admin, nil)
	require.Equal(t, 200, r.status)
	require.NotEqual(t, key, r.data()["webhook_key"])

	bad := map[string]any{"webhook_config": map[string]any{"ip_whitelist": map[string]any{"enabled": true, "ips": []string{"nope"}}}}
	r = e.do("POST", "/api/v1/triggers/"+ref+"/webhooks/enable", e.admin, bad)
	require.Equal(t, 422, r.status)
	require.Equal(t, "webhook_config.ip_whitelist.ips[0]", r.body["details"].(map[string]any)["field"])

	r = e.do("POST", "/api/v1/triggers/"+ref+"/webhooks/disable", e.admin, nil)
	require.Equal(t, 200, r.status)
	tr, err = e.st.TriggerGetByRef(ctx, ref)
	require.NoError(t, err)
	require.False(t, tr.WebhookEnabled)
	require.Nil(t, tr.WebhookKey)
}

func TestPackUploadAndInstall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(d *Deps) { d.PacksBaseDir = filepath.Join(t.TempDir(), "packs") })
	_, err := e.m.packs.Load().EnsureCore(context.Background())
	require.NoError(t, err)

	// Install from a server path.
	r := e.do("POST", "/api/v1/packs/install", e.admin, map[string]any{"source": demoPack(t)})
	require.Equal(t, 200, r.status, string(r.raw))
	require.NotEmpty(t, r.data()["checksum"])
	require.Equal(t, 200, e.do("DELETE", "/api/v1/packs/demo", e.admin, nil).status)

	// Upload a .tar.gz built from the fixture.
	archive := filepath.Join(t.TempDir(), "demo.tar.gz")
	writeTarGz(t, archive, demoPack(t))
	upload := func(tok, name string) result {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, err := mw.CreateFormFile("file", name)
		require.NoError(t, err)
		src, err := os.Open(archive)
		require.NoError(t, err)
		defer src.Close()
		_, err = io.Copy(fw, src)
		require.NoError(t, err)
		require.NoError(t, mw.Close())
		req, err := http.NewRequest("POST", e.srv.URL+"/api/v1/packs/upload", &buf)
		require.NoError(t, err)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := testClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		res := result{status: resp.StatusCode, raw: raw}
		_ = json.Unmarshal(raw, &res.body)
		return res
	}
	_, viewer := e.user("up-viewer", "core.viewer")
	require.Equal(t, 403, upload(viewer, "demo.tar.gz").status)
	require.Equal(t, 422, upload(e.admin, "demo.rar").status)
	r = upload(e.admin, "demo.tar.gz")
	require.Equal(t, 200, r.status, string(r.raw))
	require.Equal(t, "demo", r.data()["pack"].(map[string]any)["ref"])
}

// writeTarGz archives dir's contents (flat, no top-level folder) at path.
func writeTarGz(t *testing.T, path, dir string) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	require.NoError(t, tw.AddFS(os.DirFS(dir)))
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
}
