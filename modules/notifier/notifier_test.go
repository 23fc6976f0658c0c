package notifier_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/notifier"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

// T3.14: execution created → status changes reach a subscriber, in order,
// with the right entity, quickly.
func TestExecutionLifecycleDelivered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.connect(e.admin())
	c.subscribe("entity_type:execution")

	ex, err := e.st.ExecutionInsert(context.Background(), store.NewExecution{ActionRef: "core.echo"})
	require.NoError(t, err)
	f := c.notification()
	require.Equal(t, "execution_created", f["notification_type"])
	require.Equal(t, "execution", f["entity_type"])
	require.EqualValues(t, ex.ID, num(f["entity_id"]))
	require.EqualValues(t, 1, num(f["seq"]))
	require.Nil(t, f["user_id"])
	require.NotEmpty(t, f["timestamp"])
	payload := f["payload"].(map[string]any)
	require.Equal(t, "core.echo", payload["action_ref"])
	require.Equal(t, "requested", payload["status"])

	var latencies []time.Duration
	prev := "requested"
	for i, status := range []string{"scheduling", "scheduled", "running", "completed"} {
		begin := time.Now()
		e.exec("UPDATE execution SET status = $2 WHERE id = $1", ex.ID, status)
		f := c.notification()
		latencies = append(latencies, time.Since(begin))
		require.Equal(t, "execution_status_changed", f["notification_type"])
		require.EqualValues(t, ex.ID, num(f["entity_id"]))
		require.EqualValues(t, i+2, num(f["seq"]), "seq numbers notifications without gaps")
		payload := f["payload"].(map[string]any)
		require.Equal(t, status, payload["status"])
		require.Equal(t, prev, payload["old_status"])
		prev = status
	}
	slices.Sort(latencies)
	t.Logf("commit → frame latencies: %v", latencies)
	require.Less(t, latencies[len(latencies)/2], 100*time.Millisecond, "median delivery latency (spec target <100 ms)")
}

func TestFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	a, err := e.st.ExecutionInsert(ctx, store.NewExecution{ActionRef: "core.a"})
	require.NoError(t, err)
	b, err := e.st.ExecutionInsert(ctx, store.NewExecution{ActionRef: "core.b"})
	require.NoError(t, err)
	admin := e.admin()

	one := e.connect(admin)
	one.subscribe("entity:execution:" + itoa(b.ID))
	byChannel := e.connect(admin)
	byChannel.subscribe("notification_type:execution_status_changed")
	all := e.connect(admin)
	all.subscribe("all")
	all.subscribe("all") // duplicates are no-ops: still one frame per message

	e.exec("UPDATE execution SET status = 'scheduling' WHERE id = $1", a.ID)
	e.exec("UPDATE execution SET status = 'scheduling' WHERE id = $1", b.ID)
	c, err := e.st.ExecutionInsert(ctx, store.NewExecution{ActionRef: "core.c"})
	require.NoError(t, err)

	f := one.notification()
	require.EqualValues(t, b.ID, num(f["entity_id"]), "entity filter skips other executions")

	require.EqualValues(t, a.ID, num(byChannel.notification()["entity_id"]))
	require.EqualValues(t, b.ID, num(byChannel.notification()["entity_id"]))

	for _, want := range []int64{a.ID, b.ID, c.ID} {
		require.EqualValues(t, want, num(all.notification()["entity_id"]))
	}

	// Unsubscribe stops delivery; the next frame is the probe's error.
	one.send(map[string]string{"type": "unsubscribe", "filter": "entity:execution:" + itoa(b.ID)})
	one.sync()
	e.exec("UPDATE execution SET status = 'scheduled' WHERE id = $1", b.ID)
	byChannel.notification() // the update has been fanned out
	one.send(map[string]string{"type": "ping"})
	one.sync()
	select {
	case f := <-one.frames:
		t.Fatalf("unsubscribed client got %v", f)
	default:
	}

	// Bad messages get error frames and the connection stays open.
	for msg, want := range map[string]string{
		"nonsense":         "unknown filter",
		"entity:execution": "entity:<type>:<numeric id>",
		"user:1":           "reserved",
	} {
		one.send(map[string]string{"type": "subscribe", "filter": msg})
		got := one.next(func(map[string]any) bool { return true })
		require.Equal(t, "error", got["type"])
		require.Contains(t, got["message"], want)
	}
}

func TestUpgradeAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(d *notifier.Deps) { d.AllowedOrigins = []string{"https://ui.example.com"} })
	user := e.identity("viewer", []string{rbac.CoreViewer})
	access := e.token(user, security.TokenAccess, time.Hour, nil)

	_, resp, err := e.dialRaw("", nil)
	require.Contains(t, refused(t, resp, err, http.StatusUnauthorized), "missing token")
	_, resp, err = e.dialRaw("not-a-jwt", nil)
	refused(t, resp, err, http.StatusUnauthorized)
	for _, tt := range []security.TokenType{security.TokenRefresh, security.TokenWorker} {
		_, resp, err = e.dialRaw(e.token(user, tt, time.Hour, nil), nil)
		require.Contains(t, refused(t, resp, err, http.StatusUnauthorized), "token type", tt)
	}
	// An access token the API never recorded (forged with a leaked secret
	// or purged) does not authenticate.
	unrecorded, err := e.issuer.Issue(security.Claims{Subject: user.ID, TokenType: security.TokenAccess}, time.Hour)
	require.NoError(t, err)
	_, resp, err = e.dialRaw(unrecorded, nil)
	refused(t, resp, err, http.StatusUnauthorized)

	// Query-string tokens are refused even when valid.
	saved := e.wsURL
	e.wsURL = saved + "?token=" + access
	_, resp, err = e.dialRaw("", nil)
	require.Contains(t, refused(t, resp, err, http.StatusUnauthorized), "query-string")
	e.wsURL = saved

	// Origin: foreign refused; listed and same-host accepted; none accepted.
	for _, origin := range []string{"https://evil.example", "null", "https://ui.example.com.evil.example", "http://ui.example.com"} {
		_, resp, err = e.dialRaw(access, http.Header{"Origin": {origin}})
		refused(t, resp, err, http.StatusForbidden)
	}
	for _, origin := range []string{"https://ui.example.com", "http://" + e.addr} {
		conn, _, err := e.dialRaw(access, http.Header{"Origin": {origin}})
		require.NoError(t, err, origin)
		startReading(t, conn)
	}

	// Browser form: token in a subprotocol, server selects attune.v1.
	conn, _, err := e.dialRaw("", nil, "attune.v1", "attune.jwt."+access)
	require.NoError(t, err)
	require.Equal(t, "attune.v1", conn.Subprotocol())
	startReading(t, conn)
	_, resp, err = e.dialRaw("", nil, "attune.jwt."+access)
	refused(t, resp, err, http.StatusBadRequest)
}

func itoa(i int64) string { return strconvFormat(i) }
