package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
)

// WorkflowDefinition mirrors one row of workflow_definition: the parsed
// graph of a workflow action (spec §2.8), linked from action.workflow_def.
type WorkflowDefinition struct {
	ID          int64
	Ref         string
	Pack        int64
	PackRef     string
	Label       string
	Description *string
	Version     string
	ParamSchema json.RawMessage
	OutSchema   json.RawMessage
	Definition  json.RawMessage
	Tags        []string
	Created     time.Time
	Updated     time.Time
}

func workflowFromRow(r dbsqlc.WorkflowDefinition) WorkflowDefinition {
	return WorkflowDefinition{
		ID: r.ID, Ref: r.Ref, Pack: r.Pack, PackRef: r.PackRef, Label: r.Label, Description: r.Description,
		Version: r.Version, ParamSchema: r.ParamSchema, OutSchema: r.OutSchema, Definition: r.Definition,
		Tags: r.Tags, Created: r.Created, Updated: r.Updated,
	}
}

// WorkflowDefinitionGet returns one workflow definition by id.
func (d *DB) WorkflowDefinitionGet(ctx context.Context, id int64) (WorkflowDefinition, error) {
	row, err := d.q.WorkflowDefinitionGet(ctx, d.db, id)
	if err != nil {
		return WorkflowDefinition{}, interpretError(err, fmt.Sprintf("workflow definition %d", id))
	}
	return workflowFromRow(row), nil
}

// WorkflowDefinitionGetByRef returns one workflow definition by ref.
func (d *DB) WorkflowDefinitionGetByRef(ctx context.Context, ref string) (WorkflowDefinition, error) {
	row, err := d.q.WorkflowDefinitionGetByRef(ctx, d.db, ref)
	if err != nil {
		return WorkflowDefinition{}, interpretError(err, fmt.Sprintf("workflow definition %q", ref))
	}
	return workflowFromRow(row), nil
}

// WorkflowDefinitionUpsert inserts or updates the definition with x.Ref.
func (d *DB) WorkflowDefinitionUpsert(ctx context.Context, x WorkflowDefinition) (WorkflowDefinition, error) {
	row, err := d.q.WorkflowDefinitionUpsert(ctx, d.db, dbsqlc.WorkflowDefinitionUpsertParams{
		Ref: x.Ref, Pack: x.Pack, PackRef: x.PackRef, Label: x.Label, Description: x.Description,
		Version: strParam(x.Version), ParamSchema: x.ParamSchema, OutSchema: x.OutSchema,
		Definition: x.Definition, Tags: x.Tags,
	})
	if err != nil {
		return WorkflowDefinition{}, interpretError(err, fmt.Sprintf("upsert workflow definition %q", x.Ref))
	}
	return workflowFromRow(row), nil
}

// WorkflowDefinitionPruneByPack deletes the pack's definitions whose refs
// are not in keep, except those an ad-hoc action still uses.
func (d *DB) WorkflowDefinitionPruneByPack(ctx context.Context, packID int64, keep []string) ([]string, error) {
	refs, err := d.q.WorkflowDefinitionPruneByPack(ctx, d.db, dbsqlc.WorkflowDefinitionPruneByPackParams{Pack: packID, Keep: nonNil(keep)})
	if err != nil {
		return nil, interpretError(err, "prune workflow definitions")
	}
	return refs, nil
}
