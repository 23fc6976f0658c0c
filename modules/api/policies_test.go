package api

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/store"
)

// TestPolicyCreateThroughAPIIsWhatTheExecutorReads creates a concurrency
// policy over REST and checks the row the scheduler's admission applies
// (store.PolicyEffectiveForAction): scope, threshold, method and groups.
func TestPolicyCreateThroughAPIIsWhatTheExecutorReads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	name := "pol" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	pk, err := e.st.PackUpsert(ctx, store.Pack{Ref: name, Label: name, Version: "1.0.0"})
	require.NoError(t, err)
	a, err := e.st.ActionUpsert(ctx, store.Action{Ref: name + ".act", Pack: pk.ID, PackRef: pk.Ref, Label: "A",
		Entrypoint: "run.sh", Enabled: true})
	require.NoError(t, err)

	body := map[string]any{"ref": name + ".limit", "name": "Limit", "priority": 5,
		"scope":       map[string]any{"type": "action", "action_ref": a.Ref},
		"concurrency": map[string]any{"limit": 3, "method": "cancel", "parameters": []string{"host"}},
		"tags":        []string{"ops"}}
	r := e.do("POST", "/api/v1/policies", e.admin, body)
	require.Equal(t, 201, r.status, string(r.raw))
	require.Equal(t, map[string]any{"type": "action", "action_ref": a.Ref}, r.data()["scope"])

	eff, err := e.st.PolicyEffectiveForAction(ctx, a.ID, a.Ref, pk.Ref)
	require.NoError(t, err)
	require.Equal(t, name+".limit", eff.Ref)
	require.Equal(t, int32(3), eff.Threshold)
	require.Equal(t, "cancel", eff.Method)
	require.Equal(t, []string{"host"}, eff.Parameters)
	require.Zero(t, eff.RateLimitMax)
	row, err := e.st.PolicyGetByRef(ctx, name+".limit")
	require.NoError(t, err)
	require.NotNil(t, row.Action)
	require.Equal(t, a.ID, *row.Action)
	require.Equal(t, pk.Ref, *row.PackRef)
	require.Equal(t, int32(5), row.Priority)

	// The same ref again is a conflict, not an overwrite.
	r = e.do("POST", "/api/v1/policies", e.admin, body)
	require.Equal(t, 409, r.status, string(r.raw))

	// PUT switches to enqueue with a new limit and adds a rate limit.
	r = e.do("PUT", "/api/v1/policies/"+name+".limit", e.admin, map[string]any{
		"concurrency": map[string]any{"limit": 7, "method": "enqueue"},
		"rate_limit":  map[string]any{"max_executions": 10, "window_seconds": 60}})
	require.Equal(t, 200, r.status, string(r.raw))
	eff, err = e.st.PolicyEffectiveForAction(ctx, a.ID, a.Ref, pk.Ref)
	require.NoError(t, err)
	require.Equal(t, int32(7), eff.Threshold)
	require.Equal(t, "enqueue", eff.Method)
	require.Empty(t, eff.Parameters)
	require.Equal(t, int32(10), eff.RateLimitMax)
	require.Equal(t, int32(60), eff.RateLimitWindowSeconds)

	// A pack scope is stored as action_ref "<pack>.*" with no action id.
	r = e.do("POST", "/api/v1/policies", e.admin, map[string]any{"ref": name + ".packwide",
		"scope":      map[string]any{"type": "pack", "pack_ref": pk.Ref},
		"rate_limit": map[string]any{"max_executions": 1, "window_seconds": 1}})
	require.Equal(t, 201, r.status, string(r.raw))
	require.Equal(t, map[string]any{"type": "pack", "pack_ref": pk.Ref}, r.data()["scope"])
	row, err = e.st.PolicyGetByRef(ctx, name+".packwide")
	require.NoError(t, err)
	require.Nil(t, row.Action)
	require.Equal(t, pk.Ref+".*", row.ActionRef)

	// API-created policies are ad hoc: re-registering the pack, which prunes
	// the policies its files no longer declare, keeps them.
	require.True(t, row.IsAdhoc)
	pruned, err := e.st.PolicyPruneByPack(ctx, pk.ID, nil)
	require.NoError(t, err)
	require.Empty(t, pruned)
	_, err = e.st.PolicyGetByRef(ctx, name+".packwide")
	require.NoError(t, err)
}

func TestPolicyWriteValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	name := "pov" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	_, err := e.st.PackUpsert(ctx, store.Pack{Ref: name, Label: name, Version: "1.0.0"})
	require.NoError(t, err)
	conc := map[string]any{"limit": 1}
	cases := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"ref": name + ".a", "scope": map[string]any{"type": "pack"}, "concurrency": conc}, "scope.pack_ref"},
		{map[string]any{"ref": name + ".a", "scope": map[string]any{"type": "action"}, "concurrency": conc}, "scope.action_ref"},
		{map[string]any{"ref": name + ".a", "scope": map[string]any{"type": "action", "action_ref": name + ".nope"},
			"concurrency": conc}, "scope.action_ref"},
		{map[string]any{"ref": name + ".a", "scope": map[string]any{"type": "global", "pack_ref": name},
			"concurrency": conc}, "scope"},
		{map[string]any{"ref": name + ".a", "scope": map[string]any{"type": "pack", "pack_ref": name}}, "concurrency"},
		{map[string]any{"ref": "nosuchpack.a", "scope": map[string]any{"type": "global"}, "concurrency": conc}, "pack_ref"},
		// Contract-level checks (OpenAPI) name the field too.
		{map[string]any{"ref": name + ".a", "scope": map[string]any{"type": "pack", "pack_ref": name},
			"concurrency": map[string]any{"limit": 0}}, "limit"},
		{map[string]any{"ref": name + ".a", "scope": map[string]any{"type": "pack", "pack_ref": name},
			"concurrency": map[string]any{"limit": 1, "method": "drop"}}, "method"},
	}
	for _, tc := range cases {
		r := e.do("POST", "/api/v1/policies", e.admin, tc.body)
		require.Equal(t, 422, r.status, "%v: %s", tc.body, r.raw)
		require.Contains(t, string(r.raw), tc.field, "%v", tc.body)
	}
	_, err = e.st.PolicyGetByRef(ctx, name+".a")
	require.Error(t, err, "no invalid request may create the policy")
}

func TestRuntimeCreateAndUpdateThroughAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	name := "prt" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	_, err := e.st.PackUpsert(ctx, store.Pack{Ref: name, Label: name, Version: "1.0.0"})
	require.NoError(t, err)
	r := e.do("POST", "/api/v1/runtimes", e.admin, map[string]any{"ref": name + ".py", "pack_ref": name,
		"name": "Python", "aliases": []string{"python3"}, "distributions": map[string]any{"linux": true},
		"execution_config": map[string]any{"interpreter": map[string]any{"binary": "python3"}}})
	require.Equal(t, 201, r.status, string(r.raw))
	rt, err := e.st.RuntimeGetByRef(ctx, name+".py")
	require.NoError(t, err)
	require.Equal(t, []string{"python3"}, rt.Aliases)
	require.JSONEq(t, `{"interpreter":{"binary":"python3"}}`, string(rt.ExecutionConfig))

	r = e.do("PUT", "/api/v1/runtimes/"+name+".py", e.admin, map[string]any{"name": "Py", "aliases": []string{"py"}})
	require.Equal(t, 200, r.status, string(r.raw))
	rt, err = e.st.RuntimeGetByRef(ctx, name+".py")
	require.NoError(t, err)
	require.Equal(t, "Py", rt.Name)
	require.Equal(t, []string{"py"}, rt.Aliases)
	require.JSONEq(t, `{"linux":true}`, string(rt.Distributions), "omitted fields are kept")

	r = e.do("POST", "/api/v1/runtimes", e.admin, map[string]any{"ref": name + ".x", "pack_ref": name})
	require.Equal(t, 422, r.status, string(r.raw))
	require.Contains(t, string(r.raw), "name")
	r = e.do("POST", "/api/v1/runtimes", e.admin, map[string]any{"ref": name + ".y", "pack_ref": name,
		"name": "Y", "aliases": []string{"Upper"}})
	require.Equal(t, 422, r.status, string(r.raw))
	require.Contains(t, string(r.raw), "aliases")
}
