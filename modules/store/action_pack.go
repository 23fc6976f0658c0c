package store

import (
	"context"

	"github.com/attune-system/attune/db/dbsqlc"
)

// ActionPruneByPack deletes the pack's file-defined actions whose refs are
// not in keep (ad-hoc actions stay) and returns the deleted refs.
func (d *DB) ActionPruneByPack(ctx context.Context, packID int64, keep []string) ([]string, error) {
	refs, err := d.q.ActionPruneByPack(ctx, d.db, dbsqlc.ActionPruneByPackParams{Pack: packID, Keep: nonNil(keep)})
	if err != nil {
		return nil, interpretError(err, "prune actions")
	}
	return refs, nil
}
