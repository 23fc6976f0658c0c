package api

import (
	"context"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

// Runtimes (spec §9.2): list, show and delete. Runtimes are defined by pack
// files (registered through packsvc); reads need runtimes:read, deletion
// runtimes:delete on the runtime's pack.
func (m *Module) runtimeRoutes() []Route {
	base := "/api/v1/runtimes"
	return []Route{
		{Method: "GET", Path: base, OperationID: "listRuntimes", Auth: Users, Handler: m.listRuntimes},
		{Method: "GET", Path: base + "/{ref}", OperationID: "getRuntime", Auth: Users, Handler: m.getRuntime},
		{Method: "DELETE", Path: base + "/{ref}", OperationID: "deleteRuntime", Auth: Users, Handler: m.deleteRuntime},
	}
}

func (m *Module) runtimeItems(ctx context.Context, p *access.Principal, keep func(store.Runtime) bool) ([]map[string]any, error) {
	all, err := m.d.Store.RuntimeList(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b store.Runtime) int { return int(b.ID - a.ID) })
	out := []map[string]any{}
	for _, r := range all {
		if keep(r) && access.CanRead(p, rbac.ResRuntimes, deref(r.PackRef), r.Ref) {
			out = append(out, rowJSON(r))
		}
	}
	return out, nil
}

func (m *Module) listRuntimes(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	pg, err := parsePage(c)
	if err != nil {
		return err
	}
	packRef := c.QueryParam("pack_ref")
	items, err := m.runtimeItems(c.Request().Context(), p, func(r store.Runtime) bool {
		return packRef == "" || deref(r.PackRef) == packRef
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pageSlice(pg, items))
}

func (m *Module) visibleRuntime(c echo.Context, p *access.Principal) (store.Runtime, error) {
	r, err := m.d.Store.RuntimeGetByRef(c.Request().Context(), c.Param("ref"))
	if err != nil {
		return r, err
	}
	return r, canSee(p, rbac.ResRuntimes, deref(r.PackRef), r.Ref)
}

func (m *Module) getRuntime(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	r, err := m.visibleRuntime(c, p)
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, rowJSON(r))
}

func (m *Module) deleteRuntime(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	r, err := m.visibleRuntime(c, p)
	if err != nil {
		return err
	}
	if err := mayDo(p, rbac.ResRuntimes, rbac.ActDelete, deref(r.PackRef), r.Ref); err != nil {
		return err
	}
	if _, err := m.d.Store.RuntimeDelete(c.Request().Context(), r.ID); err != nil {
		return err
	}
	return success(c, "runtime "+r.Ref+" deleted")
}
