package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

func (m *Module) executionRoutes() []Route {
	base := "/api/v1/executions"
	readers := Users.Plus(security.TokenExecution) // actions read their own execution
	return []Route{
		{Method: "POST", Path: base + "/execute", OperationID: "executeAction", Auth: Users, Handler: m.executeAction},
		{Method: "GET", Path: base, OperationID: "listExecutions", Auth: readers, Handler: m.listExecutions},
		{Method: "GET", Path: base + "/stats", OperationID: "executionStats", Auth: Users, Handler: m.executionStats},
		{Method: "GET", Path: base + "/status/{status}", OperationID: "listExecutionsByStatus", Auth: readers, Handler: m.listExecutionsByStatus},
		{Method: "GET", Path: base + "/{id}", OperationID: "getExecution", Auth: readers, Handler: m.getExecution},
		{Method: "POST", Path: base + "/{id}/cancel", OperationID: "cancelExecution", Auth: Users, Handler: m.cancelExecution},
		{Method: "POST", Path: base + "/{id}/rerun", OperationID: "rerunExecution", Auth: Users, Handler: m.rerunExecution},
		{Method: "GET", Path: "/api/v1/enforcements/{id}/executions", OperationID: "listEnforcementExecutions", Auth: Users, Handler: m.listEnforcementExecutions},
	}
}

// ExecutionResponse is the public view of an execution. Fencing internals
// (fence, lease) are left out; env_vars are never returned (they may hold
// values the caller passed for the action only).
type ExecutionResponse struct {
	ID                int64           `json:"id"`
	Action            *int64          `json:"action"`
	ActionRef         string          `json:"action_ref"`
	Parameters        json.RawMessage `json:"parameters"`
	Parent            *int64          `json:"parent"`
	Enforcement       *int64          `json:"enforcement"`
	Executor          *int64          `json:"executor"`
	Worker            *int64          `json:"worker"`
	Status            string          `json:"status"`
	Result            json.RawMessage `json:"result"`
	StartedAt         *time.Time      `json:"started_at"`
	TimeoutSeconds    *int32          `json:"timeout_seconds"`
	RetryCount        int32           `json:"retry_count"`
	MaxRetries        int32           `json:"max_retries"`
	RetryReason       *string         `json:"retry_reason"`
	OriginalExecution *int64          `json:"original_execution"`
	Attempt           int32           `json:"attempt"`
	Created           time.Time       `json:"created"`
	Updated           time.Time       `json:"updated"`
}

func executionResponse(e store.Execution) ExecutionResponse {
	res := e.Result
	if len(res) == 0 {
		res = json.RawMessage("null")
	}
	return ExecutionResponse{ID: e.ID, Action: e.Action, ActionRef: e.ActionRef, Parameters: e.Config, Parent: e.Parent,
		Enforcement: e.Enforcement, Executor: e.Executor, Worker: e.Worker, Status: e.Status, Result: res,
		StartedAt: e.StartedAt, TimeoutSeconds: e.TimeoutSeconds, RetryCount: e.RetryCount, MaxRetries: e.MaxRetries,
		RetryReason: e.RetryReason, OriginalExecution: e.OriginalExecution, Attempt: e.Attempt,
		Created: e.Created, Updated: e.Updated}
}

func packOf(ref string) string {
	p, _, _ := strings.Cut(ref, ".")
	return p
}

// executionTarget describes ex for rbac.
func executionTarget(ex store.Execution, action string) rbac.Target {
	t := rbac.Target{Resource: rbac.ResExecutions, Action: action, PackRef: packOf(ex.ActionRef), Ref: ex.ActionRef, ID: ex.ID}
	if ex.Executor != nil {
		t.ExecutorID = *ex.Executor
	}
	return t
}

// canSeeExecution: the executor, holders of executions:read on its pack,
// and an execution token for it or its parent.
func canSeeExecution(p *access.Principal, ex store.Execution) bool {
	if p.TokenType() == security.TokenExecution {
		own := p.Subject.ExecutionID
		return own > 0 && (ex.ID == own || (ex.Parent != nil && *ex.Parent == own))
	}
	if ex.Executor != nil && *ex.Executor == p.IdentityID {
		return true
	}
	return p.Can(executionTarget(ex, rbac.ActRead))
}

// executionVisibility turns the caller's grants into a list filter.
func executionVisibility(p *access.Principal) store.ExecutionVisibility {
	if p.TokenType() == security.TokenExecution {
		return store.ExecutionVisibility{IDs: []int64{p.Subject.ExecutionID}}
	}
	all, packs := rbac.PackRefsFor(p.Subject, rbac.ResExecutions, rbac.ActRead)
	id := p.IdentityID
	return store.ExecutionVisibility{All: all, Viewer: &id, Packs: packs}
}

type executeRequest struct {
	ActionRef      string          `json:"action_ref"`
	Parameters     map[string]any  `json:"parameters"`
	EnvVars        json.RawMessage `json:"env_vars"`
	TimeoutSeconds *int32          `json:"timeout_seconds"`
}

func (m *Module) executeAction(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	var req executeRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	return m.startExecution(c, p, req)
}

// startExecution checks actions:execute and requests the execution in one
// transaction with the caller as executor.
func (m *Module) startExecution(c echo.Context, p *access.Principal, req executeRequest) error {
	ctx := c.Request().Context()
	action, err := m.d.Store.ActionGetByRef(ctx, req.ActionRef)
	if err != nil {
		return err
	}
	if !access.CanRead(p, rbac.ResActions, action.PackRef, action.Ref) {
		return domain.NotFoundf("action %s", req.ActionRef)
	}
	if !access.CanDo(p, rbac.ResActions, rbac.ActExecute, action.PackRef, action.Ref) {
		return domain.ErrForbidden
	}
	executor := p.IdentityID
	var ex store.Execution
	err = m.d.Store.InTx(ctx, func(tx *store.Tx) error {
		ex, err = pipeline.RequestExecution(ctx, tx, pipeline.NewExecution{ActionRef: action.Ref, Params: req.Parameters,
			Executor: &executor, EnvVars: req.EnvVars, TimeoutSeconds: req.TimeoutSeconds})
		return err
	})
	if err != nil {
		return err
	}
	return data(c, http.StatusCreated, executionResponse(ex))
}

// executionQuery reads the list filters.
func executionQuery(c echo.Context) (store.ExecutionQuery, error) {
	q := store.ExecutionQuery{Status: c.QueryParam("status"), ActionRef: c.QueryParam("action_ref"),
		PackName: c.QueryParam("pack_name"), RuleRef: c.QueryParam("rule_ref"), TriggerRef: c.QueryParam("trigger_ref"),
		ResultContains: c.QueryParam("result_contains"), TopLevelOnly: c.QueryParam("top_level_only") == "true"}
	for name, dst := range map[string]**int64{"executor": &q.Executor, "enforcement": &q.Enforcement, "parent": &q.Parent} {
		if v := c.QueryParam(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return q, badRequest("%s: must be a positive integer", name)
			}
			*dst = &n
		}
	}
	if v := c.QueryParam("before_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return q, badRequest("before_id: must be a positive integer")
		}
		q.BeforeID = n
	}
	return q, nil
}

func (m *Module) listExecutions(c echo.Context) error {
	q, err := executionQuery(c)
	if err != nil {
		return err
	}
	return m.pageExecutions(c, q)
}

func (m *Module) listExecutionsByStatus(c echo.Context) error {
	q, err := executionQuery(c)
	if err != nil {
		return err
	}
	q.Status = c.Param("status")
	return m.pageExecutions(c, q)
}

func (m *Module) listEnforcementExecutions(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	enf, err := m.d.Store.EnforcementGet(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if !canSeeEnforcement(p, enf) {
		return domain.NotFoundf("enforcement")
	}
	q, err := executionQuery(c)
	if err != nil {
		return err
	}
	q.Enforcement = &id
	return m.pageExecutions(c, q)
}

// pageExecutions serves one page, newest first. Pages come from id DESC on
// the primary key; pass before_id (the last id seen) for keyset paging that
// stays stable while executions are added.
func (m *Module) pageExecutions(c echo.Context, q store.ExecutionQuery) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	pg, err := parsePage(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	vis := executionVisibility(p)
	rows, err := m.d.Store.ExecutionListVisible(ctx, vis, q, pg.Offset(), pg.Limit())
	if err != nil {
		return err
	}
	var total *int64
	if pg.IncludeTotal {
		n, err := m.d.Store.ExecutionCountVisible(ctx, vis, q)
		if err != nil {
			return err
		}
		total = &n
	}
	out := make([]ExecutionResponse, len(rows))
	for i, ex := range rows {
		out[i] = executionResponse(ex)
	}
	return c.JSON(http.StatusOK, paged(pg, out, total))
}

// visibleExecution loads {id} if the caller may see it; otherwise 404.
func (m *Module) visibleExecution(c echo.Context, p *access.Principal) (store.Execution, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return store.Execution{}, err
	}
	ex, err := m.d.Store.ExecutionGet(c.Request().Context(), id)
	if err != nil {
		return store.Execution{}, err
	}
	if !canSeeExecution(p, ex) {
		return store.Execution{}, domain.NotFoundf("execution")
	}
	return ex, nil
}

func (m *Module) getExecution(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	ex, err := m.visibleExecution(c, p)
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, executionResponse(ex))
}

func (m *Module) cancelExecution(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	ex, err := m.visibleExecution(c, p)
	if err != nil {
		return err
	}
	own := ex.Executor != nil && *ex.Executor == p.IdentityID
	if !own && !p.Can(executionTarget(ex, rbac.ActCancel)) {
		return domain.ErrForbidden
	}
	ex, err = pipeline.CancelExecution(c.Request().Context(), m.d.Store, ex.ID)
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, executionResponse(ex))
}

type rerunRequest struct {
	Parameters map[string]any `json:"parameters"`
}

// rerunExecution starts the same action again with the original parameters,
// or with edited ones, as the caller (who needs actions:execute). The
// response names the original in rerun_of (the execution table has no
// column for it: original_execution is reserved for automatic retries).
func (m *Module) rerunExecution(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	ex, err := m.visibleExecution(c, p)
	if err != nil {
		return err
	}
	var req rerunRequest
	if c.Request().ContentLength != 0 {
		if err := bind(c, &req); err != nil && err != errEmptyBody {
			return err
		}
	}
	params := req.Parameters
	if params == nil {
		if err := json.Unmarshal(ex.Config, &params); err != nil {
			params = map[string]any{}
		}
	}
	ctx := c.Request().Context()
	action, err := m.d.Store.ActionGetByRef(ctx, ex.ActionRef)
	if err != nil {
		return err
	}
	if !access.CanDo(p, rbac.ResActions, rbac.ActExecute, action.PackRef, action.Ref) {
		return domain.ErrForbidden
	}
	executor := p.IdentityID
	var env json.RawMessage
	if len(ex.EnvVars) > 0 && string(ex.EnvVars) != "{}" {
		env = ex.EnvVars
	}
	var nex store.Execution
	err = m.d.Store.InTx(ctx, func(tx *store.Tx) error {
		nex, err = pipeline.RequestExecution(ctx, tx, pipeline.NewExecution{ActionRef: action.Ref, Params: params,
			Executor: &executor, EnvVars: env, TimeoutSeconds: ex.TimeoutSeconds})
		return err
	})
	if err != nil {
		return err
	}
	return data(c, http.StatusCreated, map[string]any{"rerun_of": ex.ID, "execution": executionResponse(nex)})
}

func (m *Module) executionStats(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	counts, err := m.d.Store.ExecutionStatsVisible(c.Request().Context(), executionVisibility(p))
	if err != nil {
		return err
	}
	var total, active int64
	for s, n := range counts {
		total += n
		if !domain.TerminalStatus(s) {
			active += n
		}
	}
	return data(c, http.StatusOK, map[string]any{"total": total, "active": active, "by_status": counts})
}
