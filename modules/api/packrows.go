package api

import (
	"context"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

// packRows reaches one kind of pack-owned row by the route's {ref}, with the
// checks every get, update and delete handler of that kind needs.
type packRows[T any] struct {
	resource string
	byRef    func(context.Context, string) (T, error)
	owner    func(T) (pack, ref string) // what RBAC grants name
}

// load returns the caller and the row named by {ref}: a row the caller may
// not read is not found (404); with action set, the caller must also be
// allowed that action on it (403).
func (k packRows[T]) load(c echo.Context, action string) (*access.Principal, T, error) {
	var zero T
	p, err := mustPrincipal(c)
	if err != nil {
		return nil, zero, err
	}
	x, err := k.byRef(c.Request().Context(), c.Param("ref"))
	if err != nil {
		return p, x, err
	}
	pack, ref := k.owner(x)
	if err := canSee(p, k.resource, pack, ref); err != nil {
		return p, x, err
	}
	if action != "" {
		err = mayDo(p, k.resource, action, pack, ref)
	}
	return p, x, err
}

func (m *Module) actionRows() packRows[store.Action] {
	return packRows[store.Action]{rbac.ResActions, m.d.Store.ActionGetByRef,
		func(a store.Action) (string, string) { return a.PackRef, a.Ref }}
}

func (m *Module) ruleRows() packRows[store.Rule] {
	return packRows[store.Rule]{rbac.ResRules, m.d.Store.RuleGetByRef,
		func(r store.Rule) (string, string) { return r.PackRef, r.Ref }}
}

func (m *Module) triggerRows() packRows[store.Trigger] {
	return packRows[store.Trigger]{rbac.ResTriggers, m.d.Store.TriggerGetByRef,
		func(t store.Trigger) (string, string) { return deref(t.PackRef), t.Ref }}
}

func (m *Module) runtimeRows() packRows[store.Runtime] {
	return packRows[store.Runtime]{rbac.ResRuntimes, m.d.Store.RuntimeGetByRef,
		func(r store.Runtime) (string, string) { return deref(r.PackRef), r.Ref }}
}

func (m *Module) policyRows() packRows[store.Policy] {
	return packRows[store.Policy]{rbac.ResPolicies, m.d.Store.PolicyGetByRef,
		func(x store.Policy) (string, string) { return deref(x.PackRef), x.Ref }}
}

// Sensors are governed by their pack's grants.
func (m *Module) sensorRows() packRows[store.Sensor] {
	return packRows[store.Sensor]{rbac.ResPacks, m.d.Store.SensorGetByRef,
		func(s store.Sensor) (string, string) { return deref(s.PackRef), deref(s.PackRef) }}
}
