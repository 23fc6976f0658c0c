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
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

// Policies (spec §9.2): list, show, create, update, delete. The scope is
// derived from / written to the row the executor reads
// (store.PolicyEffectiveForAction): action (action id set), pack (no action,
// action_ref "<pack>.*"), global (action_ref "*"). Access is by the policy's
// pack (policies:read/create/update/delete); a write whose scope targets
// another pack also needs the same right on that pack.
func (m *Module) policyRoutes() []Route {
	base := "/api/v1/policies"
	return []Route{
		{Method: "GET", Path: base, OperationID: "listPolicies", Auth: Users, Handler: m.listPolicies},
		{Method: "POST", Path: base, OperationID: "createPolicy", Auth: Users, Handler: m.createPolicy},
		{Method: "GET", Path: base + "/{ref}", OperationID: "getPolicy", Auth: Users, Handler: m.getPolicy},
		{Method: "PUT", Path: base + "/{ref}", OperationID: "updatePolicy", Auth: Users, Handler: m.updatePolicy},
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

func (m *Module) getPolicy(c echo.Context) error {
	_, x, err := m.policyRows().load(c, "")
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, policyJSON(x))
}

func (m *Module) deletePolicy(c echo.Context) error {
	_, x, err := m.policyRows().load(c, rbac.ActDelete)
	if err != nil {
		return err
	}
	if _, err := m.d.Store.PolicyDelete(c.Request().Context(), x.ID); err != nil {
		return err
	}
	return success(c, "policy "+x.Ref+" deleted")
}

// policyWrite is the body of POST and PUT /policies. On PUT nil fields are
// kept; concurrency and rate_limit stay raw so that an explicit null clears
// the limit while an absent key keeps it.
type policyWrite struct {
	Ref         string          `json:"ref"`
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Enabled     *bool           `json:"enabled"`
	Priority    *int32          `json:"priority"`
	Scope       *policyScopeIn  `json:"scope"`
	Concurrency json.RawMessage `json:"concurrency"`
	RateLimit   json.RawMessage `json:"rate_limit"`
	Tags        []string        `json:"tags"`
}

type policyScopeIn struct {
	Type      string `json:"type"`
	PackRef   string `json:"pack_ref"`
	ActionRef string `json:"action_ref"`
}

type concurrencyIn struct {
	Limit      int32    `json:"limit"`
	Method     string   `json:"method"`
	Parameters []string `json:"parameters"`
}

type rateLimitIn struct {
	MaxExecutions int32 `json:"max_executions"`
	WindowSeconds int32 `json:"window_seconds"`
}

// applyPolicyScope resolves the scope onto x's action/action_ref columns,
// checking that the target exists and that the caller holds act on its pack.
func (m *Module) applyPolicyScope(ctx context.Context, p *access.Principal, act string, x *store.Policy, s policyScopeIn) error {
	switch s.Type {
	case "global":
		if s.PackRef != "" || s.ActionRef != "" {
			return domain.NewValidationError("scope", "a global scope takes no pack_ref or action_ref")
		}
		x.Action, x.ActionRef = nil, "*"
	case "pack":
		if s.PackRef == "" {
			return domain.NewValidationError("scope.pack_ref", "is required for a pack scope")
		}
		if s.ActionRef != "" {
			return domain.NewValidationError("scope.action_ref", "is not allowed for a pack scope")
		}
		if err := mayDo(p, rbac.ResPolicies, act, s.PackRef, x.Ref); err != nil {
			return err
		}
		if _, err := m.d.Store.PackGetByRef(ctx, s.PackRef); errors.Is(err, domain.ErrNotFound) {
			return domain.Invalidf("scope.pack_ref", "unknown pack %q", s.PackRef)
		} else if err != nil {
			return err
		}
		x.Action, x.ActionRef = nil, s.PackRef+".*"
	case "action":
		if s.ActionRef == "" {
			return domain.NewValidationError("scope.action_ref", "is required for an action scope")
		}
		if s.PackRef != "" {
			return domain.NewValidationError("scope.pack_ref", "is not allowed for an action scope")
		}
		a, err := m.d.Store.ActionGetByRef(ctx, s.ActionRef)
		if errors.Is(err, domain.ErrNotFound) || (err == nil && !access.CanRead(p, rbac.ResActions, a.PackRef, a.Ref)) {
			return domain.Invalidf("scope.action_ref", "unknown action %q", s.ActionRef)
		} else if err != nil {
			return err
		}
		if err := mayDo(p, rbac.ResPolicies, act, a.PackRef, x.Ref); err != nil {
			return err
		}
		x.Action, x.ActionRef = &a.ID, a.Ref
	default:
		return domain.Invalidf("scope.type", "must be global, pack or action, not %q", s.Type)
	}
	return nil
}

// applyPolicyLimits sets the concurrency and rate-limit columns from the
// given blocks and checks the row still limits something (policy_has_feature).
func applyPolicyLimits(x *store.Policy, conc, rate json.RawMessage) error {
	if len(conc) > 0 {
		x.Method, x.Threshold, x.Parameters = nil, nil, []string{}
		if string(conc) != "null" {
			var c concurrencyIn
			if err := json.Unmarshal(conc, &c); err != nil {
				return domain.NewValidationError("concurrency", err.Error())
			}
			if c.Limit < 1 {
				return domain.NewValidationError("concurrency.limit", "must be at least 1")
			}
			if c.Method == "" {
				c.Method = "enqueue"
			}
			if c.Method != "enqueue" && c.Method != methodCancelPolicy {
				return domain.Invalidf("concurrency.method", "must be enqueue or cancel, not %q", c.Method)
			}
			for i, prm := range c.Parameters {
				if strings.TrimSpace(prm) == "" {
					return domain.Invalidf("concurrency.parameters", "parameter %d is empty", i)
				}
			}
			x.Method, x.Threshold = &c.Method, &c.Limit
			if c.Parameters != nil {
				x.Parameters = c.Parameters
			}
		}
	}
	if len(rate) > 0 {
		x.RateLimitMaxExecutions, x.RateLimitWindowSeconds = nil, nil
		if string(rate) != "null" {
			var r rateLimitIn
			if err := json.Unmarshal(rate, &r); err != nil {
				return domain.NewValidationError("rate_limit", err.Error())
			}
			if r.MaxExecutions < 1 {
				return domain.NewValidationError("rate_limit.max_executions", "must be at least 1")
			}
			if r.WindowSeconds < 1 {
				return domain.NewValidationError("rate_limit.window_seconds", "must be at least 1")
			}
			x.RateLimitMaxExecutions, x.RateLimitWindowSeconds = &r.MaxExecutions, &r.WindowSeconds
		}
	}
	if x.Threshold == nil && x.RateLimitMaxExecutions == nil && (len(x.Quotas) == 0 || string(x.Quotas) == "[]") {
		return domain.NewValidationError("concurrency", "a policy needs a concurrency or rate_limit block")
	}
	return nil
}

// methodCancelPolicy is the concurrency method that cancels instead of queueing.
const methodCancelPolicy = "cancel"

func applyPolicyFields(x *store.Policy, w policyWrite) {
	if w.Name != nil {
		x.Name = w.Name
	}
	if w.Description != nil {
		x.Description = w.Description
	}
	if w.Enabled != nil {
		x.Enabled = *w.Enabled
	}
	if w.Priority != nil {
		x.Priority = *w.Priority
	}
	if w.Tags != nil {
		x.Tags = w.Tags
	}
}

// createPolicy adds a policy to the pack named by its ref's prefix (the
// API's ad-hoc rows live in an existing pack like ad-hoc actions do).
func (m *Module) createPolicy(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	var w policyWrite
	if err := bind(c, &w); err != nil {
		return err
	}
	packRef, _, ok := strings.Cut(w.Ref, ".")
	if !ok || packRef == "" {
		return domain.NewValidationError("ref", "must be <pack>.<name>")
	}
	ctx := c.Request().Context()
	pk, err := m.packForWrite(ctx, p, rbac.ResPolicies, packRef, w.Ref)
	if err != nil {
		return err
	}
	if w.Scope == nil {
		return domain.NewValidationError("scope", "is required")
	}
	x := store.Policy{Ref: w.Ref, Pack: &pk.ID, PackRef: &pk.Ref, Enabled: true, Parameters: []string{},
		Quotas: json.RawMessage(`[]`), Tags: []string{}}
	applyPolicyFields(&x, w)
	if err := m.applyPolicyScope(ctx, p, rbac.ActCreate, &x, *w.Scope); err != nil {
		return err
	}
	if err := applyPolicyLimits(&x, w.Concurrency, w.RateLimit); err != nil {
		return err
	}
	x.IsAdhoc = true // survives re-registration of its pack
	out, err := createInPack(ctx, m.d.Store, pk.Ref, "policy", x.Ref, exists((*store.Tx).PolicyGetByRef),
		func(tx *store.Tx) (store.Policy, error) { return tx.PolicyUpsert(ctx, x) })
	if err != nil {
		return err
	}
	return data(c, http.StatusCreated, policyJSON(out))
}

func (m *Module) updatePolicy(c echo.Context) error {
	p, x, err := m.policyRows().load(c, rbac.ActUpdate)
	if err != nil {
		return err
	}
	var w policyWrite
	if err := bind(c, &w); err != nil {
		return err
	}
	ctx := c.Request().Context()
	applyPolicyFields(&x, w)
	if w.Scope != nil {
		if err := m.applyPolicyScope(ctx, p, rbac.ActUpdate, &x, *w.Scope); err != nil {
			return err
		}
	}
	if err := applyPolicyLimits(&x, w.Concurrency, w.RateLimit); err != nil {
		return err
	}
	out, err := m.d.Store.PolicyUpsert(ctx, x)
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, policyJSON(out))
}
