package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/pack"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

// Actions (spec §9.2). Reads need actions:read on the action's pack (every
// signed-in user may read core actions, T3.11); POST creates an ad-hoc
// action (is_adhoc=true, kept across re-registration of its pack) and needs
// actions:create on the pack; PUT/DELETE need actions:update/delete.
//
// GET /actions/{ref}/queue-stats answers zeros (with the action's id and
// ref) when the action never went through a concurrency policy, rather than
// 404: "nothing queued" is the truthful answer and clients need no special
// case.
func (m *Module) actionRoutes() []Route {
	base := "/api/v1/actions"
	reader := Users.Plus("execution")
	return []Route{
		{Method: "GET", Path: base, OperationID: "listActions", Auth: reader, Handler: m.listActions},
		{Method: "POST", Path: base, OperationID: "createAction", Auth: Users, Handler: m.createAction},
		{Method: "GET", Path: base + "/{ref}", OperationID: "getAction", Auth: reader, Handler: m.getAction},
		{Method: "PUT", Path: base + "/{ref}", OperationID: "updateAction", Auth: Users, Handler: m.updateAction},
		{Method: "DELETE", Path: base + "/{ref}", OperationID: "deleteAction", Auth: Users, Handler: m.deleteAction},
		{Method: "GET", Path: base + "/{ref}/queue-stats", OperationID: "getActionQueueStats", Auth: reader, Handler: m.actionQueueStats},
	}
}

// actionItems lists the actions of packRef ("" = all) the caller may read,
// newest first.
func (m *Module) actionItems(ctx context.Context, p *access.Principal, packRef string) ([]map[string]any, error) {
	all, err := m.d.Store.ActionList(ctx, packRef)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b store.Action) int { return int(b.ID - a.ID) })
	out := []map[string]any{}
	for _, a := range all {
		if access.CanRead(p, rbac.ResActions, a.PackRef, a.Ref) {
			out = append(out, rowJSON(a))
		}
	}
	return out, nil
}

func (m *Module) listActions(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	pg, err := parsePage(c)
	if err != nil {
		return err
	}
	items, err := m.actionItems(c.Request().Context(), p, c.QueryParam("pack_ref"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pageSlice(pg, items))
}

func (m *Module) getAction(c echo.Context) error {
	_, a, err := m.actionRows().load(c, "")
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, rowJSON(a))
}

// actionWrite is the body of POST and PUT /actions. Pointers distinguish
// "not given" (keep) from a value on PUT.
type actionWrite struct {
	Ref               string          `json:"ref"`
	PackRef           string          `json:"pack_ref"`
	Label             *string         `json:"label"`
	Description       *string         `json:"description"`
	Entrypoint        *string         `json:"entrypoint"`
	RuntimeRef        *string         `json:"runtime_ref"`
	Enabled           *bool           `json:"enabled"`
	ParamSchema       json.RawMessage `json:"param_schema"`
	OutSchema         json.RawMessage `json:"out_schema"`
	TimeoutSeconds    *int32          `json:"timeout_seconds"`
	MaxRetries        *int32          `json:"max_retries"`
	ParameterDelivery *string         `json:"parameter_delivery"`
	ParameterFormat   *string         `json:"parameter_format"`
	OutputFormat      *string         `json:"output_format"`
}

// apply copies the given fields onto a, validating the schema and runtime.
func (m *Module) applyAction(ctx context.Context, a *store.Action, w actionWrite) error {
	setStr := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setStr(&a.Label, w.Label)
	setStr(&a.Entrypoint, w.Entrypoint)
	setStr(&a.ParameterDelivery, w.ParameterDelivery)
	setStr(&a.ParameterFormat, w.ParameterFormat)
	setStr(&a.OutputFormat, w.OutputFormat)
	if w.Description != nil {
		a.Description = w.Description
	}
	if w.Enabled != nil {
		a.Enabled = *w.Enabled
	}
	if w.TimeoutSeconds != nil {
		a.TimeoutSeconds = w.TimeoutSeconds
	}
	if w.MaxRetries != nil {
		a.MaxRetries = *w.MaxRetries
	}
	if len(w.ParamSchema) > 0 && string(w.ParamSchema) != "null" {
		if _, err := pack.ParseParamSchema(w.ParamSchema); err != nil {
			return domain.NewValidationError("param_schema", err.Error())
		}
		a.ParamSchema = w.ParamSchema
	}
	if len(w.OutSchema) > 0 && string(w.OutSchema) != "null" {
		a.OutSchema = w.OutSchema
	}
	if w.RuntimeRef != nil {
		rt, err := m.d.Store.RuntimeGetByRef(ctx, *w.RuntimeRef)
		if errors.Is(err, domain.ErrNotFound) {
			return domain.Invalidf("runtime_ref", "unknown runtime %q", *w.RuntimeRef)
		} else if err != nil {
			return err
		}
		a.Runtime, a.RuntimeRef = &rt.ID, &rt.Ref
	}
	if strings.TrimSpace(a.Label) == "" {
		return domain.NewValidationError("label", "is required")
	}
	if a.Entrypoint == "" {
		return domain.NewValidationError("entrypoint", "is required")
	}
	return nil
}

// packForWrite resolves the pack of a new component: the caller needs
// resource:create on it, and it must exist.
func (m *Module) packForWrite(ctx context.Context, p *access.Principal, resource, packRef, ref string) (store.Pack, error) {
	if err := mayDo(p, resource, rbac.ActCreate, packRef, ref); err != nil {
		return store.Pack{}, err
	}
	if packRef == "" {
		return store.Pack{}, domain.NewValidationError("pack_ref", "is required")
	}
	if !strings.HasPrefix(ref, packRef+".") || strings.Count(ref, ".") != 1 {
		return store.Pack{}, domain.Invalidf("ref", "must be %s.<name>", packRef)
	}
	pk, err := m.d.Store.PackGetByRef(ctx, packRef)
	if errors.Is(err, domain.ErrNotFound) {
		return pk, domain.Invalidf("pack_ref", "unknown pack %q", packRef)
	}
	return pk, err
}

func (m *Module) createAction(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	var w actionWrite
	if err := bind(c, &w); err != nil {
		return err
	}
	ctx := c.Request().Context()
	pk, err := m.packForWrite(ctx, p, rbac.ResActions, w.PackRef, w.Ref)
	if err != nil {
		return err
	}
	a := store.Action{Ref: w.Ref, Pack: pk.ID, PackRef: pk.Ref, Enabled: true, IsAdhoc: true}
	if err := m.applyAction(ctx, &a, w); err != nil {
		return err
	}
	out, err := createInPack(ctx, m.d.Store, pk.Ref, "action", a.Ref, exists((*store.Tx).ActionGetByRef),
		func(tx *store.Tx) (store.Action, error) { return tx.ActionUpsert(ctx, a) })
	if err != nil {
		return err
	}
	return data(c, http.StatusCreated, rowJSON(out))
}

// domainConflict is the 409 for a ref that already exists.
func domainConflict(kind, ref string) error {
	return errors.Join(errors.New(kind+" "+ref+" already exists"), domain.ErrConflict)
}

func (m *Module) updateAction(c echo.Context) error {
	_, a, err := m.actionRows().load(c, rbac.ActUpdate)
	if err != nil {
		return err
	}
	var w actionWrite
	if err := bind(c, &w); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := m.applyAction(ctx, &a, w); err != nil {
		return err
	}
	out, err := m.d.Store.ActionUpsert(ctx, a)
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, rowJSON(out))
}

func (m *Module) deleteAction(c echo.Context) error {
	_, a, err := m.actionRows().load(c, rbac.ActDelete)
	if err != nil {
		return err
	}
	if _, err := m.d.Store.ActionDelete(c.Request().Context(), a.ID); err != nil {
		return err
	}
	return success(c, "action "+a.Ref+" deleted")
}

func (m *Module) actionQueueStats(c echo.Context) error {
	_, a, err := m.actionRows().load(c, "")
	if err != nil {
		return err
	}
	qs, err := m.d.Store.QueueStatsGet(c.Request().Context(), a.ID)
	if errors.Is(err, domain.ErrNotFound) {
		qs, err = store.QueueStats{ActionID: a.ID, LastUpdated: a.Updated}, nil
	}
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, map[string]any{"action_id": a.ID, "action_ref": a.Ref, "queue_length": qs.QueueLength,
		"active_count": qs.ActiveCount, "max_concurrent": qs.MaxConcurrent, "oldest_enqueued_at": qs.OldestEnqueuedAt,
		"total_enqueued": qs.TotalEnqueued, "total_completed": qs.TotalCompleted, "last_updated": qs.LastUpdated})
}
