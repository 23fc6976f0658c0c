package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/attune-system/attune/db/dbsqlc"
)

// PackPermissionSet is a permission set as a pack defines it (spec §9.4).
// The RBAC side reads permission sets through its own wrappers; this file
// holds what the pack registrar needs.
type PackPermissionSet struct {
	Ref         string
	Pack        int64
	PackRef     string
	Label       *string
	Description *string
	Grants      json.RawMessage // JSON array of {resource, actions, constraints}
}

// PermissionSetRegister upserts a pack's permission set and returns its id.
func (d *DB) PermissionSetRegister(ctx context.Context, x PackPermissionSet) (int64, error) {
	row, err := d.q.PermissionSetUpsert(ctx, d.db, dbsqlc.PermissionSetUpsertParams{
		Ref: x.Ref, Pack: &x.Pack, PackRef: &x.PackRef, Label: x.Label, Description: x.Description,
		Grants: x.Grants,
	})
	if err != nil {
		return 0, interpretError(err, fmt.Sprintf("upsert permission set %q", x.Ref))
	}
	return row.ID, nil
}

// PermissionSetRefsByPack lists the refs of a pack's permission sets.
func (d *DB) PermissionSetRefsByPack(ctx context.Context, packID int64) ([]string, error) {
	rows, err := d.q.PermissionSetListByPack(ctx, d.db, &packID)
	if err != nil {
		return nil, interpretError(err, "list permission sets")
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Ref
	}
	return out, nil
}

// PermissionSetPruneByPack deletes the pack's permission sets whose refs are
// not in keep (their assignments cascade) and returns the deleted refs.
func (d *DB) PermissionSetPruneByPack(ctx context.Context, packID int64, keep []string) ([]string, error) {
	refs, err := d.q.PermissionSetPruneByPack(ctx, d.db, dbsqlc.PermissionSetPruneByPackParams{Pack: &packID, Keep: nonNil(keep)})
	if err != nil {
		return nil, interpretError(err, "prune permission sets")
	}
	return refs, nil
}
