package api

import (
	"context"
	"errors"
	"net/http"
	"runtime/debug"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

func (m *Module) authRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/auth/settings", OperationID: "getAuthSettings", Auth: Public, Handler: m.authSettings},
		{Method: "POST", Path: "/auth/login", OperationID: "login", Auth: Public, Handler: m.login},
		{Method: "POST", Path: "/auth/refresh", OperationID: "refreshToken", Auth: Public, Handler: m.refresh},
		{Method: "POST", Path: "/auth/token-login", OperationID: "tokenLogin", Auth: Public, Handler: m.tokenLogin},
		{Method: "POST", Path: "/auth/logout", OperationID: "logout", Auth: Users, Handler: m.logout},
		{Method: "GET", Path: "/auth/me", OperationID: "getMe", Auth: Users, Handler: m.getMe},
		{Method: "PUT", Path: "/auth/me", OperationID: "updateMe", Auth: Users, Handler: m.updateMe},
		{Method: "POST", Path: "/auth/change-password", OperationID: "changePassword", Auth: Users, Handler: m.changePassword},
	}
}

// TokenUser is the user summary in a TokenResponse.
type TokenUser struct {
	ID          int64   `json:"id"`
	Login       string  `json:"login"`
	DisplayName *string `json:"display_name"`
}

// TokenResponse is returned by login, refresh and token-login (spec §9.2).
type TokenResponse struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	TokenType    string    `json:"token_type"`
	ExpiresIn    int64     `json:"expires_in"`
	User         TokenUser `json:"user"`
}

func (m *Module) authSettings(c echo.Context) error {
	return data(c, http.StatusOK, map[string]any{
		"authentication_enabled": true, "local_password_enabled": true, "oidc_enabled": false,
		"ldap_enabled": false, "self_registration_enabled": false, "providers": []any{},
	})
}

// hashing runs f while holding one of the few Argon2id slots.
func (m *Module) hashing(ctx context.Context, f func() error) error {
	select {
	case m.hashSem <- struct{}{}:
	case <-ctx.Done():
		return &APIError{Status: http.StatusServiceUnavailable, Code: "SERVICE_UNAVAILABLE", Message: "server busy, retry later", RetryAfter: time.Second}
	}
	defer func() { <-m.hashSem }()
	err := f()
	// An Argon2 run allocates its whole memory cost (64 MiB by default) at
	// once; hand it back now rather than keep it as GC headroom, which would
	// otherwise hold the process's RSS near that size long after.
	debug.FreeOSMemory()
	return err
}

// dummyHash is verified for unknown logins so their response time matches
// a real account's (no user enumeration by timing). It is built, not
// hashed: computing it would cost a login an extra Argon2 run and its
// memory.
func (m *Module) dummyHash() string {
	m.dummyOnce.Do(func() { m.dummy = security.DummyHash(m.passwordCost) })
	return m.dummy
}

func (m *Module) login(c echo.Context) error {
	var req struct {
		Login    string `json:"login"`
		Password string `json:"password"`
	}
	if err := bind(c, &req); err != nil {
		return err
	}
	c.Set(auditLoginKey, req.Login)
	if err := m.loginAllowed(c, req.Login); err != nil {
		return err
	}
	ctx := c.Request().Context()
	ident, err := m.d.Store.IdentityGetByLogin(ctx, req.Login)
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return err
	}
	hash := m.dummyHash()
	if err == nil && ident.PasswordHash != nil {
		hash = *ident.PasswordHash
	}
	var ok bool
	if herr := m.hashing(ctx, func() error {
		var verr error
		ok, _, verr = security.VerifyPassword(req.Password, hash)
		return verr
	}); herr != nil {
		var apiErr *APIError
		if errors.As(herr, &apiErr) {
			return herr
		}
		ok = false // oversized/empty password or a malformed stored hash: just a failed login
	}
	if err != nil || ident.PasswordHash == nil || !ok || ident.Frozen {
		return &APIError{Status: http.StatusUnauthorized, Code: "UNAUTHORIZED", Message: "invalid login or password"}
	}
	m.loginLimiter.Reset("login:" + req.Login)
	resp, err := m.issuePair(ctx, ident, "", nil, "")
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, resp)
}

// loginAllowed applies the per-address and per-account login budgets.
func (m *Module) loginAllowed(c echo.Context, login string) error {
	okIP, retryIP := m.loginLimiter.Allow("ip:" + sourceIP(c))
	okAcct, retryAcct := true, time.Duration(0)
	if login != "" {
		okAcct, retryAcct = m.loginLimiter.Allow("login:" + login)
	}
	if !okIP || !okAcct {
		return tooManyRequests(max(retryIP, retryAcct))
	}
	return nil
}

// issuePair mints and records an access + refresh token pair. family ties
// the pair to a refresh rotation chain ("" starts a new one).
func (m *Module) issuePair(ctx context.Context, ident store.Identity, scope string, meta map[string]any, family string) (TokenResponse, error) {
	accessJTI, refreshJTI := security.NewJTI(), security.NewJTI()
	if family == "" {
		family = refreshJTI
	}
	base := security.Claims{Subject: ident.ID, Login: ident.Login, Scope: scope, Metadata: meta}
	ac, rc := base, base
	ac.TokenType, ac.JTI = security.TokenAccess, accessJTI
	rc.TokenType, rc.JTI = security.TokenRefresh, refreshJTI
	at, err := m.tokens.Issue(ac, m.d.Security.AccessTTL)
	if err != nil {
		return TokenResponse{}, err
	}
	rt, err := m.tokens.Issue(rc, m.d.Security.RefreshTTL)
	if err != nil {
		return TokenResponse{}, err
	}
	now := m.now()
	id := ident.ID
	err = m.d.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.AuthTokenInsert(ctx, store.NewAuthToken{JTI: accessJTI, Identity: &id, TokenType: "access",
			Family: &family, ExpiresAt: now.Add(m.d.Security.AccessTTL + security.Leeway)}); err != nil {
			return err
		}
		return tx.AuthTokenInsert(ctx, store.NewAuthToken{JTI: refreshJTI, Identity: &id, TokenType: "refresh",
			Family: &family, ExpiresAt: now.Add(m.d.Security.RefreshTTL + security.Leeway)})
	})
	if err != nil {
		return TokenResponse{}, err
	}
	return TokenResponse{AccessToken: at, RefreshToken: rt, TokenType: "Bearer",
		ExpiresIn: int64(m.d.Security.AccessTTL / time.Second),
		User:      TokenUser{ID: ident.ID, Login: ident.Login, DisplayName: ident.DisplayName}}, nil
}

var errRefreshDenied = &APIError{Status: http.StatusUnauthorized, Code: "UNAUTHORIZED", Message: "refresh token invalid or revoked"}

// refresh rotates a refresh token. Presenting a token that was already
// rotated or revoked is treated as theft: the whole family (every token
// descended from the same login) is revoked, so whichever party holds the
// newer token is signed out too.
func (m *Module) refresh(c echo.Context) error {
	var req struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := bind(c, &req); err != nil {
		return err
	}
	if ok, retry := m.loginLimiter.Allow("ip:" + sourceIP(c)); !ok {
		return tooManyRequests(retry)
	}
	claims, err := m.tokens.Verify(req.RefreshToken, security.TokenRefresh)
	if err != nil {
		return errRefreshDenied
	}
	ctx := c.Request().Context()
	rec, err := m.d.Store.AuthTokenGet(ctx, claims.JTI)
	if errors.Is(err, domain.ErrNotFound) {
		return errRefreshDenied
	} else if err != nil {
		return err
	}
	family := claims.JTI
	if rec.Family != nil {
		family = *rec.Family
	}
	if rec.RevokedAt != nil || rec.Identity == nil || *rec.Identity != claims.Subject {
		if _, err := m.d.Store.AuthTokenRevokeFamily(ctx, family); err != nil {
			return err
		}
		m.d.Log.Warn("refresh token reuse detected; token family revoked", "identity", claims.Subject)
		return errRefreshDenied
	}
	ident, err := m.d.Store.IdentityGet(ctx, claims.Subject)
	if err != nil || ident.Frozen {
		return errRefreshDenied
	}
	c.Set(auditLoginKey, ident.Login)
	if claims.Scope == access.ScopeIntegrationToken {
		id, _ := claims.MetadataInt64(security.MetaIntegrationTokenID)
		it, err := m.d.Store.IntegrationTokenGet(ctx, id)
		if err != nil || !it.Usable(m.now()) {
			return errRefreshDenied
		}
	}
	// Revoke the presented token first (compare-and-set): of two concurrent
	// refreshes with the same token exactly one wins; the loser is reuse.
	next := security.NewJTI()
	if err := m.d.Store.AuthTokenRotate(ctx, claims.JTI, next); err != nil {
		if errors.Is(err, domain.ErrConflict) {
			_, _ = m.d.Store.AuthTokenRevokeFamily(ctx, family)
			return errRefreshDenied
		}
		return err
	}
	resp, err := m.issuePair(ctx, ident, claims.Scope, claims.Metadata, family)
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, resp)
}

// logout revokes the caller's session: the presented access token and every
// token of its refresh family.
func (m *Module) logout(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	rec, err := m.d.Store.AuthTokenGet(ctx, p.Claims.JTI)
	if err == nil && rec.Family != nil {
		if _, err := m.d.Store.AuthTokenRevokeFamily(ctx, *rec.Family); err != nil {
			return err
		}
	}
	if err := m.d.Store.AuthTokenRevoke(ctx, p.Claims.JTI); err != nil {
		return err
	}
	return success(c, "signed out")
}

// Permission is one resource with the actions the caller holds on it (in
// any form, constrained or not).
type Permission struct {
	Resource string   `json:"resource"`
	Actions  []string `json:"actions"`
}

func effectivePermissions(grants []rbac.Grant) []Permission {
	byRes := map[string][]string{}
	for _, g := range grants {
		for _, a := range g.Actions {
			if !slices.Contains(byRes[g.Resource], a) {
				byRes[g.Resource] = append(byRes[g.Resource], a)
			}
		}
	}
	out := []Permission{}
	for _, r := range rbac.Resources {
		if acts, ok := byRes[r]; ok {
			slices.SortFunc(acts, func(a, b string) int { return slices.Index(rbac.Actions, a) - slices.Index(rbac.Actions, b) })
			out = append(out, Permission{Resource: r, Actions: acts})
		}
	}
	return out
}

func (m *Module) meBody(ctx context.Context, p *access.Principal) (map[string]any, error) {
	ident, err := m.d.Store.IdentityGet(ctx, p.IdentityID)
	if err != nil {
		return nil, err
	}
	refs := p.PermissionSetRefs
	if refs == nil {
		refs = []string{}
	}
	return map[string]any{
		"id": ident.ID, "login": ident.Login, "display_name": ident.DisplayName,
		"auth_provider": "local", "is_local": true, "can_change_password": ident.PasswordHash != nil,
		"assigned_permission_set_refs": refs,
		"effective_permissions":        effectivePermissions(p.Subject.Grants),
	}, nil
}

func (m *Module) getMe(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	body, err := m.meBody(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, body)
}

func (m *Module) updateMe(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	var req struct {
		DisplayName *string `json:"display_name"`
	}
	if err := bind(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := m.d.Store.IdentityUpdate(ctx, p.IdentityID, req.DisplayName, nil, nil); err != nil {
		return err
	}
	access.Invalidate(p.IdentityID)
	body, err := m.meBody(ctx, p)
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, body)
}

// changePassword replaces the caller's password and revokes every access
// and refresh token of the identity, signing out all sessions (including
// the one making this call).
func (m *Module) changePassword(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	if p.Claims.Scope == access.ScopeIntegrationToken {
		return domain.ErrForbidden // a leaked API token must not take over the account
	}
	var req struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if err := bind(c, &req); err != nil {
		return err
	}
	if ok, retry := m.loginLimiter.Allow("login:" + p.Login); !ok {
		return tooManyRequests(retry)
	}
	ctx := c.Request().Context()
	ident, err := m.d.Store.IdentityGet(ctx, p.IdentityID)
	if err != nil {
		return err
	}
	if ident.PasswordHash == nil {
		return domain.ErrForbidden
	}
	var ok bool
	if err := m.hashing(ctx, func() error {
		ok, _, _ = security.VerifyPassword(req.CurrentPassword, *ident.PasswordHash)
		return nil
	}); err != nil {
		return err
	}
	if !ok {
		return domain.NewValidationError("current_password", "does not match")
	}
	if err := security.CheckPasswordStrength(req.NewPassword); err != nil {
		return domain.NewValidationError("new_password", err.Error())
	}
	var hash string
	if err := m.hashing(ctx, func() error {
		var herr error
		hash, herr = security.HashPassword(req.NewPassword, m.passwordCost)
		return herr
	}); err != nil {
		return err
	}
	err = m.d.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.IdentitySetPassword(ctx, ident.ID, &hash); err != nil {
			return err
		}
		_, err := tx.AuthTokenRevokeIdentity(ctx, ident.ID)
		return err
	})
	if err != nil {
		return err
	}
	return success(c, "password changed; all sessions were signed out")
}

// tokenLogin exchanges an integration token for a JWT pair scoped
// integration_token (spec §9.3).
func (m *Module) tokenLogin(c echo.Context) error {
	var req struct {
		Token string `json:"token"`
	}
	if err := bind(c, &req); err != nil {
		return err
	}
	if err := m.loginAllowed(c, ""); err != nil {
		return err
	}
	ctx := c.Request().Context()
	deny := &APIError{Status: http.StatusUnauthorized, Code: "UNAUTHORIZED", Message: "invalid or revoked token"}
	it, err := m.d.Store.IntegrationTokenGetByHash(ctx, security.HashToken(req.Token))
	if errors.Is(err, domain.ErrNotFound) {
		return deny
	} else if err != nil {
		return err
	}
	if !it.Usable(m.now()) {
		return deny
	}
	ident, err := m.d.Store.IdentityGet(ctx, it.Identity)
	if err != nil || ident.Frozen {
		return deny
	}
	c.Set(auditLoginKey, ident.Login)
	if err := m.d.Store.IntegrationTokenTouch(ctx, it.ID, sourceIP(c)); err != nil {
		return err
	}
	resp, err := m.issuePair(ctx, ident, access.ScopeIntegrationToken,
		map[string]any{security.MetaIntegrationTokenID: it.ID}, "")
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, resp)
}
