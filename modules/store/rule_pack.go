package store

import (
	"context"
	"fmt"

	"github.com/attune-system/attune/db/dbsqlc"
)

// RuleListByPack lists a pack's rules (file-defined and ad-hoc) by ref.
func (d *DB) RuleListByPack(ctx context.Context, packID int64) ([]Rule, error) {
	rows, err := d.q.RuleListByPack(ctx, d.db, packID)
	if err != nil {
		return nil, interpretError(err, fmt.Sprintf("list rules of pack %d", packID))
	}
	return rulesFromRows(rows), nil
}

// RulePruneByPack deletes the pack's file-defined rules whose refs are not
// in keep (ad-hoc rules stay) and returns the deleted rows, so the caller can
// announce rule.deleted for each.
func (d *DB) RulePruneByPack(ctx context.Context, packID int64, keep []string) ([]Rule, error) {
	rows, err := d.q.RulePruneByPack(ctx, d.db, dbsqlc.RulePruneByPackParams{Pack: packID, Keep: nonNil(keep)})
	if err != nil {
		return nil, interpretError(err, "prune rules")
	}
	return rulesFromRows(rows), nil
}
