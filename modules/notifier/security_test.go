package notifier_test

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

// Threat #11: a viewer without read on pack X receives no frame about X's
// executions, but does see executions it started itself.
func TestDeliveryChecksRBAC(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	packA := &rbac.Constraints{PackRefs: []string{"packa"}}
	var grants []rbac.Grant
	for _, res := range []string{rbac.ResExecutions, rbac.ResEvents, rbac.ResEnforcements, rbac.ResRules} {
		grants = append(grants, rbac.Grant{Resource: res, Actions: []string{rbac.ActRead}, Constraints: packA})
	}
	viewer := e.identity("packa_viewer", nil, grants...)
	c := e.connect(e.token(viewer, security.TokenAccess, time.Hour, nil))
	c.subscribe("all") // allowed: it holds (pack-scoped) read on all four resources

	hidden, err := e.st.ExecutionInsert(ctx, store.NewExecution{ActionRef: "packx.secret"})
	require.NoError(t, err)
	e.exec("UPDATE execution SET status = 'scheduling' WHERE id = $1", hidden.ID)
	mine, err := e.st.ExecutionInsert(ctx, store.NewExecution{ActionRef: "packx.other", Executor: &viewer.ID})
	require.NoError(t, err)
	visible, err := e.st.ExecutionInsert(ctx, store.NewExecution{ActionRef: "packa.run"})
	require.NoError(t, err)
	e.exec(`SELECT pg_notify('rule_lifecycle_changed', json_build_object('entity_type','rule_lifecycle',
		'event_type','rule.created','rule_id',7,'rule_ref','packx.r','trigger_ref','packx.t')::text)`)
	e.exec(`SELECT pg_notify('rule_lifecycle_changed', json_build_object('entity_type','rule_lifecycle',
		'event_type','rule.created','rule_id',8,'rule_ref','packa.r','trigger_ref','packa.t')::text)`)

	// Frames arrive in NOTIFY order, so the hidden ones would come first.
	f := c.notification()
	require.EqualValues(t, mine.ID, num(f["entity_id"]), "own execution is visible")
	require.EqualValues(t, 1, num(f["seq"]), "filtered frames consume no seq")
	require.EqualValues(t, visible.ID, num(c.notification()["entity_id"]))
	f = c.notification()
	require.Equal(t, "rule_lifecycle", f["entity_type"])
	require.EqualValues(t, 8, num(f["entity_id"]))
	require.Positive(t, e.counter("attune_notifier_messages_dropped_total", "reason", "forbidden"))

	// `all` is refused without read on every family.
	narrow := e.identity("exec_only", nil, rbac.Grant{Resource: rbac.ResExecutions, Actions: []string{rbac.ActRead}})
	n := e.connect(e.token(narrow, security.TokenAccess, time.Hour, nil))
	n.send(map[string]string{"type": "subscribe", "filter": "all"})
	require.Contains(t, n.next(func(map[string]any) bool { return true })["message"], "filter all needs")
}

// An execution token sees its own execution only.
func TestExecutionTokenSeesOwnExecution(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	user := e.identity("runner", []string{rbac.CoreAdmin})
	own, err := e.st.ExecutionInsert(ctx, store.NewExecution{ActionRef: "packa.run", Executor: &user.ID, Status: "running"})
	require.NoError(t, err)
	other, err := e.st.ExecutionInsert(ctx, store.NewExecution{ActionRef: "packa.run", Executor: &user.ID, Status: "running"})
	require.NoError(t, err)
	tok := e.token(user, security.TokenExecution, time.Hour,
		map[string]any{security.MetaExecutionID: own.ID, security.MetaPackRef: "packa"})
	c := e.connect(tok)
	c.subscribe("entity_type:execution")
	e.exec("UPDATE execution SET status = 'canceling' WHERE id = $1", other.ID)
	e.exec("UPDATE execution SET status = 'canceling' WHERE id = $1", own.ID)
	require.EqualValues(t, own.ID, num(c.notification()["entity_id"]))
}

// Sensor tokens may only subscribe to trigger_ref filters of their trigger
// types, and get the rule lifecycle of those triggers.
func TestSensorTokenLimitedToTriggerRefs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ident := e.identity("sensor_ident", nil)
	tok := e.token(ident, security.TokenSensor, time.Hour, map[string]any{
		security.MetaPackRef: "packa", security.MetaSensorRef: "packa.s", security.MetaTriggerTypes: []string{"packa.t1"}})
	c := e.connect(tok)
	for _, f := range []string{"all", "entity_type:execution", "notification_type:rule_lifecycle_changed", "trigger_ref:packa.t2"} {
		c.send(map[string]string{"type": "subscribe", "filter": f})
		got := c.next(func(map[string]any) bool { return true })
		require.Equal(t, "error", got["type"], f)
		require.Contains(t, got["message"], "sensor tokens may only subscribe", f)
	}
	c.subscribe("trigger_ref:packa.t1")
	for _, tr := range []string{"packa.t2", "packa.t1"} {
		e.exec(`SELECT pg_notify('rule_lifecycle_changed', json_build_object('entity_type','rule_lifecycle',
			'event_type','rule.enabled','rule_id',3,'rule_ref','packa.r','trigger_ref',$1::text,'active',true)::text)`, tr)
	}
	f := c.notification()
	require.Equal(t, "packa.t1", f["payload"].(map[string]any)["trigger_ref"])
	require.Equal(t, "rule.enabled", f["payload"].(map[string]any)["event_type"])
}

// A connection is closed with 4401 when its token expires.
func TestExpiredTokenClosed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	user := e.identity("short", []string{rbac.CoreViewer})
	c := e.connect(e.token(user, security.TokenAccess, 2*time.Second, nil))
	require.Equal(t, websocket.StatusCode(4401), c.closeStatus(10*time.Second))
}

// Revoking the token closes the connection at the next re-check.
func TestRevokedTokenClosed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(d *notifierDeps) { d.Config.TokenCheckInterval = 100 * time.Millisecond })
	user := e.identity("revoked", []string{rbac.CoreViewer})
	c := e.connect(e.token(user, security.TokenAccess, time.Hour, nil))
	e.exec("UPDATE auth_token SET revoked_at = now() WHERE identity = $1", user.ID)
	require.Equal(t, websocket.StatusCode(4401), c.closeStatus(10*time.Second))
}
