package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/pack"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/rules"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

// Rules (spec §9.2). Conditions are compiled and action_params templates
// parsed at save time, so a broken rule is refused with the position of the
// mistake (422, details.field) instead of failing on every event. Rules
// created here are ad-hoc (kept when their pack is re-registered) and owned
// by the caller. Every create/update/enable/disable/delete writes the
// RuleLifecycle message (rule.created/enabled/disabled/deleted on
// attune.events) in the same transaction as the row, so sensors start and
// stop timers exactly when the change commits.
func (m *Module) ruleRoutes() []Route {
	base := "/api/v1/rules"
	return []Route{
		{Method: "GET", Path: base, OperationID: "listRules", Auth: Users, Handler: m.listRules},
		{Method: "POST", Path: base, OperationID: "createRule", Auth: Users, Handler: m.createRule},
		{Method: "GET", Path: base + "/{ref}", OperationID: "getRule", Auth: Users, Handler: m.getRule},
		{Method: "PUT", Path: base + "/{ref}", OperationID: "updateRule", Auth: Users, Handler: m.updateRule},
		{Method: "DELETE", Path: base + "/{ref}", OperationID: "deleteRule", Auth: Users, Handler: m.deleteRule},
		{Method: "POST", Path: base + "/{ref}/enable", OperationID: "enableRule", Auth: Users, Handler: m.setRuleEnabled(true)},
		{Method: "POST", Path: base + "/{ref}/disable", OperationID: "disableRule", Auth: Users, Handler: m.setRuleEnabled(false)},
	}
}

type ruleFilter struct {
	packRef, actionRef, triggerRef string
	enabled                        *bool
}

func (f ruleFilter) match(r store.Rule) bool {
	return (f.packRef == "" || r.PackRef == f.packRef) && (f.actionRef == "" || r.ActionRef == f.actionRef) &&
		(f.triggerRef == "" || r.TriggerRef == f.triggerRef) && (f.enabled == nil || r.Enabled == *f.enabled)
}

func (m *Module) ruleItems(ctx context.Context, p *access.Principal, f ruleFilter) ([]map[string]any, error) {
	all, err := m.d.Store.RuleList(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b store.Rule) int { return int(b.ID - a.ID) })
	out := []map[string]any{}
	for _, r := range all {
		if f.match(r) && access.CanRead(p, rbac.ResRules, r.PackRef, r.Ref) {
			out = append(out, rowJSON(r))
		}
	}
	return out, nil
}

func (m *Module) listRules(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	pg, err := parsePage(c)
	if err != nil {
		return err
	}
	f := ruleFilter{packRef: c.QueryParam("pack_ref"), actionRef: c.QueryParam("action_ref"), triggerRef: c.QueryParam("trigger_ref")}
	if v := c.QueryParam("enabled"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badRequest("enabled: must be true or false")
		}
		f.enabled = &b
	}
	items, err := m.ruleItems(c.Request().Context(), p, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pageSlice(pg, items))
}

func (m *Module) getRule(c echo.Context) error {
	_, r, err := m.ruleRows().load(c, "")
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, rowJSON(r))
}

// ruleWrite is the body of POST and PUT /rules (PUT ignores ref/pack_ref).
type ruleWrite struct {
	Ref               string          `json:"ref"`
	PackRef           string          `json:"pack_ref"`
	Label             *string         `json:"label"`
	Description       *string         `json:"description"`
	TriggerRef        *string         `json:"trigger_ref"`
	ActionRef         *string         `json:"action_ref"`
	Conditions        json.RawMessage `json:"conditions"`
	ActionParams      json.RawMessage `json:"action_params"`
	TriggerParams     json.RawMessage `json:"trigger_params"`
	Enabled           *bool           `json:"enabled"`
	PermissionSetRefs []string        `json:"permission_set_refs"`
}

func given(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// applyRule copies the given fields onto r and validates the result: the
// trigger and action exist and are visible, conditions compile, templates
// parse and trigger_params satisfy the trigger's param_schema.
func (m *Module) applyRule(ctx context.Context, p *access.Principal, r *store.Rule, w ruleWrite) error {
	if w.Label != nil {
		r.Label = *w.Label
	}
	if w.Description != nil {
		r.Description = w.Description
	}
	if w.Enabled != nil {
		r.Enabled = *w.Enabled
	}
	if w.PermissionSetRefs != nil {
		r.PermissionSetRefs = w.PermissionSetRefs
	}
	if given(w.Conditions) {
		r.Conditions = w.Conditions
	}
	if given(w.ActionParams) {
		r.ActionParams = w.ActionParams
	}
	if given(w.TriggerParams) {
		r.TriggerParams = w.TriggerParams
	}
	if r.Label == "" {
		return domain.NewValidationError("label", "is required")
	}
	if w.ActionRef != nil {
		a, err := m.d.Store.ActionGetByRef(ctx, *w.ActionRef)
		if errors.Is(err, domain.ErrNotFound) || (err == nil && !access.CanRead(p, rbac.ResActions, a.PackRef, a.Ref)) {
			return domain.Invalidf("action_ref", "unknown action %q", *w.ActionRef)
		} else if err != nil {
			return err
		}
		r.Action, r.ActionRef = &a.ID, a.Ref
	}
	var trig store.Trigger
	if w.TriggerRef != nil || r.Trigger == nil || given(w.TriggerParams) {
		ref := r.TriggerRef
		if w.TriggerRef != nil {
			ref = *w.TriggerRef
		}
		t, err := m.d.Store.TriggerGetByRef(ctx, ref)
		if errors.Is(err, domain.ErrNotFound) || (err == nil && !access.CanRead(p, rbac.ResTriggers, deref(t.PackRef), t.Ref)) {
			return domain.Invalidf("trigger_ref", "unknown trigger %q", ref)
		} else if err != nil {
			return err
		}
		trig = t
		r.Trigger, r.TriggerRef = &t.ID, t.Ref
	}
	if r.ActionRef == "" {
		return domain.NewValidationError("action_ref", "is required")
	}
	if _, err := rules.Compile(r.Conditions); err != nil {
		return positionErr("conditions", err)
	}
	if given(r.ActionParams) {
		if err := rules.ValidateTemplates(r.ActionParams); err != nil {
			return positionErr("action_params", err)
		}
	}
	if trig.ID != 0 && given(trig.ParamSchema) {
		sch, err := pack.ParseParamSchema(trig.ParamSchema)
		if err != nil {
			return err // a stored schema that no longer parses is a server fault
		}
		params := map[string]any{}
		if given(r.TriggerParams) {
			if err := json.Unmarshal(r.TriggerParams, &params); err != nil {
				return domain.NewValidationError("trigger_params", "must be an object")
			}
		}
		if err := sch.Validate(params); err != nil {
			return domain.NewValidationError("trigger_params", err.Error())
		}
	}
	return nil
}

// positionErr turns a compile/template error into a 422 whose field is the
// exact path (conditions.expression, action_params.x.y) and whose message
// carries line and column.
func positionErr(field string, err error) error {
	var pe *rules.PositionError
	if errors.As(err, &pe) {
		v := domain.NewValidationError(pe.Field, err.Error())
		return v
	}
	return domain.NewValidationError(field, err.Error())
}

// enqueueRuleChange writes the RuleLifecycle message for r under key in tx.
func enqueueRuleChange(ctx context.Context, tx *store.Tx, key string, r store.Rule) error {
	types := map[string]string{
		bus.KeyRuleCreated: pipeline.TypeRuleCreated, bus.KeyRuleEnabled: pipeline.TypeRuleEnabled,
		bus.KeyRuleDisabled: pipeline.TypeRuleDisabled, bus.KeyRuleDeleted: pipeline.TypeRuleDeleted,
	}
	var tp any
	if given(r.TriggerParams) {
		tp = r.TriggerParams
	}
	return pipeline.Enqueue(ctx, tx, bus.ExchangeEvents, key, types[key], pipeline.RuleLifecycle{
		RuleID: r.ID, RuleRef: r.Ref, TriggerRef: r.TriggerRef, TriggerParams: tp,
		Enabled: r.Enabled && key != bus.KeyRuleDeleted,
	})
}

func (m *Module) createRule(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	var w ruleWrite
	if err := bind(c, &w); err != nil {
		return err
	}
	ctx := c.Request().Context()
	pk, err := m.packForWrite(ctx, p, rbac.ResRules, w.PackRef, w.Ref)
	if err != nil {
		return err
	}
	if w.TriggerRef == nil {
		return domain.NewValidationError("trigger_ref", "is required")
	}
	if w.ActionRef == nil {
		return domain.NewValidationError("action_ref", "is required")
	}
	owner := p.IdentityID
	r := store.Rule{Ref: w.Ref, Pack: pk.ID, PackRef: pk.Ref, Enabled: true, IsAdhoc: true, OwnerIdentity: &owner,
		Conditions: json.RawMessage(`[]`), ActionParams: json.RawMessage(`{}`), TriggerParams: json.RawMessage(`{}`)}
	if err := m.applyRule(ctx, p, &r, w); err != nil {
		return err
	}
	out, err := createInPack(ctx, m.d.Store, pk.Ref, "rule", r.Ref, exists((*store.Tx).RuleGetByRef),
		func(tx *store.Tx) (store.Rule, error) {
			out, err := tx.RuleUpsert(ctx, r)
			if err != nil {
				return out, err
			}
			return out, enqueueRuleChange(ctx, tx, bus.KeyRuleCreated, out)
		})
	if err != nil {
		return err
	}
	return data(c, http.StatusCreated, rowJSON(out))
}

func (m *Module) updateRule(c echo.Context) error {
	p, r, err := m.ruleRows().load(c, rbac.ActUpdate)
	if err != nil {
		return err
	}
	var w ruleWrite
	if err := bind(c, &w); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := m.applyRule(ctx, p, &r, w); err != nil {
		return err
	}
	return m.saveRule(c, r, http.StatusOK)
}

// saveRule writes r and announces its resulting state: rule.enabled makes
// sensors (re)start its timer with the new trigger_params, rule.disabled
// stops it.
func (m *Module) saveRule(c echo.Context, r store.Rule, status int) error {
	ctx := c.Request().Context()
	var out store.Rule
	err := m.d.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if out, err = tx.RuleUpsert(ctx, r); err != nil {
			return err
		}
		key := bus.KeyRuleDisabled
		if out.Enabled {
			key = bus.KeyRuleEnabled
		}
		return enqueueRuleChange(ctx, tx, key, out)
	})
	if err != nil {
		return err
	}
	return data(c, status, rowJSON(out))
}

func (m *Module) setRuleEnabled(enabled bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		_, r, err := m.ruleRows().load(c, rbac.ActUpdate)
		if err != nil {
			return err
		}
		r.Enabled = enabled
		return m.saveRule(c, r, http.StatusOK)
	}
}

func (m *Module) deleteRule(c echo.Context) error {
	_, r, err := m.ruleRows().load(c, rbac.ActDelete)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	err = m.d.Store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.RuleDelete(ctx, r.ID)
		if err != nil {
			return err
		}
		if !ok {
			return domain.NotFoundf("rule %q", r.Ref)
		}
		return enqueueRuleChange(ctx, tx, bus.KeyRuleDeleted, r)
	})
	if err != nil {
		return err
	}
	return success(c, "rule "+r.Ref+" deleted")
}
