package rbac

import (
	"testing"

	"github.com/attune-system/attune/modules/security"
	"github.com/stretchr/testify/require"
)

func boolp(b bool) *bool { return &b }

func user(grants ...Grant) Subject {
	return Subject{IdentityID: 7, Login: "alice", TokenType: security.TokenAccess, Grants: grants,
		Attributes: map[string]any{"team": "ops", "level": float64(3), "oncall": true}}
}

func TestConstraints(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		c      *Constraints
		res    string
		target Target
		want   bool
	}{
		{"pack match", &Constraints{PackRefs: []string{"ops", "net"}}, ResActions, Target{PackRef: "net"}, true},
		{"pack mismatch", &Constraints{PackRefs: []string{"ops"}}, ResActions, Target{PackRef: "net"}, false},
		{"pack unset fails", &Constraints{PackRefs: []string{"ops"}}, ResActions, Target{}, false},
		{"empty list matches nothing", &Constraints{PackRefs: []string{}}, ResActions, Target{PackRef: "ops"}, false},
		{"refs match", &Constraints{Refs: []string{"ops.reboot"}}, ResActions, Target{Ref: "ops.reboot"}, true},
		{"refs mismatch", &Constraints{Refs: []string{"ops.reboot"}}, ResActions, Target{Ref: "ops.rebootx"}, false},
		{"ids match", &Constraints{IDs: []int64{4, 5}}, ResExecutions, Target{ID: 5}, true},
		{"ids mismatch", &Constraints{IDs: []int64{4}}, ResExecutions, Target{ID: 5}, false},
		{"ids zero target", &Constraints{IDs: []int64{4}}, ResExecutions, Target{}, false},
		{"owner self", &Constraints{Owner: OwnerSelf}, ResKeys, Target{OwnerIdentity: 7}, true},
		{"owner self other", &Constraints{Owner: OwnerSelf}, ResKeys, Target{OwnerIdentity: 8}, false},
		{"owner self unowned", &Constraints{Owner: OwnerSelf}, ResKeys, Target{}, false},
		{"owner none", &Constraints{Owner: OwnerNone}, ResKeys, Target{OwnerType: "system"}, true},
		{"owner none owned", &Constraints{Owner: OwnerNone}, ResKeys, Target{OwnerIdentity: 7}, false},
		{"owner any", &Constraints{Owner: OwnerAny}, ResKeys, Target{OwnerIdentity: 99}, true},
		{"owner unknown fails", &Constraints{Owner: "everyone"}, ResKeys, Target{OwnerIdentity: 7}, false},
		{"owner types+refs", &Constraints{OwnerTypes: []string{"pack"}, OwnerRefs: []string{"ops"}}, ResKeys,
			Target{OwnerType: "pack", OwnerRef: "ops"}, true},
		{"owner ref mismatch", &Constraints{OwnerTypes: []string{"pack"}, OwnerRefs: []string{"ops"}}, ResKeys,
			Target{OwnerType: "pack", OwnerRef: "net"}, false},
		{"visibility", &Constraints{Visibility: []string{"public"}}, ResArtifacts, Target{Visibility: "public"}, true},
		{"visibility private", &Constraints{Visibility: []string{"public"}}, ResArtifacts, Target{Visibility: "private"}, false},
		{"visibility unknown value", &Constraints{Visibility: []string{"public"}}, ResArtifacts, Target{Visibility: "PUBLIC"}, false},
		{"scope self", &Constraints{ExecutionScope: ScopeSelf}, ResExecutions, Target{ExecutorID: 7}, true},
		{"scope self other", &Constraints{ExecutionScope: ScopeSelf}, ResExecutions, Target{ExecutorID: 8, AncestorExecutorIDs: []int64{7}}, false},
		{"scope descendants direct", &Constraints{ExecutionScope: ScopeDescendants}, ResExecutions, Target{ExecutorID: 7}, true},
		{"scope descendants ancestor", &Constraints{ExecutionScope: ScopeDescendants}, ResExecutions, Target{ExecutorID: 8, AncestorExecutorIDs: []int64{9, 7}}, true},
		{"scope descendants unrelated", &Constraints{ExecutionScope: ScopeDescendants}, ResExecutions, Target{ExecutorID: 8, AncestorExecutorIDs: []int64{9}}, false},
		{"scope any", &Constraints{ExecutionScope: ScopeAny}, ResExecutions, Target{ExecutorID: 8}, true},
		{"scope unknown fails", &Constraints{ExecutionScope: "all"}, ResExecutions, Target{ExecutorID: 7}, false},
		{"scope unset executor", &Constraints{ExecutionScope: ScopeSelf}, ResExecutions, Target{}, false},
		{"encrypted match", &Constraints{Encrypted: boolp(true)}, ResKeys, Target{Encrypted: boolp(true)}, true},
		{"encrypted mismatch", &Constraints{Encrypted: boolp(true)}, ResKeys, Target{Encrypted: boolp(false)}, false},
		{"encrypted unset", &Constraints{Encrypted: boolp(false)}, ResKeys, Target{}, false},
		{"attrs match", &Constraints{Attributes: map[string]any{"team": "ops", "level": 3, "oncall": true}}, ResActions, Target{}, true},
		{"attrs mismatch", &Constraints{Attributes: map[string]any{"team": "net"}}, ResActions, Target{}, false},
		{"attrs missing", &Constraints{Attributes: map[string]any{"region": "eu"}}, ResActions, Target{}, false},
		{"attrs type mismatch", &Constraints{Attributes: map[string]any{"level": "3"}}, ResActions, Target{}, false},
		{"attrs non-scalar", &Constraints{Attributes: map[string]any{"team": []any{"ops"}}}, ResActions, Target{}, false},
		{"all hold", &Constraints{PackRefs: []string{"ops"}, Refs: []string{"ops.a"}, Attributes: map[string]any{"team": "ops"}},
			ResActions, Target{PackRef: "ops", Ref: "ops.a"}, true},
		{"one of many fails", &Constraints{PackRefs: []string{"ops"}, Refs: []string{"ops.a"}, Attributes: map[string]any{"team": "ops"}},
			ResActions, Target{PackRef: "ops", Ref: "ops.b"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sub := user(Grant{Resource: c.res, Actions: []string{ActRead}, Constraints: c.c})
			tg := c.target
			tg.Resource, tg.Action = c.res, ActRead
			require.Equal(t, c.want, Allowed(sub, tg))
			require.False(t, Unconstrained(sub, c.res, ActRead), "a constrained grant is never global")
		})
	}
}

func TestUnionNoDeny(t *testing.T) {
	t.Parallel()
	sub := user(
		Grant{Resource: ResActions, Actions: []string{ActExecute}, Constraints: &Constraints{PackRefs: []string{"ops"}}},
		Grant{Resource: ResActions, Actions: []string{ActExecute}, Constraints: &Constraints{Refs: []string{"net.ping"}}},
	)
	require.True(t, Allowed(sub, Target{Resource: ResActions, Action: ActExecute, PackRef: "ops", Ref: "ops.x"}))
	require.True(t, Allowed(sub, Target{Resource: ResActions, Action: ActExecute, PackRef: "net", Ref: "net.ping"}))
	require.False(t, Allowed(sub, Target{Resource: ResActions, Action: ActExecute, PackRef: "net", Ref: "net.pong"}))
	require.False(t, Allowed(sub, Target{Resource: ResActions, Action: ActRead, PackRef: "ops", Ref: "ops.x"}),
		"execute does not imply read")
}

func TestFailClosed(t *testing.T) {
	t.Parallel()
	admin := BuiltinGrants(CoreAdmin)
	ok := Target{Resource: ResPacks, Action: ActRead, PackRef: "p"}
	require.True(t, Allowed(Subject{IdentityID: 1, TokenType: security.TokenAccess, Grants: admin}, ok))

	cases := map[string]struct {
		sub Subject
		t   Target
	}{
		"no identity":      {Subject{TokenType: security.TokenAccess, Grants: admin}, ok},
		"negative id":      {Subject{IdentityID: -1, TokenType: security.TokenAccess, Grants: admin}, ok},
		"no token type":    {Subject{IdentityID: 1, Grants: admin}, ok},
		"unknown token":    {Subject{IdentityID: 1, TokenType: "root", Grants: admin}, ok},
		"refresh token":    {Subject{IdentityID: 1, TokenType: security.TokenRefresh, Grants: admin}, ok},
		"no grants":        {Subject{IdentityID: 1, TokenType: security.TokenAccess}, ok},
		"unknown resource": {Subject{IdentityID: 1, TokenType: security.TokenAccess, Grants: admin}, Target{Resource: "secrets", Action: ActRead}},
		"unknown action":   {Subject{IdentityID: 1, TokenType: security.TokenAccess, Grants: admin}, Target{Resource: ResPacks, Action: "view"}},
		"empty target":     {Subject{IdentityID: 1, TokenType: security.TokenAccess, Grants: admin}, Target{}},
		"grant with unknown resource": {Subject{IdentityID: 1, TokenType: security.TokenAccess,
			Grants: []Grant{{Resource: "*", Actions: []string{"*"}}}}, ok},
	}
	for name, c := range cases {
		require.False(t, Allowed(c.sub, c.t), name)
		require.False(t, Unconstrained(c.sub, c.t.Resource, c.t.Action), name)
		all, refs := PackRefsFor(c.sub, c.t.Resource, c.t.Action)
		require.False(t, all, name)
		require.Empty(t, refs, name)
	}
}

func TestPackRefsFor(t *testing.T) {
	t.Parallel()
	sub := user(
		Grant{Resource: ResRules, Actions: []string{ActRead}, Constraints: &Constraints{PackRefs: []string{"ops", "net"}}},
		Grant{Resource: ResRules, Actions: []string{ActRead, ActUpdate}, Constraints: &Constraints{PackRefs: []string{"net", "db"}}},
		Grant{Resource: ResRules, Actions: []string{ActRead}, Constraints: &Constraints{PackRefs: []string{"web"}, Refs: []string{"web.r1"}}},
		Grant{Resource: ResRules, Actions: []string{ActRead}, Constraints: &Constraints{}},
	)
	// The last grant has an empty (non-nil) Constraints: that is global.
	all, _ := PackRefsFor(sub, ResRules, ActRead)
	require.True(t, all)

	sub.Grants = sub.Grants[:3]
	all, refs := PackRefsFor(sub, ResRules, ActRead)
	require.False(t, all)
	require.Equal(t, []string{"db", "net", "ops"}, refs, "web is ref-constrained, so not a pack filter")
	all, refs = PackRefsFor(sub, ResRules, ActUpdate)
	require.False(t, all)
	require.Equal(t, []string{"db", "net"}, refs)
	all, refs = PackRefsFor(sub, ResRules, ActDelete)
	require.False(t, all)
	require.Empty(t, refs)
}
