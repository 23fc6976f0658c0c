package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

func (m *Module) enforcementRoutes() []Route {
	base := "/api/v1/enforcements"
	return []Route{
		{Method: "GET", Path: base, OperationID: "listEnforcements", Auth: Users, Handler: m.listEnforcements},
		{Method: "GET", Path: base + "/{id}", OperationID: "getEnforcement", Auth: Users, Handler: m.getEnforcement},
	}
}

// EnforcementResponse is the public view of an enforcement.
type EnforcementResponse struct {
	ID         int64           `json:"id"`
	Rule       *int64          `json:"rule"`
	RuleRef    string          `json:"rule_ref"`
	TriggerRef string          `json:"trigger_ref"`
	Event      *int64          `json:"event"`
	Status     string          `json:"status"`
	Payload    json.RawMessage `json:"payload"`
	Condition  string          `json:"condition"`
	Conditions json.RawMessage `json:"conditions"`
	Created    time.Time       `json:"created"`
	ResolvedAt *time.Time      `json:"resolved_at"`
}

func enforcementResponse(e store.Enforcement) EnforcementResponse {
	return EnforcementResponse{ID: e.ID, Rule: e.Rule, RuleRef: e.RuleRef, TriggerRef: e.TriggerRef, Event: e.Event,
		Status: e.Status, Payload: orNull(e.Payload), Condition: e.Condition, Conditions: orNull(e.Conditions),
		Created: e.Created, ResolvedAt: e.ResolvedAt}
}

// Enforcements are visible with rules:read on the rule's pack (or an
// explicit enforcements:read grant).
func canSeeEnforcement(p *access.Principal, e store.Enforcement) bool {
	pk := packOf(e.RuleRef)
	return access.CanRead(p, rbac.ResRules, pk, e.RuleRef) || access.CanRead(p, rbac.ResEnforcements, pk, e.RuleRef)
}

func (m *Module) listEnforcements(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	pg, err := parsePage(c)
	if err != nil {
		return err
	}
	f := store.EnforcementListFilter{RuleRef: c.QueryParam("rule_ref"), TriggerRef: c.QueryParam("trigger_ref"), Status: c.QueryParam("status")}
	if v := c.QueryParam("event"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return badRequest("event: must be a positive integer")
		}
		f.Event = &n
	}
	all := rbac.Unconstrained(p.Subject, rbac.ResRules, rbac.ActRead) || rbac.Unconstrained(p.Subject, rbac.ResEnforcements, rbac.ActRead)
	return visibleList[store.Enforcement, EnforcementResponse]{
		list: func(ctx context.Context, offset, limit int32) ([]store.Enforcement, error) {
			return m.d.Store.EnforcementList(ctx, f, offset, limit)
		},
		count:   func(ctx context.Context) (int64, error) { return m.d.Store.EnforcementCount(ctx, f) },
		visible: func(e store.Enforcement) bool { return canSeeEnforcement(p, e) },
		render:  enforcementResponse,
	}.serve(c, pg, all)
}

func (m *Module) getEnforcement(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	e, err := m.d.Store.EnforcementGet(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if !canSeeEnforcement(p, e) {
		return domain.NotFoundf("enforcement")
	}
	return data(c, http.StatusOK, enforcementResponse(e))
}
