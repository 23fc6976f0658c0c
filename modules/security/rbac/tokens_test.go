package rbac

import (
	"testing"

	"github.com/attune-system/attune/modules/security"
	"github.com/stretchr/testify/require"
)

// An execution token started by an admin carries admin's permission sets,
// yet must only do what an action needs (spec §9.3, threat #8).
func TestExecutionTokenCeiling(t *testing.T) {
	t.Parallel()
	grants := append(BuiltinGrants(CoreAdmin), StandardExecutionGrants(55, "ops", "ops.deploy")...)
	sub := Subject{IdentityID: 1, Login: "execution:55", TokenType: security.TokenExecution,
		ExecutionID: 55, PackRef: "ops", Grants: grants}

	require.True(t, Allowed(sub, Target{Resource: ResExecutions, Action: ActRead, ID: 55}))
	require.False(t, Allowed(sub, Target{Resource: ResExecutions, Action: ActRead, ID: 56}), "other executions")
	require.False(t, Allowed(sub, Target{Resource: ResExecutions, Action: ActCancel, ID: 55}))
	require.True(t, Allowed(sub, Target{Resource: ResActions, Action: ActExecute, PackRef: "net", Ref: "net.ping"}),
		"child executions use the executor's rights")
	require.True(t, Allowed(sub, Target{Resource: ResKeys, Action: ActDecrypt, OwnerType: "identity", OwnerIdentity: 1}))
	for _, tg := range []Target{
		{Resource: ResIdentities, Action: ActUpdate},
		{Resource: ResPermissions, Action: ActManage},
		{Resource: ResPacks, Action: ActInstall, PackRef: "ops"},
		{Resource: ResKeys, Action: ActDelete, OwnerType: "pack", OwnerRef: "ops"},
		{Resource: ResRetention, Action: ActUpdate},
		{Resource: ResWorkers, Action: ActManage},
		{Resource: ResRules, Action: ActCreate, PackRef: "ops"},
	} {
		require.False(t, Allowed(sub, tg), "%s:%s", tg.Resource, tg.Action)
	}
	require.False(t, Unconstrained(sub, ResExecutions, ActRead))
	all, refs := PackRefsFor(sub, ResExecutions, ActRead)
	require.False(t, all)
	require.Empty(t, refs)
	require.True(t, Unconstrained(sub, ResKeys, ActRead), "admin executor: keys it is allowed")
}

func TestStandardExecutionGrantsAlone(t *testing.T) {
	t.Parallel()
	require.NoError(t, ValidateGrants(StandardExecutionGrants(55, "ops", "ops.deploy")))
	sub := Subject{IdentityID: 9, TokenType: security.TokenExecution, ExecutionID: 55, PackRef: "ops",
		Grants: StandardExecutionGrants(55, "ops", "ops.deploy")}
	cases := []struct {
		t    Target
		want bool
	}{
		{Target{Resource: ResExecutions, Action: ActRead, ID: 55}, true},
		{Target{Resource: ResKeys, Action: ActRead, OwnerType: "pack", OwnerRef: "ops"}, true},
		{Target{Resource: ResKeys, Action: ActDecrypt, OwnerType: "action", OwnerRef: "ops.deploy"}, true},
		{Target{Resource: ResKeys, Action: ActDecrypt, OwnerType: "action", OwnerRef: "ops.other"}, false},
		{Target{Resource: ResKeys, Action: ActRead, OwnerType: "pack", OwnerRef: "net"}, false},
		{Target{Resource: ResKeys, Action: ActRead, OwnerType: "identity", OwnerIdentity: 9}, false},
		{Target{Resource: ResArtifacts, Action: ActCreate, PackRef: "ops"}, true},
		{Target{Resource: ResArtifacts, Action: ActCreate, PackRef: "net"}, false},
		{Target{Resource: ResEvents, Action: ActCreate, PackRef: "ops"}, true},
		{Target{Resource: ResEvents, Action: ActCreate, PackRef: "core"}, false},
		{Target{Resource: ResActions, Action: ActExecute, PackRef: "ops"}, false},
	}
	for _, c := range cases {
		require.Equal(t, c.want, Allowed(sub, c.t), "%+v", c.t)
	}
}

func TestSensorToken(t *testing.T) {
	t.Parallel()
	grants := SensorGrants("ops", "ops.watcher", []string{"ops.disk_full"})
	require.NoError(t, ValidateGrants(grants))
	sub := Subject{IdentityID: 1, TokenType: security.TokenSensor, PackRef: "ops",
		Grants: append(grants, BuiltinGrants(CoreAdmin)...)}
	require.True(t, Allowed(sub, Target{Resource: ResEvents, Action: ActCreate, Ref: "ops.disk_full"}))
	require.True(t, Allowed(sub, Target{Resource: ResTriggers, Action: ActRead, Ref: "ops.disk_full"}))
	require.True(t, Allowed(sub, Target{Resource: ResKeys, Action: ActDecrypt, OwnerType: "sensor", OwnerRef: "ops.watcher"}))
	require.False(t, Allowed(sub, Target{Resource: ResActions, Action: ActExecute, PackRef: "ops"}), "ceiling")
	require.False(t, Allowed(sub, Target{Resource: ResExecutions, Action: ActRead, ID: 1}), "ceiling")

	only := Subject{IdentityID: 1, TokenType: security.TokenSensor, Grants: grants}
	require.False(t, Allowed(only, Target{Resource: ResEvents, Action: ActCreate, Ref: "core.timer"}))
	require.False(t, Allowed(only, Target{Resource: ResKeys, Action: ActRead, OwnerType: "pack", OwnerRef: "net"}))
}

func TestWorkerAndIntegrationTokens(t *testing.T) {
	t.Parallel()
	admin := BuiltinGrants(CoreAdmin)
	worker := Subject{IdentityID: 1, TokenType: security.TokenWorker, Grants: admin}
	require.True(t, Allowed(worker, Target{Resource: ResArtifacts, Action: ActCreate}))
	require.False(t, Allowed(worker, Target{Resource: ResKeys, Action: ActRead}))
	require.False(t, Unconstrained(worker, ResExecutions, ActRead))

	integ := Subject{IdentityID: 4, TokenType: security.TokenIntegration, Grants: BuiltinGrants(CoreViewer)}
	require.True(t, Allowed(integ, Target{Resource: ResExecutions, Action: ActRead, ID: 1}))
	require.False(t, Allowed(integ, Target{Resource: ResActions, Action: ActExecute}))
}
