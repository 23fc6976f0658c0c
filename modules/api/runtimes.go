package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

// Runtimes (spec §9.2): list, show, create, update and delete. Runtimes are
// mostly defined by pack files (registered through packsvc); the API adds
// and edits them in an existing pack. Reads need runtimes:read, writes
// runtimes:create/update/delete on the runtime's pack.
func (m *Module) runtimeRoutes() []Route {
	base := "/api/v1/runtimes"
	return []Route{
		{Method: "GET", Path: base, OperationID: "listRuntimes", Auth: Users, Handler: m.listRuntimes},
		{Method: "POST", Path: base, OperationID: "createRuntime", Auth: Users, Handler: m.createRuntime},
		{Method: "GET", Path: base + "/{ref}", OperationID: "getRuntime", Auth: Users, Handler: m.getRuntime},
		{Method: "PUT", Path: base + "/{ref}", OperationID: "updateRuntime", Auth: Users, Handler: m.updateRuntime},
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

func (m *Module) getRuntime(c echo.Context) error {
	_, r, err := m.runtimeRows().load(c, "")
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, rowJSON(r))
}

func (m *Module) deleteRuntime(c echo.Context) error {
	_, r, err := m.runtimeRows().load(c, rbac.ActDelete)
	if err != nil {
		return err
	}
	if _, err := m.d.Store.RuntimeDelete(c.Request().Context(), r.ID); err != nil {
		return err
	}
	return success(c, "runtime "+r.Ref+" deleted")
}

// runtimeWrite is the body of POST and PUT /runtimes; nil fields are kept on PUT.
type runtimeWrite struct {
	Ref             string          `json:"ref"`
	PackRef         string          `json:"pack_ref"`
	Name            *string         `json:"name"`
	Description     *string         `json:"description"`
	Aliases         []string        `json:"aliases"`
	Distributions   json.RawMessage `json:"distributions"`
	ExecutionConfig json.RawMessage `json:"execution_config"`
}

// applyRuntime copies the given fields onto r. Aliases must be lower case
// (the table's CHECK), so a mixed-case alias is a 422 rather than a 500.
func applyRuntime(r *store.Runtime, w runtimeWrite) error {
	if w.Name != nil {
		r.Name = *w.Name
	}
	if w.Description != nil {
		r.Description = w.Description
	}
	if w.Aliases != nil {
		for i, a := range w.Aliases {
			if a == "" || a != strings.ToLower(a) {
				return domain.Invalidf("aliases", "alias %d (%q) must be non-empty lower case", i, a)
			}
		}
		r.Aliases = w.Aliases
	}
	if isJSONObject(w.Distributions) {
		r.Distributions = w.Distributions
	}
	if isJSONObject(w.ExecutionConfig) {
		r.ExecutionConfig = w.ExecutionConfig
	}
	if strings.TrimSpace(r.Name) == "" {
		return domain.NewValidationError("name", "is required")
	}
	return nil
}

// isJSONObject reports whether raw is a given, non-null JSON value (the
// contract already restricts it to an object).
func isJSONObject(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

func (m *Module) createRuntime(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	var w runtimeWrite
	if err := bind(c, &w); err != nil {
		return err
	}
	if w.Ref != strings.ToLower(w.Ref) {
		return domain.NewValidationError("ref", "must be lower case")
	}
	ctx := c.Request().Context()
	pk, err := m.packForWrite(ctx, p, rbac.ResRuntimes, w.PackRef, w.Ref)
	if err != nil {
		return err
	}
	r := store.Runtime{Ref: w.Ref, Pack: &pk.ID, PackRef: &pk.Ref, Aliases: []string{},
		Distributions: json.RawMessage(`{}`), Installers: json.RawMessage(`{}`),
		ExecutionConfig: json.RawMessage(`{}`), DetectionConfig: json.RawMessage(`{}`)}
	if err := applyRuntime(&r, w); err != nil {
		return err
	}
	out, err := createInPack(ctx, m.d.Store, pk.Ref, "runtime", r.Ref, exists((*store.Tx).RuntimeGetByRef),
		func(tx *store.Tx) (store.Runtime, error) { return tx.RuntimeUpsert(ctx, r) })
	if err != nil {
		return err
	}
	return data(c, http.StatusCreated, rowJSON(out))
}

func (m *Module) updateRuntime(c echo.Context) error {
	_, r, err := m.runtimeRows().load(c, rbac.ActUpdate)
	if err != nil {
		return err
	}
	var w runtimeWrite
	if err := bind(c, &w); err != nil {
		return err
	}
	if err := applyRuntime(&r, w); err != nil {
		return err
	}
	out, err := m.d.Store.RuntimeUpsert(c.Request().Context(), r)
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, rowJSON(out))
}
