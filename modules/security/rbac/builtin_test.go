package rbac

import (
	"slices"
	"testing"

	"github.com/attune-system/attune/modules/security"
	"github.com/stretchr/testify/require"
)

// expectedBuiltins restates spec §9.4 independently of builtin.go so a change
// to either shows up here.
var expectedBuiltins = map[string]map[string][]string{
	CoreViewer: {
		"packs": {"read"}, "actions": {"read"}, "policies": {"read"}, "queues": {"read"},
		"queue_items": {"read"}, "rules": {"read"}, "triggers": {"read"}, "executions": {"read"},
		"keys": {"read"}, "artifacts": {"read"}, "runtimes": {"read"}, "workers": {"read"},
	},
	CoreExecutor: {
		"packs": {"read"}, "actions": {"read", "execute"}, "policies": {"read"}, "queues": {"read"},
		"queue_items": {"read"}, "rules": {"read"}, "triggers": {"read"}, "executions": {"read"},
		"keys": {"read"}, "artifacts": {"read"}, "runtimes": {"read"}, "workers": {"read"},
		"dashboards": {"read"},
	},
	CoreEditor: {
		"packs":      {"read", "create", "install", "configure"},
		"actions":    {"read", "create", "update", "execute"},
		"rules":      {"read", "create", "update"},
		"executions": {"read", "cancel"},
		"keys":       {"read", "update", "decrypt"},
		"runtimes":   {"read", "create", "update"},
		"queues":     {"create", "read", "update", "delete"},
	},
}

func TestBuiltinMatrix(t *testing.T) {
	t.Parallel()
	for _, set := range []string{CoreAdmin, CoreEditor, CoreExecutor, CoreViewer} {
		sub := Subject{IdentityID: 10, TokenType: security.TokenAccess, Grants: BuiltinGrants(set)}
		for _, res := range Resources {
			for _, act := range Actions {
				want := set == CoreAdmin || slices.Contains(expectedBuiltins[set][res], act)
				target := Target{Resource: res, Action: act, PackRef: "mypack", Ref: "mypack.x", ID: 5}
				require.Equal(t, want, Allowed(sub, target), "%s %s:%s", set, res, act)
				require.Equal(t, want, Unconstrained(sub, res, act), "unconstrained %s %s:%s", set, res, act)
				all, refs := PackRefsFor(sub, res, act)
				require.Equal(t, want, all, "PackRefsFor %s %s:%s", set, res, act)
				require.Empty(t, refs)
			}
		}
	}
}

func TestBuiltinsValidAndIsolated(t *testing.T) {
	t.Parallel()
	for _, ref := range BuiltinRefs {
		g := BuiltinGrants(ref)
		require.NotEmpty(t, g, ref)
		require.NoError(t, ValidateGrants(g), ref)
	}
	require.NoError(t, ValidateGrants(ImplicitGrants()))
	require.Nil(t, BuiltinGrants("core.nope"))
	require.Nil(t, BuiltinGrants(StandardRef), "standard needs execution context: StandardExecutionGrants")

	// Callers get fresh copies: mutating one must not change the next.
	g := BuiltinGrants(CoreViewer)
	g[0].Actions[0] = ActDelete
	require.Equal(t, ActRead, BuiltinGrants(CoreViewer)[0].Actions[0])
	a := BuiltinGrants(CoreAdmin)
	a[0].Actions[0] = "x"
	require.Equal(t, ActRead, BuiltinGrants(CoreAdmin)[0].Actions[0])
}

func TestKeyCreator(t *testing.T) {
	t.Parallel()
	sub := Subject{IdentityID: 3, TokenType: security.TokenAccess, Grants: BuiltinGrants(CoreKeyCreator)}
	yes, no := true, false
	base := Target{Resource: ResKeys, Action: ActCreate, OwnerType: "pack", OwnerRef: "core", Encrypted: &yes}
	require.True(t, Allowed(sub, base))

	alt := base
	alt.OwnerType, alt.OwnerRef = "action", "core.generate_ssh_key_pair"
	require.True(t, Allowed(sub, alt))

	for name, mut := range map[string]func(*Target){
		"unencrypted":      func(t *Target) { t.Encrypted = &no },
		"encrypted unset":  func(t *Target) { t.Encrypted = nil },
		"identity owner":   func(t *Target) { t.OwnerType = "identity" },
		"other pack":       func(t *Target) { t.OwnerRef = "mypack" },
		"owner type unset": func(t *Target) { t.OwnerType = "" },
		"read not create":  func(t *Target) { t.Action = ActRead },
	} {
		tg := base
		mut(&tg)
		require.False(t, Allowed(sub, tg), name)
	}
	require.False(t, Unconstrained(sub, ResKeys, ActCreate))
	all, refs := PackRefsFor(sub, ResKeys, ActCreate)
	require.False(t, all)
	require.Empty(t, refs, "owner-constrained grants are not pack filters")
}

// Spec T3.11: the core pack is visible and executable by every signed-in user.
func TestImplicitGrants(t *testing.T) {
	t.Parallel()
	sub := Subject{IdentityID: 99, TokenType: security.TokenAccess, Grants: ImplicitGrants()}
	require.True(t, Allowed(sub, Target{Resource: ResPacks, Action: ActRead, PackRef: "core", Ref: "core"}))
	require.True(t, Allowed(sub, Target{Resource: ResActions, Action: ActRead, PackRef: "core", Ref: "core.echo"}))
	require.True(t, Allowed(sub, Target{Resource: ResActions, Action: ActExecute, PackRef: "core", Ref: "core.echo"}))
	require.True(t, Allowed(sub, Target{Resource: ResTriggers, Action: ActRead, PackRef: "core", Ref: "core.timer"}))

	require.False(t, Allowed(sub, Target{Resource: ResActions, Action: ActExecute, PackRef: "ops", Ref: "ops.reboot"}))
	require.False(t, Allowed(sub, Target{Resource: ResActions, Action: ActUpdate, PackRef: "core", Ref: "core.echo"}))
	require.False(t, Allowed(sub, Target{Resource: ResRules, Action: ActRead, PackRef: "core"}))
	require.False(t, Allowed(sub, Target{Resource: ResActions, Action: ActExecute}), "unknown pack fails closed")

	all, refs := PackRefsFor(sub, ResActions, ActRead)
	require.False(t, all)
	require.Equal(t, []string{"core"}, refs)

	withViewer := sub
	withViewer.Grants = append(BuiltinGrants(CoreViewer), ImplicitGrants()...)
	all, _ = PackRefsFor(withViewer, ResActions, ActRead)
	require.True(t, all)
}
