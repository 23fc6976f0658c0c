package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

func TestEncryptedKeyNotPlaintextAndDecryptNeedsGrant(t *testing.T) { // T3.27, T1.6
	t.Parallel()
	e := newEnv(t)
	c := e.do("POST", "/api/v1/keys", e.admin, map[string]any{"local_ref": "db-pass", "value": "hunter2-very-secret"})
	require.Equal(t, http.StatusCreated, c.status, string(c.raw))
	require.Equal(t, "system.db-pass", c.data()["ref"])
	require.NotContains(t, string(c.raw), "hunter2")

	var raw string
	require.NoError(t, e.st.Pool().QueryRow(context.Background(), `SELECT value::text FROM key WHERE ref = 'system.db-pass'`).Scan(&raw))
	require.NotContains(t, raw, "hunter2", "T3.27: ciphertext only in the database")

	admin := e.do("GET", "/api/v1/keys/system.db-pass", e.admin, nil)
	require.Equal(t, "hunter2-very-secret", admin.data()["value"])
	_, viewer := e.user("viewer1", rbac.CoreViewer)
	v := e.do("GET", "/api/v1/keys/system.db-pass", viewer, nil)
	require.Equal(t, http.StatusOK, v.status)
	require.Contains(t, v.data(), "value")
	require.Nil(t, v.data()["value"], "no keys:decrypt → value null")
	require.Equal(t, http.StatusNotFound, e.do("GET", "/api/v1/keys/system.missing", e.admin, nil).status)

	list := e.do("GET", "/api/v1/keys", e.admin, nil)
	require.NotContains(t, list.items()[0].(map[string]any), "value", "lists never carry values")

	plain := e.do("POST", "/api/v1/keys", e.admin, map[string]any{"local_ref": "region", "value": map[string]any{"r": "eu"}, "encrypted": false})
	require.Equal(t, http.StatusCreated, plain.status)
	require.Equal(t, map[string]any{"r": "eu"}, e.do("GET", "/api/v1/keys/system.region", viewer, nil).data()["value"])

	// Audit rows exist for the mutations and hold no secret.
	var n int
	require.NoError(t, e.st.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM audit_log WHERE action = 'createKey'`).Scan(&n))
	require.Equal(t, 2, n)
	require.NoError(t, e.st.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM audit_log WHERE details::text LIKE '%hunter2%'`).Scan(&n))
	require.Zero(t, n)
}

func TestIdentityKeysArePrivate(t *testing.T) { // T1.7
	t.Parallel()
	e := newEnv(t)
	// Everyone may manage keys they own; viewers read everything else.
	_, err := e.st.PermissionSetUpsert(context.Background(), store.PermissionSet{Ref: "test.own_keys",
		Grants: []byte(`[{"resource":"keys","actions":["create","read","update","delete","decrypt"],"constraints":{"owner_types":["identity"],"owner":"self"}}]`)})
	require.NoError(t, err)
	_, alice := e.user("alice", rbac.CoreViewer, "test.own_keys")
	_, bob := e.user("bob", rbac.CoreViewer, "test.own_keys")
	c := e.do("POST", "/api/v1/keys", alice, map[string]any{"local_ref": "mine", "value": "a", "owner_type": "identity"})
	require.Equal(t, http.StatusCreated, c.status, string(c.raw))
	require.Equal(t, "identity.alice.mine", c.data()["ref"])
	require.Equal(t, http.StatusOK, e.do("GET", "/api/v1/keys/identity.alice.mine", alice, nil).status)
	require.Equal(t, http.StatusNotFound, e.do("GET", "/api/v1/keys/identity.alice.mine", bob, nil).status)
	require.Equal(t, http.StatusNotFound, e.do("PUT", "/api/v1/keys/identity.alice.mine", bob, map[string]any{"value": "x"}).status)
	require.Equal(t, http.StatusNotFound, e.do("DELETE", "/api/v1/keys/identity.alice.mine", bob, nil).status)
	require.NotContains(t, string(e.do("GET", "/api/v1/keys", bob, nil).raw), "identity.alice.mine")
	require.Contains(t, string(e.do("GET", "/api/v1/keys", alice, nil).raw), "identity.alice.mine")
	// Bob cannot plant a key on Alice either.
	require.Equal(t, http.StatusForbidden, e.do("POST", "/api/v1/keys", bob,
		map[string]any{"local_ref": "x", "value": "a", "owner_type": "identity", "owner": "alice"}).status)
}

func TestExecutionTokenKeyAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pk, err := e.st.PackUpsert(ctx, store.Pack{Ref: "demo", Label: "Demo", Version: "1.0.0"})
	require.NoError(t, err)
	act, err := e.st.ActionUpsert(ctx, store.Action{Ref: "demo.greet", Pack: pk.ID, PackRef: "demo", Label: "g", Entrypoint: "g.sh", Enabled: true})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, e.do("POST", "/api/v1/keys", e.admin, map[string]any{"local_ref": "tok", "value": "pk", "owner_type": "pack", "owner": "demo"}).status)
	require.Equal(t, http.StatusCreated, e.do("POST", "/api/v1/keys", e.admin, map[string]any{"local_ref": "other", "value": "sys"}).status)
	var execID int64
	require.NoError(t, e.st.Pool().QueryRow(ctx,
		`INSERT INTO execution (action, action_ref, status) VALUES ($1, 'demo.greet', 'running') RETURNING id`, act.ID).Scan(&execID))
	viewer, _ := e.user("runner", rbac.CoreViewer)
	tok, err := e.m.tokens.Issue(security.Claims{Subject: viewer.ID, Login: "execution:1", TokenType: security.TokenExecution,
		Metadata: map[string]any{security.MetaExecutionID: execID, security.MetaPackRef: "demo"}}, time.Hour)
	require.NoError(t, err)
	r := e.do("GET", "/api/v1/keys/pack.demo.tok", tok, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Equal(t, "pk", r.data()["value"], "standard grants decrypt the pack's keys")
	require.Nil(t, e.do("GET", "/api/v1/keys/system.other", tok, nil).data()["value"])
	require.Equal(t, http.StatusUnauthorized, e.do("GET", "/api/v1/keys", tok, nil).status, "execution tokens cannot list")

	_, err = e.st.Pool().Exec(ctx, `UPDATE execution SET status = 'completed' WHERE id = $1`, execID)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, e.do("GET", "/api/v1/keys/pack.demo.tok", tok, nil).status, "token dies with its execution")
}

func TestPaginationNewestFirstNoDupsNoGaps(t *testing.T) { // T3.22
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for i := 0; i < 57; i++ {
		_, err := e.st.KeyInsert(ctx, store.NewKey{Ref: fmt.Sprintf("system.p%02d", i), OwnerType: "system", Name: fmt.Sprintf("p%02d", i), Value: []byte(`1`)})
		require.NoError(t, err)
	}
	var seen []string
	for page := 1; ; page++ {
		r := e.do("GET", fmt.Sprintf("/api/v1/keys?page=%d&page_size=10&include_total=true", page), e.admin, nil)
		require.Equal(t, http.StatusOK, r.status)
		pg := r.body["pagination"].(map[string]any)
		require.EqualValues(t, 57, pg["total_items"])
		require.EqualValues(t, 6, pg["total_pages"])
		require.Equal(t, page > 1, pg["has_previous"])
		for _, it := range r.items() {
			seen = append(seen, it.(map[string]any)["ref"].(string))
		}
		if !pg["has_next"].(bool) {
			break
		}
	}
	require.Len(t, seen, 57)
	for i, ref := range seen {
		require.Equal(t, fmt.Sprintf("system.p%02d", 56-i), ref, "newest first, no gaps")
	}
	bad := e.do("GET", "/api/v1/keys?page_size=101", e.admin, nil)
	require.Equal(t, http.StatusBadRequest, bad.status)
	require.Equal(t, http.StatusBadRequest, e.do("GET", "/api/v1/keys?page=0", e.admin, nil).status)
}

func TestViewerCanReadButNotCreate(t *testing.T) { // T3.10, T3.11
	t.Parallel()
	e := newEnv(t)
	_, viewer := e.user("v", rbac.CoreViewer)
	require.Equal(t, http.StatusOK, e.do("GET", "/api/v1/keys", viewer, nil).status)
	r := e.do("POST", "/api/v1/keys", viewer, map[string]any{"local_ref": "x", "value": "y"})
	require.Equal(t, http.StatusForbidden, r.status)
	require.Equal(t, "FORBIDDEN", r.body["code"])
	// T3.11 decision path: a user with no sets still sees and may execute core actions.
	nobody, _ := e.user("nobody")
	p, err := e.m.resolveToken(context.Background(), e.tokenFor(nobody))
	require.NoError(t, err)
	require.True(t, p.Can(rbac.Target{Resource: rbac.ResActions, Action: rbac.ActExecute, PackRef: "core", Ref: "core.echo"}))
	require.True(t, p.Can(rbac.Target{Resource: rbac.ResPacks, Action: rbac.ActRead, PackRef: "core", Ref: "core"}))
	require.False(t, p.Can(rbac.Target{Resource: rbac.ResActions, Action: rbac.ActExecute, PackRef: "demo", Ref: "demo.x"}))
}

func TestErrorsAndLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mal := e.do("POST", "/api/v1/keys", e.admin, `{"local_ref": `)
	require.Equal(t, http.StatusBadRequest, mal.status, string(mal.raw))
	require.Equal(t, "BAD_REQUEST", mal.body["code"])
	inv := e.do("POST", "/api/v1/keys", e.admin, map[string]any{"local_ref": "BAD REF", "value": 1})
	require.Equal(t, http.StatusUnprocessableEntity, inv.status, string(inv.raw))
	require.Contains(t, fmt.Sprint(inv.body["details"]), "local_ref")
	grants := e.do("PUT", "/api/v1/permissions/sets/core.viewer", e.admin,
		map[string]any{"grants": []any{map[string]any{"resource": "keys", "actions": []string{"fly"}}}})
	require.Equal(t, http.StatusUnprocessableEntity, grants.status)
	require.Contains(t, grants.body["error"], "grants[0]")
	dup := e.do("POST", "/api/v1/identities", e.admin, map[string]any{"login": "admin"})
	require.Equal(t, http.StatusConflict, dup.status)
	big := e.do("POST", "/api/v1/keys", e.admin, `{"local_ref":"x","value":"`+strings.Repeat("a", 2<<20)+`"}`)
	require.Equal(t, http.StatusRequestEntityTooLarge, big.status)
	nf := e.do("GET", "/api/v1/nothing", e.admin, nil)
	require.Equal(t, http.StatusNotFound, nf.status)
	require.Equal(t, "NOT_FOUND", nf.body["code"])
	require.Equal(t, "nosniff", nf.header.Get("X-Content-Type-Options"))
	require.Equal(t, "DENY", nf.header.Get("X-Frame-Options"))
}
