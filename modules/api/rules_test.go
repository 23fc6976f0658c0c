package api

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/security/rbac"
)

// demoPack copies the demo fixture pack into a temp dir.
func demoPack(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "demo")
	require.NoError(t, os.CopyFS(dst, os.DirFS(filepath.Join("..", "..", "test", "testdata", "packs", "demo"))))
	return dst
}

// pendingKeys lists the routing keys of unpublished outbox rows about ruleRef.
func pendingRuleKeys(t *testing.T, e *env, ruleRef string) []string {
	t.Helper()
	msgs, err := e.st.OutboxClaimBatch(context.Background(), 1000, time.Millisecond)
	require.NoError(t, err)
	var keys []string
	for _, m := range msgs {
		var pl struct {
			RuleRef string `json:"rule_ref"`
		}
		if m.Exchange == bus.ExchangeEvents && json.Unmarshal(m.Payload, &pl) == nil && pl.RuleRef == ruleRef {
			keys = append(keys, m.RoutingKey)
		}
	}
	return keys
}

func TestRuleLifecycleThroughAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := ensurePacks(t, e)
	ctx := context.Background()
	_, err := svc.EnsureCore(ctx)
	require.NoError(t, err)
	r := e.do("POST", "/api/v1/packs/register", e.admin, map[string]any{"path": demoPack(t)})
	require.Equal(t, 200, r.status, string(r.raw))
	pk, _ := r.data()["pack"].(map[string]any)
	require.Equal(t, "demo", pk["ref"])

	body := map[string]any{"ref": "demo.api_rule", "pack_ref": "demo", "label": "API rule",
		"trigger_ref": "core.intervaltimer", "action_ref": "core.echo",
		"trigger_params": map[string]any{"interval": 5},
		"conditions":     map[string]any{"expression": "event.payload.x == 1"},
		"action_params":  map[string]any{"message": "{{ event.payload.x }}"}}
	r = e.do("POST", "/api/v1/rules", e.admin, body)
	require.Equal(t, 201, r.status, string(r.raw))
	require.Equal(t, true, r.data()["is_adhoc"])
	rule, err := e.st.RuleGetByRef(ctx, "demo.api_rule")
	require.NoError(t, err)
	require.True(t, rule.IsAdhoc)
	admin, err := e.st.IdentityGetByLogin(ctx, "admin")
	require.NoError(t, err)
	require.Equal(t, admin.ID, *rule.OwnerIdentity)
	require.Contains(t, pendingRuleKeys(t, e, "demo.api_rule"), bus.KeyRuleCreated)

	// Same ref again: conflict.
	require.Equal(t, 409, e.do("POST", "/api/v1/rules", e.admin, body).status)

	// Re-registering the pack keeps API-created rules (spec).
	r = e.do("POST", "/api/v1/packs/register", e.admin, map[string]any{"path": demoPack(t), "force": true})
	require.Equal(t, 200, r.status, string(r.raw))
	_, err = e.st.RuleGetByRef(ctx, "demo.api_rule")
	require.NoError(t, err)

	// Bad expression: 422 naming field and position.
	bad := map[string]any{"ref": "demo.bad", "pack_ref": "demo", "label": "B", "trigger_ref": "core.intervaltimer",
		"action_ref": "core.echo", "trigger_params": map[string]any{"interval": 5},
		"conditions": map[string]any{"expression": "event.payload.x == == 1"}}
	r = e.do("POST", "/api/v1/rules", e.admin, bad)
	require.Equal(t, 422, r.status, string(r.raw))
	details, _ := r.body["details"].(map[string]any)
	require.Equal(t, "conditions.expression", details["field"])
	require.Contains(t, r.body["error"], "conditions.expression:1:")

	// trigger_params checked against the trigger's schema.
	delete(bad, "conditions")
	bad["trigger_params"] = map[string]any{}
	r = e.do("POST", "/api/v1/rules", e.admin, bad)
	require.Equal(t, 422, r.status, string(r.raw))
	require.Contains(t, r.body["error"], "interval")

	// Disable, enable, delete: each announced.
	require.Equal(t, 200, e.do("POST", "/api/v1/rules/demo.api_rule/disable", e.admin, nil).status)
	require.Equal(t, 200, e.do("POST", "/api/v1/rules/demo.api_rule/enable", e.admin, nil).status)
	require.Equal(t, 200, e.do("DELETE", "/api/v1/rules/demo.api_rule", e.admin, nil).status)
	keys := pendingRuleKeys(t, e, "demo.api_rule")
	require.Contains(t, keys, bus.KeyRuleDisabled)
	require.Contains(t, keys, bus.KeyRuleEnabled)
	require.Contains(t, keys, bus.KeyRuleDeleted)
	require.Equal(t, 404, e.do("GET", "/api/v1/rules/demo.api_rule", e.admin, nil).status)

	// Per-pack listings and removal; core cannot be removed.
	r = e.do("GET", "/api/v1/packs/demo/actions", e.admin, nil)
	require.Equal(t, 200, r.status)
	require.NotEmpty(t, r.items())
	require.Equal(t, 422, e.do("DELETE", "/api/v1/packs/core", e.admin, nil).status)
	require.Equal(t, 200, e.do("DELETE", "/api/v1/packs/demo", e.admin, nil).status)
	require.Equal(t, 404, e.do("GET", "/api/v1/packs/demo", e.admin, nil).status)
}

// T3.11: a user with no permission sets sees core actions and can read
// core.echo, but nothing else. T3.10: a viewer cannot create.
func TestCoreVisibleToEveryone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := ensurePacks(t, e).EnsureCore(context.Background())
	require.NoError(t, err)
	_, tok := e.user("nobody")
	r := e.do("GET", "/api/v1/actions", tok, nil)
	require.Equal(t, 200, r.status)
	require.NotEmpty(t, r.items())
	for _, it := range r.items() {
		require.Equal(t, "core", it.(map[string]any)["pack_ref"])
	}
	r = e.do("GET", "/api/v1/actions/core.echo", tok, nil)
	require.Equal(t, 200, r.status, string(r.raw))
	require.Equal(t, "core.echo", r.data()["ref"])
	require.Equal(t, 200, e.do("GET", "/api/v1/packs/core", tok, nil).status)

	_, viewer := e.user("viewer", rbac.CoreViewer)
	r = e.do("POST", "/api/v1/actions", viewer, map[string]any{"ref": "core.mine", "pack_ref": "core", "label": "M", "entrypoint": "x.sh"})
	require.Equal(t, 403, r.status)
	r = e.do("POST", "/api/v1/packs/register", viewer, map[string]any{"path": demoPack(t)})
	require.Equal(t, 403, r.status)
}
