package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

func (m *Module) integrationTokenRoutes() []Route {
	base := "/api/v1/identities/{id}/integration-tokens"
	return []Route{
		{Method: "GET", Path: base, OperationID: "listIntegrationTokens", Auth: Users, Handler: m.listIntegrationTokens},
		{Method: "POST", Path: base, OperationID: "createIntegrationToken", Auth: Users, Handler: m.createIntegrationToken, Resource: "integration_tokens"},
		{Method: "POST", Path: base + "/{token_id}/revoke", OperationID: "revokeIntegrationToken", Auth: Users, Handler: m.revokeIntegrationToken, Resource: "integration_tokens"},
		{Method: "DELETE", Path: base + "/{token_id}", OperationID: "deleteIntegrationToken", Auth: Users, Handler: m.deleteIntegrationToken, Resource: "integration_tokens"},
	}
}

// IntegrationTokenResponse never carries the token itself except in the
// creation response (Token, shown once).
type IntegrationTokenResponse struct {
	ID          int64      `json:"id"`
	IdentityID  int64      `json:"identity_id"`
	Label       string     `json:"label"`
	Description *string    `json:"description"`
	Token       string     `json:"token,omitempty"`
	TokenPrefix string     `json:"token_prefix"`
	TokenSuffix string     `json:"token_suffix"`
	ExpiresAt   *time.Time `json:"expires_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	RevokedAt   *time.Time `json:"revoked_at"`
	Created     time.Time  `json:"created"`
}

func integrationTokenResponse(t store.IntegrationToken) IntegrationTokenResponse {
	return IntegrationTokenResponse{ID: t.ID, IdentityID: t.Identity, Label: t.Label, Description: t.Description,
		TokenPrefix: t.TokenPrefix, TokenSuffix: t.TokenSuffix, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt,
		RevokedAt: t.RevokedAt, Created: t.Created}
}

// tokenOwner resolves {id} for token management: callers manage their own
// tokens; managing another identity's needs identities:manage. Invisible
// identities are 404, visible-but-not-manageable 403.
func (m *Module) tokenOwner(c echo.Context) (*access.Principal, store.Identity, error) {
	p, err := mustPrincipal(c)
	if err != nil {
		return nil, store.Identity{}, err
	}
	ident, err := m.visibleIdentity(c, p)
	if err != nil {
		return nil, store.Identity{}, err
	}
	if ident.ID != p.IdentityID && !p.Can(rbac.Target{Resource: rbac.ResIdentities, Action: rbac.ActManage, ID: ident.ID}) {
		return nil, store.Identity{}, domain.ErrForbidden
	}
	return p, ident, nil
}

func (m *Module) listIntegrationTokens(c echo.Context) error {
	_, ident, err := m.tokenOwner(c)
	if err != nil {
		return err
	}
	pg, err := parsePage(c)
	if err != nil {
		return err
	}
	toks, err := m.d.Store.IntegrationTokenListByIdentity(c.Request().Context(), ident.ID)
	if err != nil {
		return err
	}
	out := make([]IntegrationTokenResponse, len(toks))
	for i, t := range toks {
		out[i] = integrationTokenResponse(t)
	}
	return c.JSON(http.StatusOK, pageSlice(pg, out))
}

func (m *Module) createIntegrationToken(c echo.Context) error {
	p, ident, err := m.tokenOwner(c)
	if err != nil {
		return err
	}
	if p.Claims.Scope == access.ScopeIntegrationToken {
		return domain.ErrForbidden // an API token cannot mint further API tokens
	}
	var req struct {
		Label       string     `json:"label"`
		Description *string    `json:"description"`
		ExpiresAt   *time.Time `json:"expires_at"`
	}
	if err := bind(c, &req); err != nil {
		return err
	}
	if req.ExpiresAt != nil && !req.ExpiresAt.After(m.now()) {
		return domain.NewValidationError("expires_at", "must be in the future")
	}
	plain, hash := security.NewOpaqueToken(security.IntegrationTokenPrefix)
	by := p.IdentityID
	t, err := m.d.Store.IntegrationTokenInsert(c.Request().Context(), store.NewIntegrationToken{
		Identity: ident.ID, Label: req.Label, Description: req.Description, TokenHash: hash,
		TokenPrefix: plain[:len(security.IntegrationTokenPrefix)+4], TokenSuffix: plain[len(plain)-4:],
		CreatedBy: &by, ExpiresAt: req.ExpiresAt,
	})
	if err != nil {
		return err
	}
	resp := integrationTokenResponse(t)
	resp.Token = plain
	return data(c, http.StatusCreated, resp)
}

func (m *Module) revokeIntegrationToken(c echo.Context) error {
	p, ident, err := m.tokenOwner(c)
	if err != nil {
		return err
	}
	tid, err := pathID(c, "token_id")
	if err != nil {
		return err
	}
	by := p.IdentityID
	reason := "revoked via API"
	t, err := m.d.Store.IntegrationTokenRevoke(c.Request().Context(), ident.ID, tid, &by, &reason)
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, integrationTokenResponse(t))
}

func (m *Module) deleteIntegrationToken(c echo.Context) error {
	_, ident, err := m.tokenOwner(c)
	if err != nil {
		return err
	}
	tid, err := pathID(c, "token_id")
	if err != nil {
		return err
	}
	if err := m.d.Store.IntegrationTokenDelete(c.Request().Context(), ident.ID, tid); err != nil {
		return err
	}
	return success(c, "integration token deleted")
}
