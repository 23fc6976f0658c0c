package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

func (m *Module) workerRoutes() []Route {
	base := "/api/v1/workers"
	return []Route{
		{Method: "GET", Path: base, OperationID: "listWorkers", Auth: Users, Handler: m.listWorkers},
		{Method: "GET", Path: base + "/{id}", OperationID: "getWorker", Auth: Users, Handler: m.getWorker},
		{Method: "POST", Path: base + "/{id}/cordon", OperationID: "cordonWorker", Auth: Users, Handler: m.cordonWorker},
		{Method: "POST", Path: base + "/{id}/uncordon", OperationID: "uncordonWorker", Auth: Users, Handler: m.uncordonWorker},
	}
}

// workerStaleAfter mirrors the healthy_workers view: no heartbeat for 30 s
// means the scheduler no longer picks the worker.
const workerStaleAfter = 30 * time.Second

// WorkerResponse is the public view of a worker with its derived health.
type WorkerResponse struct {
	ID                  int64            `json:"id"`
	Name                string           `json:"name"`
	WorkerType          string           `json:"worker_type"`
	WorkerRole          string           `json:"worker_role"`
	Host                *string          `json:"host"`
	Status              string           `json:"status"`
	Capabilities        json.RawMessage  `json:"capabilities"`
	LastHeartbeat       *time.Time       `json:"last_heartbeat"`
	HeartbeatAgeSeconds *float64         `json:"heartbeat_age_seconds"`
	HeartbeatIntervalMS int32            `json:"heartbeat_interval_ms"`
	HealthState         string           `json:"health_state"`
	Cordoned            bool             `json:"cordoned"`
	CordonReason        *string          `json:"cordon_reason"`
	CordonedBy          *string          `json:"cordoned_by"`
	CordonedAt          *time.Time       `json:"cordoned_at"`
	Load                map[string]int64 `json:"load"`
	Created             time.Time        `json:"created"`
	Updated             time.Time        `json:"updated"`
}

func workerResponse(w store.Worker, load store.WorkerLoad, now time.Time) WorkerResponse {
	r := WorkerResponse{ID: w.ID, Name: w.Name, WorkerType: w.WorkerType, WorkerRole: w.WorkerRole, Host: w.Host,
		Status: w.Status, Capabilities: orNull(w.Capabilities), LastHeartbeat: w.LastHeartbeat,
		HeartbeatIntervalMS: w.HeartbeatIntervalMS, Cordoned: w.Cordoned, CordonReason: w.CordonReason,
		CordonedBy: w.CordonedBy, CordonedAt: w.CordonedAt, Created: w.Created, Updated: w.Updated,
		Load: map[string]int64{"scheduled": load["scheduled"], "running": load["running"], "canceling": load["canceling"]}}
	var reported struct {
		Health struct {
			Status string `json:"status"`
		} `json:"health"`
	}
	_ = json.Unmarshal(w.Capabilities, &reported) // non-object capabilities report no health
	switch {
	case w.LastHeartbeat == nil || now.Sub(*w.LastHeartbeat) > workerStaleAfter:
		r.HealthState = "stale"
	case w.Status != "active":
		r.HealthState = w.Status
	case reported.Health.Status != "":
		r.HealthState = reported.Health.Status
	default:
		r.HealthState = "healthy"
	}
	if w.LastHeartbeat != nil {
		age := now.Sub(*w.LastHeartbeat).Seconds()
		r.HeartbeatAgeSeconds = &age
	}
	return r
}

func (m *Module) canReadWorkers(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	if !p.Can(rbac.Target{Resource: rbac.ResWorkers, Action: rbac.ActRead}) {
		return domain.ErrForbidden
	}
	return nil
}

func (m *Module) listWorkers(c echo.Context) error {
	if err := m.canReadWorkers(c); err != nil {
		return err
	}
	pg, err := parsePage(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ws, err := m.d.Store.WorkerList(ctx)
	if err != nil {
		return err
	}
	loads, err := m.d.Store.WorkerLoads(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	out := make([]WorkerResponse, 0, len(ws))
	for i := len(ws) - 1; i >= 0; i-- { // newest first
		out = append(out, workerResponse(ws[i], loads[ws[i].ID], now))
	}
	return c.JSON(http.StatusOK, pageSlice(pg, out))
}

func (m *Module) getWorker(c echo.Context) error {
	if err := m.canReadWorkers(c); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	w, err := m.d.Store.WorkerGet(ctx, id)
	if err != nil {
		return err
	}
	loads, err := m.d.Store.WorkerLoads(ctx)
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, workerResponse(w, loads[w.ID], time.Now()))
}

type cordonRequest struct {
	Reason string `json:"reason"`
}

func (m *Module) cordonWorker(c echo.Context) error { return m.setCordon(c, true) }

func (m *Module) uncordonWorker(c echo.Context) error { return m.setCordon(c, false) }

// setCordon needs workers:update (administrators); readers get 403, others
// 404 (hiding).
func (m *Module) setCordon(c echo.Context, cordon bool) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if !p.Can(rbac.Target{Resource: rbac.ResWorkers, Action: rbac.ActRead}) {
		return domain.NotFoundf("worker")
	}
	if !p.Can(rbac.Target{Resource: rbac.ResWorkers, Action: rbac.ActUpdate}) {
		return domain.ErrForbidden
	}
	var req cordonRequest
	if cordon && c.Request().ContentLength != 0 {
		if err := bind(c, &req); err != nil && err != errEmptyBody {
			return err
		}
	}
	ctx := c.Request().Context()
	w, err := m.d.Store.WorkerSetCordon(ctx, id, cordon, req.Reason, p.Login)
	if err != nil {
		return err
	}
	loads, err := m.d.Store.WorkerLoads(ctx)
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, workerResponse(w, loads[w.ID], time.Now()))
}
