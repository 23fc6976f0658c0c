package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/pack"
	"github.com/attune-system/attune/modules/pipeline"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

func (m *Module) inquiryRoutes() []Route {
	base := "/api/v1/inquiries"
	withExec := Users.Plus(security.TokenExecution) // the asking action polls its inquiry
	return []Route{
		{Method: "GET", Path: base, OperationID: "listInquiries", Auth: Users, Handler: m.listInquiries},
		{Method: "POST", Path: base, OperationID: "createInquiry", Auth: Tokens(security.TokenExecution), Handler: m.createInquiry},
		{Method: "GET", Path: base + "/{id}", OperationID: "getInquiry", Auth: withExec, Handler: m.getInquiry},
		{Method: "POST", Path: base + "/{id}/respond", OperationID: "respondInquiry", Auth: Users, Handler: m.respondInquiry},
	}
}

// inquiryMessage is the InquiryCreated / InquiryResponded payload (ids only).
type inquiryMessage struct {
	InquiryID   int64 `json:"inquiry_id"`
	ExecutionID int64 `json:"execution_id"`
}

// InquiryResponse is the public view of an inquiry.
type InquiryResponse struct {
	ID             int64           `json:"id"`
	Execution      int64           `json:"execution"`
	Prompt         *string         `json:"prompt"`
	ResponseSchema json.RawMessage `json:"response_schema"`
	AssignedTo     *int64          `json:"assigned_to"`
	Status         string          `json:"status"`
	Response       json.RawMessage `json:"response"`
	TimeoutAt      *time.Time      `json:"timeout_at"`
	RespondedAt    *time.Time      `json:"responded_at"`
	Created        time.Time       `json:"created"`
	Updated        time.Time       `json:"updated"`
}

func inquiryResponse(i store.Inquiry) InquiryResponse {
	return InquiryResponse{ID: i.ID, Execution: i.Execution, Prompt: i.Prompt, ResponseSchema: orNull(i.ResponseSchema),
		AssignedTo: i.AssignedTo, Status: i.Status, Response: orNull(i.Response), TimeoutAt: i.TimeoutAt,
		RespondedAt: i.RespondedAt, Created: i.Created, Updated: i.Updated}
}

// inquiryTarget describes an inquiry (through its execution) for rbac.
func inquiryTarget(i store.Inquiry, ex store.Execution, action string) rbac.Target {
	t := rbac.Target{Resource: rbac.ResInquiries, Action: action, PackRef: packOf(ex.ActionRef), Ref: ex.ActionRef, ID: i.ID}
	if ex.Executor != nil {
		t.ExecutorID = *ex.Executor
	}
	return t
}

// canSeeInquiry: the assignee, whoever may see the asking execution, holders
// of inquiries:read, and the asking execution's own token.
func canSeeInquiry(p *access.Principal, i store.Inquiry, ex store.Execution) bool {
	if p.TokenType() == security.TokenExecution {
		return p.Subject.ExecutionID == i.Execution
	}
	if i.AssignedTo != nil && *i.AssignedTo == p.IdentityID {
		return true
	}
	return canSeeExecution(p, ex) || p.Can(inquiryTarget(i, ex, rbac.ActRead))
}

// canRespond: the assignee, or (when unassigned) the execution's executor,
// or holders of inquiries:respond for the pack.
func canRespond(p *access.Principal, i store.Inquiry, ex store.Execution) bool {
	if i.AssignedTo != nil && *i.AssignedTo == p.IdentityID {
		return true
	}
	if i.AssignedTo == nil && ex.Executor != nil && *ex.Executor == p.IdentityID {
		return true
	}
	return p.Can(inquiryTarget(i, ex, rbac.ActRespond))
}

func (m *Module) listInquiries(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	pg, err := parsePage(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	rows, err := m.d.Store.InquiryList(ctx, c.QueryParam("status"), maxFilteredRows)
	if err != nil {
		return err
	}
	out := []InquiryResponse{}
	for _, i := range rows {
		ex, err := m.d.Store.ExecutionGet(ctx, i.Execution)
		if err != nil {
			continue // execution deleted: the inquiry cascades away
		}
		if canSeeInquiry(p, i, ex) {
			out = append(out, inquiryResponse(i))
		}
	}
	return c.JSON(http.StatusOK, pageSlice(pg, out))
}

func (m *Module) visibleInquiry(c echo.Context, p *access.Principal) (store.Inquiry, store.Execution, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return store.Inquiry{}, store.Execution{}, err
	}
	ctx := c.Request().Context()
	i, err := m.d.Store.InquiryGet(ctx, id)
	if err != nil {
		return i, store.Execution{}, err
	}
	ex, err := m.d.Store.ExecutionGet(ctx, i.Execution)
	if err != nil {
		return i, ex, err
	}
	if !canSeeInquiry(p, i, ex) {
		return i, ex, domain.NotFoundf("inquiry")
	}
	return i, ex, nil
}

func (m *Module) getInquiry(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	i, _, err := m.visibleInquiry(c, p)
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, inquiryResponse(i))
}

type inquiryCreate struct {
	Prompt         string          `json:"prompt"`
	ResponseSchema json.RawMessage `json:"response_schema"`
	AssignedTo     *int64          `json:"assigned_to"`
	TimeoutSeconds *int            `json:"timeout_seconds"`
}

// createInquiry: an action asks a question through its execution token; the
// execution is the token's, never one named in the body.
func (m *Module) createInquiry(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	if p.TokenType() != security.TokenExecution || p.Subject.ExecutionID <= 0 {
		return domain.ErrForbidden
	}
	var req inquiryCreate
	if err := bind(c, &req); err != nil {
		return err
	}
	if len(req.ResponseSchema) > 0 && string(req.ResponseSchema) != "null" {
		if _, err := pack.ParseParamSchema(req.ResponseSchema); err != nil {
			return domain.Invalidf("response_schema", "%v", err)
		}
	}
	n := store.NewInquiry{Execution: p.Subject.ExecutionID, ResponseSchema: req.ResponseSchema, AssignedTo: req.AssignedTo}
	if req.Prompt != "" {
		n.Prompt = &req.Prompt
	}
	if req.TimeoutSeconds != nil {
		at := time.Now().Add(time.Duration(*req.TimeoutSeconds) * time.Second)
		n.TimeoutAt = &at
	}
	ctx := c.Request().Context()
	var inq store.Inquiry
	err = m.d.Store.InTx(ctx, func(tx *store.Tx) error {
		if inq, err = tx.InquiryInsert(ctx, n); err != nil {
			return err
		}
		return pipeline.Enqueue(ctx, tx, bus.ExchangeExecutions, bus.KeyInquiryCreated, pipeline.TypeInquiryCreated,
			inquiryMessage{InquiryID: inq.ID, ExecutionID: inq.Execution})
	})
	if err != nil {
		return err
	}
	return data(c, http.StatusCreated, inquiryResponse(inq))
}

type inquiryAnswer struct {
	Response map[string]any `json:"response"`
}

func (m *Module) respondInquiry(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	i, ex, err := m.visibleInquiry(c, p)
	if err != nil {
		return err
	}
	if !canRespond(p, i, ex) {
		return domain.ErrForbidden
	}
	var req inquiryAnswer
	if err := bind(c, &req); err != nil {
		return err
	}
	if req.Response == nil {
		return domain.NewValidationError("response", "is required")
	}
	if len(i.ResponseSchema) > 0 && string(i.ResponseSchema) != "null" {
		schema, err := pack.ParseParamSchema(i.ResponseSchema)
		if err != nil {
			return domain.Invalidf("response_schema", "inquiry %d has an invalid schema: %v", i.ID, err)
		}
		if err := schema.Validate(req.Response); err != nil {
			return domain.NewValidationError("response", err.Error())
		}
	}
	resp, err := json.Marshal(req.Response)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var done store.Inquiry
	err = m.d.Store.InTx(ctx, func(tx *store.Tx) error {
		if done, err = tx.InquiryRespond(ctx, i.ID, resp); err != nil {
			return err
		}
		return pipeline.Enqueue(ctx, tx, bus.ExchangeExecutions, bus.KeyInquiryResponded, pipeline.TypeInquiryResponded,
			inquiryMessage{InquiryID: done.ID, ExecutionID: done.Execution})
	})
	if err != nil {
		return err
	}
	return data(c, http.StatusOK, inquiryResponse(done))
}
