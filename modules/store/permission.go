package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// PermissionSet is a named list of grants (JSON array in the rbac.Grant
// shape), usually shipped by a pack.
type PermissionSet struct {
	ID          int64
	Ref         string
	Pack        *int64
	PackRef     *string
	Label       *string
	Description *string
	Grants      json.RawMessage
	Created     time.Time
	Updated     time.Time
}

func permissionSetFromRow(r dbsqlc.PermissionSet) PermissionSet {
	return PermissionSet{
		ID: r.ID, Ref: r.Ref, Pack: r.Pack, PackRef: r.PackRef, Label: r.Label,
		Description: r.Description, Grants: r.Grants, Created: r.Created, Updated: r.Updated,
	}
}

// PermissionSetList returns every set ordered by ref.
func (d *DB) PermissionSetList(ctx context.Context) ([]PermissionSet, error) {
	rows, err := d.q.PermissionSetList(ctx, d.db)
	if err != nil {
		return nil, interpretError(err, "list permission sets")
	}
	out := make([]PermissionSet, len(rows))
	for i, r := range rows {
		out[i] = permissionSetFromRow(r)
	}
	return out, nil
}

// PermissionSetGet returns one set by id.
func (d *DB) PermissionSetGet(ctx context.Context, id int64) (PermissionSet, error) {
	r, err := d.q.PermissionSetGet(ctx, d.db, id)
	if err != nil {
		return PermissionSet{}, interpretError(err, fmt.Sprintf("permission set %d", id))
	}
	return permissionSetFromRow(r), nil
}

// PermissionSetGetByRef returns one set by ref.
func (d *DB) PermissionSetGetByRef(ctx context.Context, ref string) (PermissionSet, error) {
	r, err := d.q.PermissionSetGetByRef(ctx, d.db, ref)
	if err != nil {
		return PermissionSet{}, interpretError(err, fmt.Sprintf("permission set %q", ref))
	}
	return permissionSetFromRow(r), nil
}

// PermissionSetUpsert inserts or replaces the set with p.Ref (the pack
// registrar's entry point; callers validate grants with rbac.ValidateGrants).
func (d *DB) PermissionSetUpsert(ctx context.Context, p PermissionSet) (PermissionSet, error) {
	grants := p.Grants
	if len(grants) == 0 {
		grants = json.RawMessage("[]")
	}
	r, err := d.q.PermissionSetUpsert(ctx, d.db, dbsqlc.PermissionSetUpsertParams{
		Ref: p.Ref, Pack: p.Pack, PackRef: p.PackRef, Label: p.Label, Description: p.Description, Grants: grants,
	})
	if err != nil {
		return PermissionSet{}, interpretError(err, fmt.Sprintf("permission set %q", p.Ref))
	}
	return permissionSetFromRow(r), nil
}

// PermissionSetUpdate replaces the grants of set id and the non-nil fields.
func (d *DB) PermissionSetUpdate(ctx context.Context, id int64, grants json.RawMessage, label, description *string) (PermissionSet, error) {
	r, err := d.q.PermissionSetUpdate(ctx, d.db, dbsqlc.PermissionSetUpdateParams{
		ID: id, Grants: grants, Label: label, Description: description,
	})
	if err != nil {
		return PermissionSet{}, interpretError(err, fmt.Sprintf("permission set %d", id))
	}
	return permissionSetFromRow(r), nil
}

// PermissionAssignment links an identity to a permission set.
type PermissionAssignment struct {
	ID         int64
	Identity   int64
	PermSet    int64
	PermSetRef string
	// Grants are the set's grants (filled by PermissionAssignmentListByIdentity).
	Grants  json.RawMessage
	Created time.Time
}

// PermissionAssignmentInsert assigns set permSet to identity; a duplicate is
// domain.ErrConflict.
func (d *DB) PermissionAssignmentInsert(ctx context.Context, identity, permSet int64) (PermissionAssignment, error) {
	r, err := d.q.PermissionAssignmentInsert(ctx, d.db, dbsqlc.PermissionAssignmentInsertParams{Identity: identity, Permset: permSet})
	if err != nil {
		return PermissionAssignment{}, interpretError(err, "create permission assignment")
	}
	return PermissionAssignment{ID: r.ID, Identity: r.Identity, PermSet: r.Permset, Created: r.Created}, nil
}

// PermissionAssignmentGet returns one assignment by id.
func (d *DB) PermissionAssignmentGet(ctx context.Context, id int64) (PermissionAssignment, error) {
	r, err := d.q.PermissionAssignmentGet(ctx, d.db, id)
	if err != nil {
		return PermissionAssignment{}, interpretError(err, fmt.Sprintf("permission assignment %d", id))
	}
	return PermissionAssignment{ID: r.ID, Identity: r.Identity, PermSet: r.Permset, Created: r.Created}, nil
}

// PermissionAssignmentDelete removes one assignment.
func (d *DB) PermissionAssignmentDelete(ctx context.Context, id int64) error {
	n, err := d.q.PermissionAssignmentDelete(ctx, d.db, id)
	if err != nil {
		return interpretError(err, fmt.Sprintf("permission assignment %d", id))
	}
	if n == 0 {
		return domain.NotFoundf("permission assignment %d", id)
	}
	return nil
}

// PermissionAssignmentListByIdentity returns an identity's assignments with
// each set's ref and grants, ordered by set ref.
func (d *DB) PermissionAssignmentListByIdentity(ctx context.Context, identity int64) ([]PermissionAssignment, error) {
	rows, err := d.q.PermissionAssignmentListByIdentity(ctx, d.db, identity)
	if err != nil {
		return nil, interpretError(err, fmt.Sprintf("assignments of identity %d", identity))
	}
	out := make([]PermissionAssignment, len(rows))
	for i, r := range rows {
		out[i] = PermissionAssignment{ID: r.ID, Identity: r.Identity, PermSet: r.Permset,
			PermSetRef: r.PermsetRef, Grants: r.Grants, Created: r.Created}
	}
	return out, nil
}
