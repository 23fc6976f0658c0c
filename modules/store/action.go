package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
)

// Action mirrors one row of the action table.
type Action struct {
	ID                                int64
	Ref                               string
	Pack                              int64
	PackRef                           string
	Label                             string
	Description                       *string
	Entrypoint                        string
	Runtime                           *int64
	RuntimeRef                        *string
	Enabled                           bool
	ParamSchema                       json.RawMessage
	OutSchema                         json.RawMessage
	ParameterDelivery                 string
	ParameterFormat                   string
	OutputFormat                      string
	IsAdhoc                           bool
	TimeoutSeconds                    *int32
	MaxRetries                        int32
	RuntimeVersionConstraint          *string
	DefaultExecutionPermissionSetRefs []string
	ReferenceVisibility               string
	ReferenceAllowedPackRefs          []string
	WorkflowDef                       *int64
	OnWorkerLost                      string
	MaxAttempts                       int32
	Created                           time.Time
	Updated                           time.Time
}

func actionFromRow(r dbsqlc.Action) Action {
	return Action{
		ID:                                r.ID,
		Ref:                               r.Ref,
		Pack:                              r.Pack,
		PackRef:                           r.PackRef,
		Label:                             r.Label,
		Description:                       r.Description,
		Entrypoint:                        r.Entrypoint,
		Runtime:                           r.Runtime,
		RuntimeRef:                        r.RuntimeRef,
		Enabled:                           r.Enabled,
		ParamSchema:                       r.ParamSchema,
		OutSchema:                         r.OutSchema,
		ParameterDelivery:                 r.ParameterDelivery,
		ParameterFormat:                   r.ParameterFormat,
		OutputFormat:                      r.OutputFormat,
		IsAdhoc:                           r.IsAdhoc,
		TimeoutSeconds:                    r.TimeoutSeconds,
		MaxRetries:                        r.MaxRetries,
		RuntimeVersionConstraint:          r.RuntimeVersionConstraint,
		DefaultExecutionPermissionSetRefs: r.DefaultExecutionPermissionSetRefs,
		ReferenceVisibility:               string(r.ReferenceVisibility),
		ReferenceAllowedPackRefs:          r.ReferenceAllowedPackRefs,
		WorkflowDef:                       r.WorkflowDef,
		OnWorkerLost:                      r.OnWorkerLost,
		MaxAttempts:                       r.MaxAttempts,
		Created:                           r.Created,
		Updated:                           r.Updated,
	}
}

func actionsFromRows(rows []dbsqlc.Action) []Action {
	out := make([]Action, len(rows))
	for i, r := range rows {
		out[i] = actionFromRow(r)
	}
	return out
}

// ActionGet returns one action by id.
func (d *DB) ActionGet(ctx context.Context, id int64) (Action, error) {
	row, err := d.q.ActionGet(ctx, d.db, id)
	if err != nil {
		return Action{}, interpretError(err, fmt.Sprintf("action %d", id))
	}
	return actionFromRow(row), nil
}

// ActionGetByRef returns one action by ref.
func (d *DB) ActionGetByRef(ctx context.Context, ref string) (Action, error) {
	row, err := d.q.ActionGetByRef(ctx, d.db, ref)
	if err != nil {
		return Action{}, interpretError(err, fmt.Sprintf("action %q", ref))
	}
	return actionFromRow(row), nil
}

// ActionDelete deletes one action by id and reports whether it existed.
func (d *DB) ActionDelete(ctx context.Context, id int64) (bool, error) {
	n, err := d.q.ActionDelete(ctx, d.db, id)
	if err != nil {
		return false, interpretError(err, fmt.Sprintf("delete action %d", id))
	}
	return n > 0, nil
}

// ActionUpsert inserts or updates the action with x.Ref (id and timestamps are ignored).
func (d *DB) ActionUpsert(ctx context.Context, x Action) (Action, error) {
	row, err := d.q.ActionUpsert(ctx, d.db, dbsqlc.ActionUpsertParams{
		Ref:                               x.Ref,
		Pack:                              x.Pack,
		PackRef:                           x.PackRef,
		Label:                             x.Label,
		Description:                       x.Description,
		Entrypoint:                        x.Entrypoint,
		Runtime:                           x.Runtime,
		RuntimeRef:                        x.RuntimeRef,
		Enabled:                           x.Enabled,
		ParamSchema:                       x.ParamSchema,
		OutSchema:                         x.OutSchema,
		ParameterDelivery:                 strParam(x.ParameterDelivery),
		ParameterFormat:                   strParam(x.ParameterFormat),
		OutputFormat:                      strParam(x.OutputFormat),
		IsAdhoc:                           x.IsAdhoc,
		TimeoutSeconds:                    x.TimeoutSeconds,
		MaxRetries:                        x.MaxRetries,
		RuntimeVersionConstraint:          x.RuntimeVersionConstraint,
		DefaultExecutionPermissionSetRefs: x.DefaultExecutionPermissionSetRefs,
		ReferenceVisibility:               visibilityParam(x.ReferenceVisibility),
		ReferenceAllowedPackRefs:          x.ReferenceAllowedPackRefs,
		WorkflowDef:                       x.WorkflowDef,
		OnWorkerLost:                      strParam(x.OnWorkerLost),
		MaxAttempts:                       int32Param(x.MaxAttempts),
	})
	if err != nil {
		return Action{}, interpretError(err, fmt.Sprintf("upsert action %q", x.Ref))
	}
	return actionFromRow(row), nil
}

// visibilityParam maps "" to NULL so the column default (public) applies.
func visibilityParam(v string) *dbsqlc.ActionReferenceVisibilityEnum {
	if v == "" {
		return nil
	}
	e := dbsqlc.ActionReferenceVisibilityEnum(v)
	return &e
}

// ActionList lists actions, newest id first within each pack; packRef ""
// lists every pack.
func (d *DB) ActionList(ctx context.Context, packRef string) ([]Action, error) {
	var p *string
	if packRef != "" {
		p = &packRef
	}
	rows, err := d.q.ActionList(ctx, d.db, p)
	if err != nil {
		return nil, interpretError(err, "list actions")
	}
	return actionsFromRows(rows), nil
}

// strParam maps "" to NULL so the column default applies.
func strParam(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

// int32Param maps 0 to NULL so the column default applies.
func int32Param(v int32) *int32 {
	if v == 0 {
		return nil
	}
	return &v
}
