package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/store"
)

func TestLoginRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, _ = e.user("bob")

	bad := e.do("POST", "/auth/login", "", map[string]any{"login": "bob", "password": "wrong"})
	require.Equal(t, http.StatusUnauthorized, bad.status, string(bad.raw))
	unknown := e.do("POST", "/auth/login", "", map[string]any{"login": "nobody", "password": "x"})
	require.Equal(t, http.StatusUnauthorized, unknown.status)
	require.Equal(t, bad.body["error"], unknown.body["error"], "no user enumeration")

	r := e.do("POST", "/auth/login", "", map[string]any{"login": "bob", "password": "Passw0rd-bob"})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	d := r.data()
	require.Equal(t, "Bearer", d["token_type"])
	require.EqualValues(t, 3600, d["expires_in"])
	access1, refresh1 := d["access_token"].(string), d["refresh_token"].(string)
	require.Equal(t, http.StatusOK, e.do("GET", "/auth/me", access1, nil).status)
	// A refresh token is not an access token.
	require.Equal(t, http.StatusUnauthorized, e.do("GET", "/auth/me", refresh1, nil).status)

	r2 := e.do("POST", "/auth/refresh", "", map[string]any{"refresh_token": refresh1})
	require.Equal(t, http.StatusOK, r2.status, string(r2.raw))
	access2, refresh2 := r2.data()["access_token"].(string), r2.data()["refresh_token"].(string)
	require.NotEqual(t, refresh1, refresh2)
	require.Equal(t, http.StatusOK, e.do("GET", "/auth/me", access2, nil).status)

	// Reusing the rotated-away refresh token revokes the whole family.
	reuse := e.do("POST", "/auth/refresh", "", map[string]any{"refresh_token": refresh1})
	require.Equal(t, http.StatusUnauthorized, reuse.status)
	require.Equal(t, http.StatusUnauthorized, e.do("POST", "/auth/refresh", "", map[string]any{"refresh_token": refresh2}).status)
	require.Equal(t, http.StatusUnauthorized, e.do("GET", "/auth/me", access2, nil).status)
	require.Equal(t, http.StatusUnauthorized, e.do("GET", "/auth/me", access1, nil).status)
}

func TestLogoutAndChangePassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, _ = e.user("carol")
	login := func(pw string) (string, string, int) {
		r := e.do("POST", "/auth/login", "", map[string]any{"login": "carol", "password": pw})
		if r.status != http.StatusOK {
			return "", "", r.status
		}
		return r.data()["access_token"].(string), r.data()["refresh_token"].(string), r.status
	}
	a, rt, _ := login("Passw0rd-carol")
	require.Equal(t, http.StatusOK, e.do("POST", "/auth/logout", a, nil).status)
	require.Equal(t, http.StatusUnauthorized, e.do("GET", "/auth/me", a, nil).status)
	require.Equal(t, http.StatusUnauthorized, e.do("POST", "/auth/refresh", "", map[string]any{"refresh_token": rt}).status)

	a1, rt1, _ := login("Passw0rd-carol")
	a2, _, _ := login("Passw0rd-carol")
	weak := e.do("POST", "/auth/change-password", a1, map[string]any{"current_password": "Passw0rd-carol", "new_password": "short"})
	require.Equal(t, http.StatusUnprocessableEntity, weak.status)
	require.Equal(t, "new_password", weak.body["details"].(map[string]any)["field"])
	wrong := e.do("POST", "/auth/change-password", a1, map[string]any{"current_password": "nope", "new_password": "N3w-password-ok"})
	require.Equal(t, http.StatusUnprocessableEntity, wrong.status)
	ok := e.do("POST", "/auth/change-password", a1, map[string]any{"current_password": "Passw0rd-carol", "new_password": "N3w-password-ok"})
	require.Equal(t, http.StatusOK, ok.status, string(ok.raw))
	// Every session of the identity is signed out.
	require.Equal(t, http.StatusUnauthorized, e.do("GET", "/auth/me", a2, nil).status)
	require.Equal(t, http.StatusUnauthorized, e.do("POST", "/auth/refresh", "", map[string]any{"refresh_token": rt1}).status)
	_, _, st := login("Passw0rd-carol")
	require.Equal(t, http.StatusUnauthorized, st)
	_, _, st = login("N3w-password-ok")
	require.Equal(t, http.StatusOK, st)
}

func TestFrozenIdentityCannotLogIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dave, tok := e.user("dave")
	r := e.do("POST", "/api/v1/identities/"+itoa64(dave.ID)+"/freeze", e.admin, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Equal(t, http.StatusUnauthorized, e.do("GET", "/auth/me", tok, nil).status)
	require.Equal(t, http.StatusUnauthorized, e.do("POST", "/auth/login", "", map[string]any{"login": "dave", "password": "Passw0rd-dave"}).status)
}

func TestFirstRunAdminGeneratedPasswordPrintedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(d *Deps) { d.Security.AdminPassword = "" })
	out := e.out.String()
	require.Contains(t, out, `administrator "admin"`)
	require.Contains(t, out, "shown only once")
	var pw string
	for _, line := range strings.Split(out, "\n") {
		if s := strings.TrimSpace(line); len(s) == 43 && !strings.Contains(s, " ") {
			pw = s
		}
	}
	require.NotEmpty(t, pw, "password line in %q", out)
	r := e.do("POST", "/auth/login", "", map[string]any{"login": "admin", "password": pw})
	require.Equal(t, http.StatusOK, r.status)
	me := e.do("GET", "/auth/me", r.data()["access_token"].(string), nil)
	require.Contains(t, me.data()["assigned_permission_set_refs"], "core.admin")

	// A second start on the same database prints nothing and keeps the admin.
	e.out.Reset()
	require.NoError(t, e.m.Start(context.Background()))
	require.Empty(t, e.out.String())
	sys, err := e.st.IdentityGetByLogin(context.Background(), "system")
	require.NoError(t, err)
	require.Nil(t, sys.PasswordHash, "system identity cannot log in")
}

func TestFirstRunAdminConfiguredPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // AdminPassword set, as ATTUNE__SECURITY__ADMIN_PASSWORD would
	require.Empty(t, e.out.String(), "a configured password is never printed")
	r := e.do("POST", "/auth/login", "", map[string]any{"login": "admin", "password": "Adm1n-test-password"})
	require.Equal(t, http.StatusOK, r.status)
	require.NotContains(t, string(r.raw), "Adm1n-test-password")
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(d *Deps) { d.Config.LoginRateLimit = 5 })
	for i := 0; i < 5; i++ {
		require.Equal(t, http.StatusUnauthorized, e.do("POST", "/auth/login", "", map[string]any{"login": "admin", "password": "bad"}).status)
	}
	r := e.do("POST", "/auth/login", "", map[string]any{"login": "admin", "password": "bad"})
	require.Equal(t, http.StatusTooManyRequests, r.status)
	require.NotEmpty(t, r.header.Get("Retry-After"))
	require.Equal(t, "TOO_MANY_REQUESTS", r.body["code"])
}

func TestRequestRateLimit(t *testing.T) { // T3.29
	t.Parallel()
	e := newEnv(t, func(d *Deps) { d.Config.RateLimit = 2 }) // burst 4
	var last result
	for i := 0; i < 10; i++ {
		last = e.do("GET", "/auth/me", e.admin, nil)
		if last.status == http.StatusTooManyRequests {
			break
		}
	}
	require.Equal(t, http.StatusTooManyRequests, last.status)
	require.NotEmpty(t, last.header.Get("Retry-After"))
}

func TestIntegrationTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	erin, tok := e.user("erin")
	base := "/api/v1/identities/" + itoa64(erin.ID) + "/integration-tokens"
	c := e.do("POST", base, tok, map[string]any{"label": "ci"})
	require.Equal(t, http.StatusCreated, c.status, string(c.raw))
	plain := c.data()["token"].(string)
	require.True(t, strings.HasPrefix(plain, security.IntegrationTokenPrefix))
	list := e.do("GET", base, tok, nil)
	require.NotContains(t, string(list.raw), plain, "shown once")
	var stored store.IntegrationToken
	stored, err := e.st.IntegrationTokenGetByHash(context.Background(), security.HashToken(plain))
	require.NoError(t, err)
	require.NotEqual(t, plain, stored.TokenHash)

	l := e.do("POST", "/auth/token-login", "", map[string]any{"token": plain})
	require.Equal(t, http.StatusOK, l.status, string(l.raw))
	jwt := l.data()["access_token"].(string)
	require.Equal(t, http.StatusOK, e.do("GET", "/auth/me", jwt, nil).status)
	// An integration-scoped token cannot mint further tokens.
	require.Equal(t, http.StatusForbidden, e.do("POST", base, jwt, map[string]any{"label": "x"}).status)

	id := itoa64(int64(c.data()["id"].(float64)))
	require.Equal(t, http.StatusOK, e.do("POST", base+"/"+id+"/revoke", tok, nil).status)
	require.Equal(t, http.StatusUnauthorized, e.do("GET", "/auth/me", jwt, nil).status, "revocation kills derived JWTs")
	require.Equal(t, http.StatusUnauthorized, e.do("POST", "/auth/token-login", "", map[string]any{"token": plain}).status)
}
