package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

func (m *Module) identityRoutes() []Route {
	base := "/api/v1/identities"
	return []Route{
		{Method: "GET", Path: base, OperationID: "listIdentities", Auth: Users, Handler: m.listIdentities},
		{Method: "POST", Path: base, OperationID: "createIdentity", Auth: Users, Handler: m.createIdentity},
		{Method: "GET", Path: base + "/{id}", OperationID: "getIdentity", Auth: Users, Handler: m.getIdentity},
		{Method: "PUT", Path: base + "/{id}", OperationID: "updateIdentity", Auth: Users, Handler: m.updateIdentity},
		{Method: "DELETE", Path: base + "/{id}", OperationID: "deleteIdentity", Auth: Users, Handler: m.deleteIdentity},
		{Method: "POST", Path: base + "/{id}/freeze", OperationID: "freezeIdentity", Auth: Users, Handler: m.freezeIdentity(true)},
		{Method: "POST", Path: base + "/{id}/unfreeze", OperationID: "unfreezeIdentity", Auth: Users, Handler: m.freezeIdentity(false)},
		{Method: "GET", Path: base + "/{id}/permissions", OperationID: "getIdentityPermissions", Auth: Users, Handler: m.identityPermissions},
	}
}

// IdentityResponse is the public view of an identity (never the hash).
type IdentityResponse struct {
	ID          int64           `json:"id"`
	Login       string          `json:"login"`
	DisplayName *string         `json:"display_name"`
	Attributes  json.RawMessage `json:"attributes"`
	Frozen      bool            `json:"frozen"`
	IsLocal     bool            `json:"is_local"`
	Created     time.Time       `json:"created"`
	Updated     time.Time       `json:"updated"`
}

func identityResponse(i store.Identity) IdentityResponse {
	attrs := i.Attributes
	if len(attrs) == 0 {
		attrs = json.RawMessage("{}")
	}
	return IdentityResponse{ID: i.ID, Login: i.Login, DisplayName: i.DisplayName, Attributes: attrs,
		Frozen: i.Frozen, IsLocal: i.PasswordHash != nil, Created: i.Created, Updated: i.Updated}
}

// can returns nil when p may do action on resource, else ErrForbidden.
func can(p *access.Principal, resource, action string) error {
	if access.CanDo(p, resource, action, "", "") {
		return nil
	}
	return domain.ErrForbidden
}

// visibleIdentity loads identity id if the caller may see it (itself, or
// identities:read); anything else is 404 (spec §9.1 Hiding).
func (m *Module) visibleIdentity(c echo.Context, p *access.Principal) (store.Identity, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return store.Identity{}, err
	}
	if id != p.IdentityID && !p.Can(rbac.Target{Resource: rbac.ResIdentities, Action: rbac.ActRead, ID: id}) {
		return store.Identity{}, domain.NotFoundf("identity %d", id)
	}
	return m.d.Store.IdentityGet(c.Request().Context(), id)
}

func (m *Module) listIdentities(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	if !rbac.Unconstrained(p.Subject, rbac.ResIdentities, rbac.ActRead) {
		return domain.ErrForbidden
	}
	pg, err := parsePage(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	rows, err := m.d.Store.IdentityListPage(ctx, pg.Offset(), pg.Limit())
	if err != nil {
		return err
	}
	var total *int64
	if pg.IncludeTotal {
		n, err := m.d.Store.IdentityCount(ctx)
		if err != nil {
			return err
		}
		total = &n
	}
	out := make([]IdentityResponse, len(rows))
	for i, r := range rows {
		out[i] = identityResponse(r)
	}
	return c.JSON(http.StatusOK, paged(pg, out, total))
}

func (m *Module) createIdentity(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	if err := can(p, rbac.ResIdentities, rbac.ActCreate); err != nil {
		return err
	}
	var req struct {
		Login             string          `json:"login"`
		Password          *string         `json:"password"`
		DisplayName       *string         `json:"display_name"`
		Attributes        json.RawMessage `json:"attributes"`
		PermissionSetRefs []string        `json:"permission_set_refs"`
	}
	if err := bind(c, &req); err != nil {
		return err
	}
	if len(req.PermissionSetRefs) > 0 {
		if err := can(p, rbac.ResPermissions, rbac.ActManage); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	var hash *string
	if req.Password != nil {
		if err := security.CheckPasswordStrength(*req.Password); err != nil {
			return domain.NewValidationError("password", err.Error())
		}
		h, err := m.hashPassword(ctx, *req.Password)
		if err != nil {
			return err
		}
		hash = &h
	}
	var created store.Identity
	err = m.d.Store.InTx(ctx, func(tx *store.Tx) error {
		created, err = tx.IdentityInsert(ctx, store.NewIdentity{Login: req.Login, DisplayName: req.DisplayName,
			PasswordHash: hash, Attributes: req.Attributes})
		if err != nil {
			return err
		}
		for i, ref := range req.PermissionSetRefs {
			set, err := tx.PermissionSetGetByRef(ctx, ref)
			if errors.Is(err, domain.ErrNotFound) {
				return domain.Invalidf("permission_set_refs["+itoa(i)+"]", "unknown permission set %q", ref)
			} else if err != nil {
				return err
			}
			if _, err := tx.PermissionAssignmentInsert(ctx, created.ID, set.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return data(c, http.StatusCreated, identityResponse(created))
}

func (m *Module) hashPassword(ctx context.Context, pw string) (string, error) {
	var h string
	err := m.hashing(ctx, func() error {
		var herr error
		h, herr = security.HashPassword(pw, m.passwordCost)
		return herr
	})
	return h, err
}

func (m *Module) getIdentity(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	ident, err := m.visibleIdentity(c, p)
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, identityResponse(ident))
}

func (m *Module) updateIdentity(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	ident, err := m.visibleIdentity(c, p)
	if err != nil {
		return err
	}
	if err := can(p, rbac.ResIdentities, rbac.ActUpdate); err != nil {
		return err
	}
	var req struct {
		DisplayName *string         `json:"display_name"`
		Attributes  json.RawMessage `json:"attributes"`
		Password    *string         `json:"password"`
	}
	if err := bind(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var hash *string
	if req.Password != nil {
		if err := security.CheckPasswordStrength(*req.Password); err != nil {
			return domain.NewValidationError("password", err.Error())
		}
		h, err := m.hashPassword(ctx, *req.Password)
		if err != nil {
			return err
		}
		hash = &h
	}
	var updated store.Identity
	err = m.d.Store.InTx(ctx, func(tx *store.Tx) error {
		updated, err = tx.IdentityUpdate(ctx, ident.ID, req.DisplayName, req.Attributes, nil)
		if err != nil || hash == nil {
			return err
		}
		if err := tx.IdentitySetPassword(ctx, ident.ID, hash); err != nil {
			return err
		}
		_, err = tx.AuthTokenRevokeIdentity(ctx, ident.ID)
		return err
	})
	if err != nil {
		return err
	}
	access.Invalidate(ident.ID)
	return data(c, http.StatusOK, identityResponse(updated))
}

// protectedIdentity refuses changes that would lock everyone out or break
// rule-fired executions: acting on oneself or on the system identity.
func (m *Module) protectedIdentity(ctx context.Context, p *access.Principal, id int64) error {
	if id == p.IdentityID {
		return &APIError{Status: http.StatusConflict, Code: "CONFLICT", Message: "cannot freeze or delete your own identity"}
	}
	sys, err := access.SystemIdentityID(ctx, m.d.Store)
	if err != nil {
		return err
	}
	if id == sys {
		return &APIError{Status: http.StatusConflict, Code: "CONFLICT", Message: "the system identity cannot be frozen or deleted"}
	}
	return nil
}

func (m *Module) deleteIdentity(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	ident, err := m.visibleIdentity(c, p)
	if err != nil {
		return err
	}
	if err := can(p, rbac.ResIdentities, rbac.ActDelete); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := m.protectedIdentity(ctx, p, ident.ID); err != nil {
		return err
	}
	if err := m.d.Store.IdentityDelete(ctx, ident.ID); err != nil {
		return err
	}
	access.Invalidate(ident.ID)
	return success(c, "identity deleted")
}

func (m *Module) freezeIdentity(frozen bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, err := mustPrincipal(c)
		if err != nil {
			return err
		}
		ident, err := m.visibleIdentity(c, p)
		if err != nil {
			return err
		}
		if err := can(p, rbac.ResIdentities, rbac.ActUpdate); err != nil {
			return err
		}
		ctx := c.Request().Context()
		if err := m.protectedIdentity(ctx, p, ident.ID); err != nil {
			return err
		}
		var updated store.Identity
		err = m.d.Store.InTx(ctx, func(tx *store.Tx) error {
			updated, err = tx.IdentityUpdate(ctx, ident.ID, nil, nil, &frozen)
			if err != nil || !frozen {
				return err
			}
			_, err = tx.AuthTokenRevokeIdentity(ctx, ident.ID)
			return err
		})
		if err != nil {
			return err
		}
		access.Invalidate(ident.ID)
		return data(c, http.StatusOK, identityResponse(updated))
	}
}

func (m *Module) identityPermissions(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	ident, err := m.visibleIdentity(c, p)
	if err != nil {
		return err
	}
	assigns, err := m.d.Store.PermissionAssignmentListByIdentity(c.Request().Context(), ident.ID)
	if err != nil {
		return err
	}
	type assignment struct {
		ID               int64     `json:"id"`
		PermissionSetRef string    `json:"permission_set_ref"`
		Created          time.Time `json:"created"`
	}
	out := make([]assignment, len(assigns))
	var grants []rbac.Grant
	for i, a := range assigns {
		out[i] = assignment{ID: a.ID, PermissionSetRef: a.PermSetRef, Created: a.Created}
		var gs []rbac.Grant
		if json.Unmarshal(a.Grants, &gs) == nil && rbac.ValidateGrants(gs) == nil {
			if len(gs) == 0 {
				gs = rbac.BuiltinGrants(a.PermSetRef)
			}
			grants = append(grants, gs...)
		}
	}
	grants = append(grants, rbac.ImplicitGrants()...)
	return data(c, http.StatusOK, map[string]any{
		"identity_id": ident.ID, "assignments": out, "effective_permissions": effectivePermissions(grants),
	})
}
