package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/pack"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

// Triggers (spec §9.2) and webhook administration.
//
// # webhook_config (shared with the webhook receiver)
//
// trigger.webhook_config is stored as:
//
//	{
//	  "hmac": {"enabled": bool, "algorithm": "sha256"|"sha512"|"sha1",
//	           "secret_sealed": "<security.SecretBox ciphertext>",
//	           "secret_key_hash": "<SecretBox.KeyHash() at sealing>"},
//	  "ip_whitelist": {"enabled": bool, "ips": ["10.0.0.0/8", "192.0.2.7/32", …]},
//	  "rate_limit": {"enabled": bool, "requests": int, "window_seconds": int},
//	  "payload_size_limit_kb": int
//	}
//
// The HMAC secret is sealed with aad "webhook:<trigger ref>"; the receiver
// opens it with SecretBox.DecryptRow(secret_sealed, secret_key_hash,
// WebhookSecretAAD(ref), &secret) where secret is a string. The API never
// returns secret_sealed: reads show hmac.secret_set instead. A secret is
// returned once, in the answer to the call that set it (hmac.secret; one is
// generated when hmac is enabled without a secret).
func (m *Module) triggerRoutes() []Route {
	base := "/api/v1/triggers"
	return []Route{
		{Method: "GET", Path: base, OperationID: "listTriggers", Auth: Users, Handler: m.listTriggers},
		{Method: "POST", Path: base, OperationID: "createTrigger", Auth: Users, Handler: m.createTrigger},
		{Method: "GET", Path: base + "/{ref}", OperationID: "getTrigger", Auth: Users, Handler: m.getTrigger},
		{Method: "PUT", Path: base + "/{ref}", OperationID: "updateTrigger", Auth: Users, Handler: m.updateTrigger},
		{Method: "DELETE", Path: base + "/{ref}", OperationID: "deleteTrigger", Auth: Users, Handler: m.deleteTrigger},
		{Method: "POST", Path: base + "/{ref}/enable", OperationID: "enableTrigger", Auth: Users, Handler: m.setTriggerEnabled(true)},
		{Method: "POST", Path: base + "/{ref}/disable", OperationID: "disableTrigger", Auth: Users, Handler: m.setTriggerEnabled(false)},
		{Method: "POST", Path: base + "/{ref}/webhooks/enable", OperationID: "enableTriggerWebhook", Auth: Users, Handler: m.enableWebhook},
		{Method: "POST", Path: base + "/{ref}/webhooks/disable", OperationID: "disableTriggerWebhook", Auth: Users, Handler: m.disableWebhook},
		{Method: "POST", Path: base + "/{ref}/webhooks/regenerate", OperationID: "regenerateTriggerWebhook", Auth: Users, Handler: m.regenerateWebhook},
	}
}

// WebhookSecretAAD is the associated data sealing a trigger's HMAC secret.
func WebhookSecretAAD(triggerRef string) string { return "webhook:" + triggerRef }

// WebhookConfig is the stored trigger.webhook_config (see triggerRoutes).
type WebhookConfig struct {
	HMAC               *WebhookHMAC        `json:"hmac,omitempty"`
	IPWhitelist        *WebhookIPWhitelist `json:"ip_whitelist,omitempty"`
	RateLimit          *WebhookRateLimit   `json:"rate_limit,omitempty"`
	PayloadSizeLimitKB int                 `json:"payload_size_limit_kb,omitempty"`
}

// WebhookHMAC configures signature verification. Secret is only ever set on
// input and in the one answer that set it.
type WebhookHMAC struct {
	Enabled       bool   `json:"enabled"`
	Algorithm     string `json:"algorithm,omitempty"`
	Secret        string `json:"secret,omitempty"`
	SecretSealed  string `json:"secret_sealed,omitempty"`
	SecretKeyHash string `json:"secret_key_hash,omitempty"`
}

// WebhookIPWhitelist restricts callers to CIDR ranges.
type WebhookIPWhitelist struct {
	Enabled bool     `json:"enabled"`
	IPs     []string `json:"ips"`
}

// WebhookRateLimit bounds requests per window.
type WebhookRateLimit struct {
	Enabled       bool `json:"enabled"`
	Requests      int  `json:"requests"`
	WindowSeconds int  `json:"window_seconds"`
}

// triggerJSON renders a trigger without the sealed HMAC secret.
func triggerJSON(t store.Trigger) map[string]any {
	out := rowJSON(t, "webhook_config")
	var cfg WebhookConfig
	view := map[string]any{}
	if given(t.WebhookConfig) && json.Unmarshal(t.WebhookConfig, &cfg) == nil {
		if cfg.HMAC != nil {
			view["hmac"] = map[string]any{"enabled": cfg.HMAC.Enabled, "algorithm": cfg.HMAC.Algorithm,
				"secret_set": cfg.HMAC.SecretSealed != ""}
		}
		if cfg.IPWhitelist != nil {
			view["ip_whitelist"] = cfg.IPWhitelist
		}
		if cfg.RateLimit != nil {
			view["rate_limit"] = cfg.RateLimit
		}
		if cfg.PayloadSizeLimitKB > 0 {
			view["payload_size_limit_kb"] = cfg.PayloadSizeLimitKB
		}
	}
	out["webhook_config"] = view
	return out
}

func (m *Module) triggerItems(ctx context.Context, p *access.Principal, keep func(store.Trigger) bool) ([]map[string]any, error) {
	all, err := m.d.Store.TriggerList(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b store.Trigger) int { return int(b.ID - a.ID) })
	out := []map[string]any{}
	for _, t := range all {
		if keep(t) && access.CanRead(p, rbac.ResTriggers, deref(t.PackRef), t.Ref) {
			out = append(out, triggerJSON(t))
		}
	}
	return out, nil
}

func (m *Module) listTriggers(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	pg, err := parsePage(c)
	if err != nil {
		return err
	}
	packRef := c.QueryParam("pack_ref")
	items, err := m.triggerItems(c.Request().Context(), p, func(t store.Trigger) bool {
		return packRef == "" || deref(t.PackRef) == packRef
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pageSlice(pg, items))
}

func (m *Module) getTrigger(c echo.Context) error {
	_, t, err := m.triggerRows().load(c, "")
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, triggerJSON(t))
}

type triggerWrite struct {
	Ref         string          `json:"ref"`
	PackRef     string          `json:"pack_ref"`
	Label       *string         `json:"label"`
	Description *string         `json:"description"`
	Enabled     *bool           `json:"enabled"`
	ParamSchema json.RawMessage `json:"param_schema"`
	OutSchema   json.RawMessage `json:"out_schema"`
}

func applyTrigger(t *store.Trigger, w triggerWrite) error {
	if w.Label != nil {
		t.Label = *w.Label
	}
	if w.Description != nil {
		t.Description = w.Description
	}
	if w.Enabled != nil {
		t.Enabled = *w.Enabled
	}
	if given(w.ParamSchema) {
		if _, err := pack.ParseParamSchema(w.ParamSchema); err != nil {
			return domain.NewValidationError("param_schema", err.Error())
		}
		t.ParamSchema = w.ParamSchema
	}
	if given(w.OutSchema) {
		t.OutSchema = w.OutSchema
	}
	if strings.TrimSpace(t.Label) == "" {
		return domain.NewValidationError("label", "is required")
	}
	return nil
}

func (m *Module) createTrigger(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	var w triggerWrite
	if err := bind(c, &w); err != nil {
		return err
	}
	ctx := c.Request().Context()
	pk, err := m.packForWrite(ctx, p, rbac.ResTriggers, w.PackRef, w.Ref)
	if err != nil {
		return err
	}
	t := store.Trigger{Ref: w.Ref, Pack: &pk.ID, PackRef: &pk.Ref, Enabled: true, IsAdhoc: true}
	if err := applyTrigger(&t, w); err != nil {
		return err
	}
	out, err := createInPack(ctx, m.d.Store, pk.Ref, "trigger", t.Ref, exists((*store.Tx).TriggerGetByRef),
		func(tx *store.Tx) (store.Trigger, error) { return tx.TriggerUpsert(ctx, t) })
	if err != nil {
		return err
	}
	return data(c, http.StatusCreated, triggerJSON(out))
}

func (m *Module) updateTrigger(c echo.Context) error {
	_, t, err := m.triggerRows().load(c, rbac.ActUpdate)
	if err != nil {
		return err
	}
	var w triggerWrite
	if err := bind(c, &w); err != nil {
		return err
	}
	if err := applyTrigger(&t, w); err != nil {
		return err
	}
	out, err := m.d.Store.TriggerUpsert(c.Request().Context(), t)
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, triggerJSON(out))
}

func (m *Module) setTriggerEnabled(enabled bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		_, t, err := m.triggerRows().load(c, rbac.ActUpdate)
		if err != nil {
			return err
		}
		t.Enabled = enabled
		out, err := m.d.Store.TriggerUpsert(c.Request().Context(), t)
		if err != nil {
			return err
		}
		return data(c, http.StatusOK, triggerJSON(out))
	}
}

func (m *Module) deleteTrigger(c echo.Context) error {
	_, t, err := m.triggerRows().load(c, rbac.ActDelete)
	if err != nil {
		return err
	}
	if _, err := m.d.Store.TriggerDelete(c.Request().Context(), t.ID); err != nil {
		return err
	}
	return success(c, "trigger "+t.Ref+" deleted")
}

// webhookURL is where senders post for key.
func (m *Module) webhookURL(c echo.Context, key string) string {
	base := strings.TrimRight(m.d.Server.PublicURL, "/")
	if base == "" {
		base = c.Scheme() + "://" + c.Request().Host
	}
	return base + "/api/v1/webhooks/" + key
}

// sealWebhookConfig validates the requested config and seals its HMAC
// secret. It returns the stored JSON and the plaintext secret to show once
// ("" when none was set by this call).
func (m *Module) sealWebhookConfig(ref string, cfg *WebhookConfig) (json.RawMessage, string, error) {
	secret := ""
	if h := cfg.HMAC; h != nil {
		if h.Algorithm == "" {
			h.Algorithm = "sha256"
		}
		if h.Enabled && h.Secret == "" {
			h.Secret = security.GenerateSecret()
		}
		if h.Secret != "" {
			sealed, err := m.box.Encrypt(h.Secret, WebhookSecretAAD(ref))
			if err != nil {
				return nil, "", err
			}
			secret, h.Secret, h.SecretSealed, h.SecretKeyHash = h.Secret, "", sealed, m.box.KeyHash()
		}
	}
	if w := cfg.IPWhitelist; w != nil {
		for i, ip := range w.IPs {
			if _, err := parseCIDROrIP(ip); err != nil {
				return nil, "", domain.Invalidf("webhook_config.ip_whitelist.ips["+itoa(i)+"]", "%q is not an IP address or CIDR range", ip)
			}
		}
	}
	js, err := json.Marshal(cfg)
	return js, secret, err
}

func (m *Module) webhookAnswer(c echo.Context, t store.Trigger, secret string) error {
	out := map[string]any{"trigger_ref": t.Ref, "webhook_enabled": t.WebhookEnabled, "webhook_key": t.WebhookKey,
		"webhook_config": triggerJSON(t)["webhook_config"]}
	if t.WebhookKey != nil {
		out["url"] = m.webhookURL(c, *t.WebhookKey)
	}
	if secret != "" {
		out["hmac_secret"] = secret // shown once; only the sealed form is stored
	}
	return data(c, http.StatusOK, out)
}

// enableWebhook turns the trigger's webhook on, generating a key when it
// has none, and stores the optional webhook_config (the previous config is
// kept when none is given).
func (m *Module) enableWebhook(c echo.Context) error {
	_, t, err := m.triggerRows().load(c, rbac.ActUpdate)
	if err != nil {
		return err
	}
	var req struct {
		WebhookConfig *WebhookConfig `json:"webhook_config"`
	}
	if c.Request().ContentLength != 0 {
		if err := bind(c, &req); err != nil && !errors.Is(err, errEmptyBody) {
			return err
		}
	}
	var cfg json.RawMessage
	secret := ""
	if req.WebhookConfig != nil {
		if cfg, secret, err = m.sealWebhookConfig(t.Ref, req.WebhookConfig); err != nil {
			return err
		}
	}
	key := t.WebhookKey
	if key == nil {
		k := security.NewWebhookKey()
		key = &k
	}
	out, err := m.d.Store.TriggerSetWebhook(c.Request().Context(), t.ID, true, key, cfg)
	if err != nil {
		return err
	}
	return m.webhookAnswer(c, out, secret)
}

// disableWebhook turns the webhook off and clears the key, so the old URL
// stops working for good.
func (m *Module) disableWebhook(c echo.Context) error {
	_, t, err := m.triggerRows().load(c, rbac.ActUpdate)
	if err != nil {
		return err
	}
	out, err := m.d.Store.TriggerSetWebhook(c.Request().Context(), t.ID, false, nil, nil)
	if err != nil {
		return err
	}
	return m.webhookAnswer(c, out, "")
}

// regenerateWebhook replaces the key of an enabled webhook (400 otherwise).
func (m *Module) regenerateWebhook(c echo.Context) error {
	_, t, err := m.triggerRows().load(c, rbac.ActUpdate)
	if err != nil {
		return err
	}
	if !t.WebhookEnabled {
		return badRequest("webhook of trigger %s is not enabled", t.Ref)
	}
	k := security.NewWebhookKey()
	out, err := m.d.Store.TriggerSetWebhook(c.Request().Context(), t.ID, true, &k, nil)
	if err != nil {
		return err
	}
	return m.webhookAnswer(c, out, "")
}

// parseCIDROrIP accepts "10.0.0.0/8" or a bare address.
func parseCIDROrIP(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
