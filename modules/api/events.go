package api

import (
	"context"
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

func (m *Module) eventRoutes() []Route {
	base := "/api/v1/events"
	return []Route{
		{Method: "GET", Path: base, OperationID: "listEvents", Auth: Users, Handler: m.listEvents},
		// Only sensors and actions post events; users go through webhooks (spec §5.1).
		{Method: "POST", Path: base, OperationID: "createEvent", Auth: Users.Plus(security.TokenSensor, security.TokenExecution), Handler: m.createEvent},
		{Method: "GET", Path: base + "/{id}", OperationID: "getEvent", Auth: Users, Handler: m.getEvent},
	}
}

// EventResponse is the public view of an event.
type EventResponse struct {
	ID         int64           `json:"id"`
	Trigger    *int64          `json:"trigger"`
	TriggerRef string          `json:"trigger_ref"`
	Config     json.RawMessage `json:"config"`
	Payload    json.RawMessage `json:"payload"`
	Source     *int64          `json:"source"`
	SourceRef  *string         `json:"source_ref"`
	Rule       *int64          `json:"rule"`
	RuleRef    *string         `json:"rule_ref"`
	Created    time.Time       `json:"created"`
}

func eventResponse(e store.Event) EventResponse {
	return EventResponse{ID: e.ID, Trigger: e.Trigger, TriggerRef: e.TriggerRef, Config: orNull(e.Config),
		Payload: orNull(e.Payload), Source: e.Source, SourceRef: e.SourceRef, Rule: e.Rule, RuleRef: e.RuleRef, Created: e.Created}
}

func orNull(v json.RawMessage) json.RawMessage {
	if len(v) == 0 {
		return json.RawMessage("null")
	}
	return v
}

// Events are read with triggers:read on the trigger's pack (there is no
// separate events:read in the built-in sets): canSeeEvent.
func canSeeEvent(p *access.Principal, e store.Event) bool {
	return access.CanRead(p, rbac.ResTriggers, packOf(e.TriggerRef), e.TriggerRef) ||
		access.CanRead(p, rbac.ResEvents, packOf(e.TriggerRef), e.TriggerRef)
}

// maxFilteredRows caps rows scanned for callers whose visibility is decided
// per row.
const maxFilteredRows = 10000

func (m *Module) listEvents(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	pg, err := parsePage(c)
	if err != nil {
		return err
	}
	f := store.EventListFilter{TriggerRef: c.QueryParam("trigger_ref"), RuleRef: c.QueryParam("rule_ref"), SourceRef: c.QueryParam("source")}
	all := rbac.Unconstrained(p.Subject, rbac.ResTriggers, rbac.ActRead) || rbac.Unconstrained(p.Subject, rbac.ResEvents, rbac.ActRead)
	return visibleList[store.Event, EventResponse]{
		list: func(ctx context.Context, offset, limit int32) ([]store.Event, error) {
			return m.d.Store.EventList(ctx, f, offset, limit)
		},
		count:   func(ctx context.Context) (int64, error) { return m.d.Store.EventCount(ctx, f) },
		visible: func(e store.Event) bool { return canSeeEvent(p, e) },
		render:  eventResponse,
	}.serve(c, pg, all)
}

func (m *Module) getEvent(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	e, err := m.d.Store.EventGet(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if !canSeeEvent(p, e) {
		return domain.NotFoundf("event")
	}
	return data(c, http.StatusOK, eventResponse(e))
}

type eventRequest struct {
	TriggerRef        string          `json:"trigger_ref"`
	TriggerType       string          `json:"trigger_type"`
	Payload           json.RawMessage `json:"payload"`
	TriggerInstanceID string          `json:"trigger_instance_id"`
	DedupeKey         string          `json:"dedupe_key"`
}

// createEvent stores an event posted by a sensor (for one of its trigger
// types) or an action (execution token, within its pack). User tokens are
// refused: users go through webhooks.
func (m *Module) createEvent(c echo.Context) error {
	p, err := mustPrincipal(c)
	if err != nil {
		return err
	}
	tt := p.TokenType()
	if tt != security.TokenSensor && tt != security.TokenExecution {
		return domain.ErrForbidden
	}
	var req eventRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	ref := req.TriggerRef
	if ref == "" {
		ref = req.TriggerType
	}
	if ref == "" {
		return domain.NewValidationError("trigger_ref", "is required")
	}
	if !p.Can(rbac.Target{Resource: rbac.ResEvents, Action: rbac.ActCreate, PackRef: packOf(ref), Ref: ref}) {
		return domain.ErrForbidden
	}
	ctx := c.Request().Context()
	trig, err := m.d.Store.TriggerGetByRef(ctx, ref)
	if err != nil {
		return domain.Invalidf("trigger_ref", "unknown trigger %q", ref)
	}
	ne := store.NewEvent{Trigger: &trig.ID, TriggerRef: trig.Ref, Payload: req.Payload}
	if len(ne.Payload) == 0 {
		ne.Payload = json.RawMessage("{}")
	}
	cfg := map[string]any{"source": string(tt), "received_at": time.Now().UTC()}
	if tt == security.TokenSensor {
		sensorRef, _ := p.Claims.MetadataString(security.MetaSensorRef)
		cfg["sensor_ref"] = sensorRef
		if sensorRef != "" {
			ne.SourceRef = &sensorRef
			if s, err := m.d.Store.SensorGetByRef(ctx, sensorRef); err == nil {
				ne.Source = &s.ID
			}
		}
	} else {
		src := "execution:" + strconv.FormatInt(p.Subject.ExecutionID, 10)
		ne.SourceRef = &src
	}
	if ne.Config, err = json.Marshal(cfg); err != nil {
		return err
	}
	if req.TriggerInstanceID != "" {
		idStr, ok := strings.CutPrefix(req.TriggerInstanceID, "rule_")
		id, err := strconv.ParseInt(idStr, 10, 64)
		if !ok || err != nil || id <= 0 {
			return domain.NewValidationError("trigger_instance_id", `must be "rule_<id>"`)
		}
		rule, err := m.d.Store.RuleGet(ctx, id)
		if err != nil || rule.TriggerRef != trig.Ref {
			return domain.Invalidf("trigger_instance_id", "no rule %d on trigger %s", id, trig.Ref)
		}
		ne.Rule, ne.RuleRef = &rule.ID, &rule.Ref
	}
	if req.DedupeKey != "" {
		ne.IdempotencyKey = &req.DedupeKey
	}
	ev, created, err := pipeline.IngestEvent(ctx, m.d.Store, ne)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	return data(c, status, eventResponse(ev))
}
