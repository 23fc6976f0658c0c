package store

import (
	"context"
	"fmt"

	"github.com/attune-system/attune/db/dbsqlc"
)

// RuntimeListByPack lists a pack's runtimes by ref.
func (d *DB) RuntimeListByPack(ctx context.Context, packID int64) ([]Runtime, error) {
	rows, err := d.q.RuntimeListByPack(ctx, d.db, &packID)
	if err != nil {
		return nil, interpretError(err, fmt.Sprintf("list runtimes of pack %d", packID))
	}
	return runtimesFromRows(rows), nil
}

// RuntimePruneByPack deletes the pack's runtimes whose refs are not in keep
// and returns the deleted refs.
func (d *DB) RuntimePruneByPack(ctx context.Context, packID int64, keep []string) ([]string, error) {
	refs, err := d.q.RuntimePruneByPack(ctx, d.db, dbsqlc.RuntimePruneByPackParams{Pack: &packID, Keep: nonNil(keep)})
	if err != nil {
		return nil, interpretError(err, "prune runtimes")
	}
	return refs, nil
}
