package api

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

// Policies (spec §9.2): list, show, delete. The scope is derived from the
// row the executor reads (store.PolicyEffectiveForAction): action (action
// id set), pack (no action, action_ref "<pack>.*"), global (action_ref "*").
// Access is by the policy's pack (policies:read / policies:delete).
func (m *Module) policyRoutes() []Route {
	base := "/api/v1/policies"
	return []Route{
		{Method: "GET", Path: base, OperationID: "listPolicies", Auth: Users, Handler: m.listPolicies},
		{Method: "GET", Path: base + "/{ref}", OperationID: "getPolicy", Auth: Users, Handler: m.getPolicy},
		{Method: "DELETE", Path: base + "/{ref}", OperationID: "deletePolicy", Auth: Users, Handler: m.deletePolicy},
	}
}

// policyScope names the scope of a stored policy.
func policyScope(p store.Policy) map[string]any {
	switch {
	case p.Action != nil:
		return map[string]any{"type": "action", "action_ref": p.ActionRef}
	case strings.HasSuffix(p.ActionRef, ".*") && p.ActionRef != "*.*":
		return map[string]any{"type": "pack", "pack_ref": strings.TrimSuffix(p.ActionRef, ".*")}
	}
	return map[string]any{"type": "global"}
}

func policyJSON(p store.Policy) map[string]any {
	out := rowJSON(p)
	out["scope"] = policyScope(p)
	return out
}

func (m *Module) policyItems(ctx context.Context, p *access.Principal, packRef string) ([]map[string]any, error) {
	all, err := m.d.Store.PolicyList(ctx, packRef)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b store.Policy) int { return int(b.ID - a.ID) })
	out := []map[string]any{}
	for _, x := range all {
		if access.CanRead(p, rbac.ResPolicies, deref(x.PackRef), x.Ref) {
			out = append(out, policyJSON(x))
		}
	}
	return out, nil
}

func (m *Module) listPolicies(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	pg, err := parsePage(c)
	if err != nil {
		return err
	}
	items, err := m.policyItems(c.Request().Context(), p, c.QueryParam("pack_ref"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pageSlice(pg, items))
}

func (m *Module) visiblePolicy(c echo.Context, p *access.Principal) (store.Policy, error) {
	x, err := m.d.Store.PolicyGetByRef(c.Request().Context(), c.Param("ref"))
	if err != nil {
		return x, err
	}
	return x, canSee(p, rbac.ResPolicies, deref(x.PackRef), x.Ref)
}

func (m *Module) getPolicy(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	x, err := m.visiblePolicy(c, p)
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, policyJSON(x))
}

func (m *Module) deletePolicy(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	x, err := m.visiblePolicy(c, p)
	if err != nil {
		return err
	}
	if err := mayDo(p, rbac.ResPolicies, rbac.ActDelete, deref(x.PackRef), x.Ref); err != nil {
		return err
	}
	if _, err := m.d.Store.PolicyDelete(c.Request().Context(), x.ID); err != nil {
		return err
	}
	return success(c, "policy "+x.Ref+" deleted")
}
