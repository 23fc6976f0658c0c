package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

func (m *Module) permissionRoutes() []Route {
	base := "/api/v1/permissions"
	return []Route{
		{Method: "GET", Path: base + "/sets", OperationID: "listPermissionSets", Auth: Users, Handler: m.listPermissionSets},
		{Method: "PUT", Path: base + "/sets/{ref}", OperationID: "updatePermissionSet", Auth: Users, Handler: m.updatePermissionSet},
		{Method: "POST", Path: base + "/assignments", OperationID: "createPermissionAssignment", Auth: Users, Handler: m.createAssignment},
		{Method: "DELETE", Path: base + "/assignments/{id}", OperationID: "deletePermissionAssignment", Auth: Users, Handler: m.deleteAssignment},
	}
}

// PermissionSetResponse is the public view of a permission set.
type PermissionSetResponse struct {
	ID          int64        `json:"id"`
	Ref         string       `json:"ref"`
	PackRef     *string      `json:"pack_ref"`
	Label       *string      `json:"label"`
	Description *string      `json:"description"`
	Grants      []rbac.Grant `json:"grants"`
	Created     time.Time    `json:"created"`
	Updated     time.Time    `json:"updated"`
}

func permissionSetResponse(s store.PermissionSet) PermissionSetResponse {
	gs := []rbac.Grant{}
	_ = json.Unmarshal(s.Grants, &gs)
	return PermissionSetResponse{ID: s.ID, Ref: s.Ref, PackRef: s.PackRef, Label: s.Label,
		Description: s.Description, Grants: gs, Created: s.Created, Updated: s.Updated}
}

func (m *Module) listPermissionSets(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	if err := can(p, rbac.ResPermissions, rbac.ActRead); err != nil {
		return err
	}
	pg, err := parsePage(c)
	if err != nil {
		return err
	}
	sets, err := m.d.Store.PermissionSetList(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]PermissionSetResponse, len(sets))
	for i, s := range sets {
		out[i] = permissionSetResponse(s)
	}
	return c.JSON(http.StatusOK, pageSlice(pg, out))
}

// setByRefOrID resolves the {ref} path parameter, which may be a ref
// (core.viewer) or a numeric id.
func (m *Module) setByRefOrID(c echo.Context) (store.PermissionSet, error) {
	v := c.Param("ref")
	if id, err := strconv.ParseInt(v, 10, 64); err == nil {
		return m.d.Store.PermissionSetGet(c.Request().Context(), id)
	}
	return m.d.Store.PermissionSetGetByRef(c.Request().Context(), v)
}

func (m *Module) updatePermissionSet(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	if !access.CanDo(p, rbac.ResPermissions, rbac.ActRead, "", "") {
		return domain.NotFoundf("permission set")
	}
	if err := can(p, rbac.ResPermissions, rbac.ActUpdate); err != nil {
		return err
	}
	var req struct {
		Grants      []rbac.Grant `json:"grants"`
		Label       *string      `json:"label"`
		Description *string      `json:"description"`
	}
	if err := bind(c, &req); err != nil {
		return err
	}
	if req.Grants == nil {
		return domain.NewValidationError("grants", "is required")
	}
	if err := rbac.ValidateGrants(req.Grants); err != nil {
		return &APIError{Status: http.StatusUnprocessableEntity, Code: "VALIDATION_ERROR", Message: err.Error(),
			Details: map[string]any{"field": "grants"}}
	}
	set, err := m.setByRefOrID(c)
	if err != nil {
		return err
	}
	grants, err := json.Marshal(req.Grants)
	if err != nil {
		return err
	}
	updated, err := m.d.Store.PermissionSetUpdate(c.Request().Context(), set.ID, grants, req.Label, req.Description)
	if err != nil {
		return err
	}
	access.InvalidateAll()
	return data(c, http.StatusOK, permissionSetResponse(updated))
}

func (m *Module) createAssignment(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	if err := can(p, rbac.ResPermissions, rbac.ActManage); err != nil {
		return err
	}
	var req struct {
		PermissionSetRef string  `json:"permission_set_ref"`
		IdentityID       *int64  `json:"identity_id"`
		IdentityLogin    *string `json:"identity_login"`
	}
	if err := bind(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var ident store.Identity
	switch {
	case req.IdentityID != nil && req.IdentityLogin == nil:
		ident, err = m.d.Store.IdentityGet(ctx, *req.IdentityID)
	case req.IdentityLogin != nil && req.IdentityID == nil:
		ident, err = m.d.Store.IdentityGetByLogin(ctx, *req.IdentityLogin)
	default:
		return domain.NewValidationError("identity_id", "give exactly one of identity_id and identity_login")
	}
	if errors.Is(err, domain.ErrNotFound) {
		return domain.NewValidationError("identity_id", "unknown identity")
	} else if err != nil {
		return err
	}
	set, err := m.d.Store.PermissionSetGetByRef(ctx, req.PermissionSetRef)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Invalidf("permission_set_ref", "unknown permission set %q", req.PermissionSetRef)
	} else if err != nil {
		return err
	}
	a, err := m.d.Store.PermissionAssignmentInsert(ctx, ident.ID, set.ID)
	if err != nil {
		return err
	}
	access.Invalidate(ident.ID)
	return data(c, http.StatusCreated, map[string]any{
		"id": a.ID, "identity_id": ident.ID, "permission_set_ref": set.Ref, "created": a.Created,
	})
}

func (m *Module) deleteAssignment(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	if err := can(p, rbac.ResPermissions, rbac.ActManage); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	a, err := m.d.Store.PermissionAssignmentGet(ctx, id)
	if err != nil {
		return err
	}
	if err := m.d.Store.PermissionAssignmentDelete(ctx, id); err != nil {
		return err
	}
	access.Invalidate(a.Identity)
	return success(c, "assignment deleted")
}

func itoa(i int) string { return strconv.Itoa(i) }
