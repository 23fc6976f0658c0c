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

// Sensors (spec §9.2): list, show, enable, disable. The RBAC vocabulary has
// no sensors resource (spec §9.4): a sensor is part of its pack, so reads
// need packs:read and enable/disable packs:configure on the sensor's pack.
func (m *Module) sensorRoutes() []Route {
	base := "/api/v1/sensors"
	return []Route{
		{Method: "GET", Path: base, OperationID: "listSensors", Auth: Users, Handler: m.listSensors},
		{Method: "GET", Path: base + "/{ref}", OperationID: "getSensor", Auth: Users, Handler: m.getSensor},
		{Method: "POST", Path: base + "/{ref}/enable", OperationID: "enableSensor", Auth: Users, Handler: m.setSensorEnabled(true)},
		{Method: "POST", Path: base + "/{ref}/disable", OperationID: "disableSensor", Auth: Users, Handler: m.setSensorEnabled(false)},
	}
}

func (m *Module) sensorItems(ctx context.Context, p *access.Principal, packRef string) ([]map[string]any, error) {
	all, err := m.d.Store.SensorList(ctx, packRef)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b store.Sensor) int { return int(b.ID - a.ID) })
	out := []map[string]any{}
	for _, s := range all {
		if access.CanRead(p, rbac.ResPacks, deref(s.PackRef), deref(s.PackRef)) {
			out = append(out, rowJSON(s))
		}
	}
	return out, nil
}

func (m *Module) listSensors(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	pg, err := parsePage(c)
	if err != nil {
		return err
	}
	items, err := m.sensorItems(c.Request().Context(), p, c.QueryParam("pack_ref"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pageSlice(pg, items))
}

func (m *Module) getSensor(c echo.Context) error {
	_, s, err := m.sensorRows().load(c, "")
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, rowJSON(s))
}

func (m *Module) setSensorEnabled(enabled bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		_, s, err := m.sensorRows().load(c, rbac.ActConfigure)
		if err != nil {
			return err
		}
		s.Enabled = enabled
		out, err := m.d.Store.SensorUpsert(c.Request().Context(), s)
		if err != nil {
			return err
		}
		return data(c, http.StatusOK, rowJSON(out))
	}
}
