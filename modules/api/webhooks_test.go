package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func webhookCounts(t *testing.T, e *env, trig string) (events, logs int) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM event WHERE trigger_ref = $1 AND source_ref = 'webhook'`, trig).Scan(&events))
	require.NoError(t, e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM webhook_event_log WHERE trigger_ref = $1`, trig).Scan(&logs))
	return events, logs
}

func setWebhookConfig(t *testing.T, e *env, ref string, cfg WebhookConfig) {
	t.Helper()
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	_, err = e.st.Pool().Exec(context.Background(), `UPDATE trigger SET webhook_config = $2 WHERE ref = $1`, ref, b)
	require.NoError(t, err)
	forgetWebhook("")
	webhookCache.Lock()
	clear(webhookCache.m)
	webhookCache.Unlock()
}

func TestWebhookReceiver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin, _ := e.st.IdentityGetByLogin(context.Background(), "admin")
	f := seedPipeline(t, e.st, admin.ID)
	url := "/api/v1/webhooks/" + f.webhookKey

	// Happy path: payload is the body, headers and source recorded, secrets not.
	body := `{"action":"opened","n":[1,2,{"deep":true}]}`
	r := e.do("POST", url, "", body, "X-GitHub-Event", "issues", "Authorization", "Bearer nope", "User-Agent", "GitHub-Hookshot/1")
	require.Equal(t, http.StatusAccepted, r.status, string(r.raw))
	evID := int64(r.data()["event_id"].(float64))
	require.Equal(t, f.triggerRef, r.data()["trigger_ref"])
	ev, err := e.st.EventGet(context.Background(), evID)
	require.NoError(t, err)
	require.JSONEq(t, body, string(ev.Payload))
	var cfg map[string]any
	require.NoError(t, json.Unmarshal(ev.Config, &cfg))
	require.Equal(t, "webhook", cfg["source"])
	require.Equal(t, "127.0.0.1", cfg["source_ip"])
	require.Equal(t, "GitHub-Hookshot/1", cfg["user_agent"])
	require.Equal(t, "issues", cfg["headers"].(map[string]any)["X-Github-Event"])
	require.NotContains(t, string(ev.Config), "Bearer nope")
	require.NotContains(t, string(ev.Config), f.webhookKey, "the key is masked")

	// Idempotency-Key: a retry returns the same event.
	a := e.do("POST", url, "", `{"x":1}`, "Idempotency-Key", "delivery-1")
	require.Equal(t, http.StatusAccepted, a.status, string(a.raw))
	b := e.do("POST", url, "", `{"x":1}`, "Idempotency-Key", "delivery-1")
	require.Equal(t, http.StatusOK, b.status, string(b.raw))
	require.Equal(t, a.data()["event_id"], b.data()["event_id"])
	events, logs := webhookCounts(t, e, f.triggerRef)
	require.Equal(t, 2, events)
	require.Equal(t, 3, logs)

	// Each rejection: expected status, no event, exactly one more log row.
	reject := func(name string, want int, body string, hdr ...string) {
		t.Helper()
		ev0, log0 := webhookCounts(t, e, f.triggerRef)
		r := e.do("POST", url, "", body, hdr...)
		require.Equal(t, want, r.status, "%s: %s", name, r.raw)
		ev1, log1 := webhookCounts(t, e, f.triggerRef)
		require.Equal(t, ev0, ev1, "%s created an event", name)
		require.Equal(t, log0+1, log1, "%s: one log row", name)
	}
	reject("malformed", http.StatusBadRequest, `{"a":`)
	reject("deeply nested", http.StatusBadRequest, strings.Repeat("[", 1000)+strings.Repeat("]", 1000))
	reject("NUL in a string", http.StatusBadRequest, `{"a":"x\u0000y"}`)
	reject("number beyond jsonb's range", http.StatusBadRequest, `{"n":1e999999}`)
	// Over the server body cap the listener's limit middleware answers 413
	// before the handler runs: no event (and no log row, see report).
	ev0, _ := webhookCounts(t, e, f.triggerRef)
	require.Equal(t, http.StatusRequestEntityTooLarge, e.do("POST", url, "", `{"a":"`+strings.Repeat("x", 2<<20)+`"}`).status)
	ev1, _ := webhookCounts(t, e, f.triggerRef)
	require.Equal(t, ev0, ev1)

	require.Equal(t, http.StatusNotFound, e.do("POST", "/api/v1/webhooks/wh_00000000000000000000000000000000", "", `{}`).status)

	// Per-trigger size limit.
	setWebhookConfig(t, e, f.triggerRef, WebhookConfig{PayloadSizeLimitKB: 1})
	reject("over payload_size_limit_kb", http.StatusRequestEntityTooLarge, `{"a":"`+strings.Repeat("x", 2000)+`"}`)

	// IP allowlist.
	setWebhookConfig(t, e, f.triggerRef, WebhookConfig{IPWhitelist: &WebhookIPWhitelist{Enabled: true, IPs: []string{"10.0.0.0/8"}}})
	reject("ip not allowed", http.StatusForbidden, `{}`)
	setWebhookConfig(t, e, f.triggerRef, WebhookConfig{IPWhitelist: &WebhookIPWhitelist{Enabled: true, IPs: []string{"127.0.0.0/8"}}})
	require.Equal(t, http.StatusAccepted, e.do("POST", url, "", `{}`).status)

	// HMAC.
	sealed, err := e.m.box.Encrypt("topsecret", WebhookSecretAAD(f.triggerRef))
	require.NoError(t, err)
	setWebhookConfig(t, e, f.triggerRef, WebhookConfig{HMAC: &WebhookHMAC{Enabled: true, Algorithm: "sha256",
		SecretSealed: sealed, SecretKeyHash: e.m.box.KeyHash()}})
	signed := `{"signed":true}`
	mac := hmac.New(sha256.New, []byte("topsecret"))
	mac.Write([]byte(signed))
	good := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	reject("missing signature", http.StatusUnauthorized, signed)
	reject("bad signature", http.StatusUnauthorized, signed, "X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64))
	reject("signature of another body", http.StatusUnauthorized, `{"signed":false}`, "X-Hub-Signature-256", good)
	ok := e.do("POST", url, "", signed, "X-Hub-Signature-256", good)
	require.Equal(t, http.StatusAccepted, ok.status, string(ok.raw))
	okEv, err := e.st.EventGet(context.Background(), int64(ok.data()["event_id"].(float64)))
	require.NoError(t, err)
	var okCfg map[string]any
	require.NoError(t, json.Unmarshal(okEv.Config, &okCfg))
	require.Equal(t, true, okCfg["hmac_verified"])
	require.NotContains(t, string(okEv.Config), good, "signature header not recorded")

	// Rate limit: the count is this (trigger, key, ip)'s non-limited log rows in the window.
	setWebhookConfig(t, e, f.triggerRef, WebhookConfig{RateLimit: &WebhookRateLimit{Enabled: true, Requests: 1, WindowSeconds: 60}})
	rl := e.do("POST", url, "", `{}`)
	require.Equal(t, http.StatusTooManyRequests, rl.status, string(rl.raw))
	require.NotEmpty(t, rl.header.Get("Retry-After"))

	// Disabled webhook: the key stops working at once (cache notwithstanding).
	setWebhookConfig(t, e, f.triggerRef, WebhookConfig{})
	require.Equal(t, http.StatusAccepted, e.do("POST", url, "", `{}`).status) // warms the cache
	_, err = e.st.Pool().Exec(context.Background(), `UPDATE trigger SET webhook_enabled = false, webhook_key = NULL WHERE ref = $1`, f.triggerRef)
	require.NoError(t, err)
	ev0, _ = webhookCounts(t, e, f.triggerRef)
	require.Equal(t, http.StatusNotFound, e.do("POST", url, "", `{}`).status)
	ev1, _ = webhookCounts(t, e, f.triggerRef)
	require.Equal(t, ev0, ev1)
}
