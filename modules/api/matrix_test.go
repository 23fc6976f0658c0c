package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

// Roles in the authorization matrix. anonymous, expired and execution are
// checked generically for every route; the others need an entry in
// expectations for every route, so a route added later fails this test
// until its policy is written down.
var roles = []string{"viewer", "executor", "editor", "admin", "other"}

// expectations: "METHOD path" → status per role, for the request built by
// matrixRequest. "other" is a signed-in user with no permission sets
// acting on another user's objects.
var expectations = map[string]map[string]int{
	"GET /auth/settings":                              all(200),
	"POST /auth/login":                                all(401), // wrong password
	"POST /auth/refresh":                              all(401), // bogus refresh token
	"POST /auth/token-login":                          all(401),
	"POST /auth/logout":                               all(200),
	"GET /auth/me":                                    all(200),
	"PUT /auth/me":                                    all(200),
	"POST /auth/change-password":                      all(422), // wrong current password
	"GET /api/v1/identities":                          adminOnly(200, 403),
	"POST /api/v1/identities":                         adminOnly(201, 403),
	"GET /api/v1/identities/{id}":                     adminOnly(200, 404),
	"PUT /api/v1/identities/{id}":                     adminOnly(200, 404),
	"DELETE /api/v1/identities/{id}":                  adminOnly(200, 404),
	"POST /api/v1/identities/{id}/freeze":             adminOnly(200, 404),
	"POST /api/v1/identities/{id}/unfreeze":           adminOnly(200, 404),
	"GET /api/v1/identities/{id}/permissions":         adminOnly(200, 404),
	"GET /api/v1/identities/{id}/integration-tokens":  adminOnly(200, 404),
	"POST /api/v1/identities/{id}/integration-tokens": adminOnly(201, 404),
	"POST /api/v1/identities/{id}/integration-tokens/{token_id}/revoke": adminOnly(200, 404),
	"DELETE /api/v1/identities/{id}/integration-tokens/{token_id}":      adminOnly(200, 404),
	"GET /api/v1/permissions/sets":                                      adminOnly(200, 403),
	"PUT /api/v1/permissions/sets/{ref}":                                adminOnly(200, 404),
	"POST /api/v1/permissions/assignments":                              adminOnly(201, 403),
	"DELETE /api/v1/permissions/assignments/{id}":                       adminOnly(200, 403),
	"GET /api/v1/keys":                                                  {"viewer": 200, "executor": 200, "editor": 200, "admin": 200, "other": 403},
	"POST /api/v1/keys":                                                 adminOnly(201, 403),
	"GET /api/v1/keys/{ref}":                                            {"viewer": 200, "executor": 200, "editor": 200, "admin": 200, "other": 404},
	"PUT /api/v1/keys/{ref}":                                            {"viewer": 403, "executor": 403, "editor": 200, "admin": 200, "other": 404},
	"DELETE /api/v1/keys/{ref}":                                         {"viewer": 403, "executor": 403, "editor": 403, "admin": 200, "other": 404},
	"GET /api/v1/audit":                                                 adminOnly(200, 403),
}

func all(s int) map[string]int {
	m := map[string]int{}
	for _, r := range roles {
		m[r] = s
	}
	return m
}

func adminOnly(ok, denied int) map[string]int {
	m := all(denied)
	m["admin"] = ok
	return m
}

// matrixFixture holds the objects each request targets; it is rebuilt per
// role so destructive calls (DELETE) do not affect other cells.
type matrixFixture struct {
	victim   store.Identity
	tokenID  int64
	assignID int64
	keyRef   string
	// extra holds objects created by matrixGroup fixtures, by name.
	extra map[string]any
}

// matrixGroup extends the matrix from another file, so each resource group
// keeps its policy next to its tests: register one from an init func.
type matrixGroup struct {
	// expect: "METHOD path" → status per role, as in expectations.
	expect map[string]map[string]int
	// fixture creates the group's target objects into f.extra.
	fixture func(t *testing.T, e *env, tag string, f *matrixFixture)
	// request builds the path and body for routes of the group (ok=false: not mine).
	request func(rt Route, f matrixFixture, tag string) (path string, body any, ok bool)
}

var matrixGroups []matrixGroup

func registerMatrix(g matrixGroup) {
	matrixGroups = append(matrixGroups, g)
	for k, v := range g.expect {
		expectations[k] = v
	}
}

func newMatrixFixture(t *testing.T, e *env, tag string) matrixFixture {
	ctx := context.Background()
	victim, _ := e.user("victim-" + tag)
	plain, hash := security.NewOpaqueToken(security.IntegrationTokenPrefix)
	it, err := e.st.IntegrationTokenInsert(ctx, store.NewIntegrationToken{Identity: victim.ID, Label: "t", TokenHash: hash,
		TokenPrefix: plain[:6], TokenSuffix: plain[len(plain)-4:]})
	require.NoError(t, err)
	set, err := e.st.PermissionSetGetByRef(ctx, rbac.CoreViewer)
	require.NoError(t, err)
	a, err := e.st.PermissionAssignmentInsert(ctx, victim.ID, set.ID)
	require.NoError(t, err)
	ref := "system.k-" + tag
	_, err = e.st.KeyInsert(ctx, store.NewKey{Ref: ref, OwnerType: "system", Name: "k-" + tag, Value: []byte(`"v"`)})
	require.NoError(t, err)
	f := matrixFixture{victim: victim, tokenID: it.ID, assignID: a.ID, keyRef: ref, extra: map[string]any{}}
	for _, g := range matrixGroups {
		if g.fixture != nil {
			g.fixture(t, e, tag, &f)
		}
	}
	return f
}

// matrixRequest fills a route's path parameters from the fixture and gives
// mutating routes a valid body, so the status reflects authorization.
func matrixRequest(rt Route, f matrixFixture, tag string) (string, any) {
	for _, g := range matrixGroups {
		if g.request == nil {
			continue
		}
		if p, body, ok := g.request(rt, f, tag); ok {
			return p, body
		}
	}
	p := strings.NewReplacer("{id}", itoa64(f.victim.ID), "{token_id}", itoa64(f.tokenID),
		"{ref}", f.keyRef).Replace(rt.Path)
	if rt.Path == "/api/v1/permissions/assignments/{id}" {
		p = "/api/v1/permissions/assignments/" + itoa64(f.assignID)
	}
	if rt.Path == "/api/v1/permissions/sets/{ref}" {
		p = "/api/v1/permissions/sets/core.key_creator"
	}
	bodies := map[string]any{
		"POST /auth/login":                                map[string]any{"login": "admin", "password": "wrong"},
		"POST /auth/refresh":                              map[string]any{"refresh_token": "x.y.z"},
		"POST /auth/token-login":                          map[string]any{"token": "atn_bogus"},
		"PUT /auth/me":                                    map[string]any{"display_name": "Me"},
		"POST /auth/change-password":                      map[string]any{"current_password": "wrong", "new_password": "N3w-password-ok"},
		"POST /api/v1/identities":                         map[string]any{"login": "new-" + tag},
		"PUT /api/v1/identities/{id}":                     map[string]any{"display_name": "V"},
		"POST /api/v1/identities/{id}/integration-tokens": map[string]any{"label": "x"},
		"PUT /api/v1/permissions/sets/{ref}":              map[string]any{"grants": rbac.BuiltinGrants(rbac.CoreKeyCreator)},
		"POST /api/v1/permissions/assignments":            map[string]any{"permission_set_ref": "core.editor", "identity_id": f.victim.ID},
		"POST /api/v1/keys":                               map[string]any{"local_ref": "new-" + tag, "value": "s3cret"},
		"PUT /api/v1/keys/{ref}":                          map[string]any{"value": "s3cret2"},
	}
	return p, bodies[rt.Method+" "+rt.Path]
}

func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	routes := e.m.routes()
	for _, rt := range routes {
		_, ok := expectations[rt.Method+" "+rt.Path]
		require.True(t, ok, "route %s %s has no row in the authorization matrix", rt.Method, rt.Path)
	}
	ctx := context.Background()
	sets := map[string][]string{"viewer": {rbac.CoreViewer}, "executor": {rbac.CoreExecutor},
		"editor": {rbac.CoreEditor}, "admin": {rbac.CoreAdmin}, "other": nil}

	// An expired token and an execution token for a finished execution.
	expiredIssuer, err := security.NewTokenIssuer([]byte(e.m.d.Security.JWTSecret), func() time.Time { return time.Now().Add(-3 * time.Hour) })
	require.NoError(t, err)
	adminIdent, err := e.st.IdentityGetByLogin(ctx, "admin")
	require.NoError(t, err)
	expired, err := expiredIssuer.Issue(security.Claims{Subject: adminIdent.ID, Login: "admin", TokenType: security.TokenAccess}, time.Hour)
	require.NoError(t, err)
	execTok, err := e.m.tokens.Issue(security.Claims{Subject: adminIdent.ID, Login: "execution:999999",
		TokenType: security.TokenExecution, Metadata: map[string]any{security.MetaExecutionID: 999999}}, time.Hour)
	require.NoError(t, err)
	forged, err := security.NewTokenIssuer([]byte(security.GenerateSecret()), nil)
	require.NoError(t, err)
	forgedTok, err := forged.Issue(security.Claims{Subject: adminIdent.ID, Login: "admin", TokenType: security.TokenAccess}, time.Hour)
	require.NoError(t, err)

	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		f := newMatrixFixture(t, e, "gen"+sanitize(key))
		path, body := matrixRequest(rt, f, "gen")
		for name, tok := range map[string]string{"anonymous": "", "expired": expired, "execution": execTok, "forged": forgedTok} {
			want := http.StatusUnauthorized
			if rt.Auth.IsPublic() {
				continue // covered by the role rows
			}
			r := e.do(rt.Method, path, tok, body)
			require.Equal(t, want, r.status, "%s as %s: %s", key, name, r.raw)
		}
		for _, role := range roles {
			tag := role + sanitize(key)
			f := newMatrixFixture(t, e, tag)
			_, tok := e.user("caller-"+tag, sets[role]...)
			path, body := matrixRequest(rt, f, tag)
			r := e.do(rt.Method, path, tok, body)
			require.Equal(t, expectations[key][role], r.status, "%s as %s: %s", key, role, r.raw)
		}
	}
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(s))
}
