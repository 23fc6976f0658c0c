package store

import (
	"context"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// ExecutionVisibility restricts API listings to what the caller may see:
// everything (All), executions it started (Viewer), executions of Packs, or
// the executions IDs and their children (execution tokens).
type ExecutionVisibility struct {
	All    bool
	Viewer *int64
	Packs  []string
	IDs    []int64
}

// ExecutionQuery filters ExecutionListVisible; empty fields do not filter.
type ExecutionQuery struct {
	Status, ActionRef, PackName, RuleRef, TriggerRef, ResultContains string
	Executor, Enforcement, Parent                                    *int64
	TopLevelOnly                                                     bool
	// BeforeID is a keyset cursor (only ids below it); 0 starts at the newest.
	BeforeID int64
}

func (q ExecutionQuery) params(v ExecutionVisibility) (dbsqlc.ExecutionListVisibleParams, error) {
	p := dbsqlc.ExecutionListVisibleParams{
		SeeAll: v.All, Viewer: v.Viewer, Packs: nonNilStrings(v.Packs), IDs: v.IDs,
		ActionRef: optString(q.ActionRef), PackName: optString(q.PackName), Executor: q.Executor,
		Enforcement: q.Enforcement, Parent: q.Parent, TopLevelOnly: q.TopLevelOnly,
		ResultContains: optString(q.ResultContains), RuleRef: optString(q.RuleRef), TriggerRef: optString(q.TriggerRef),
		BeforeID: q.BeforeID,
	}
	if p.IDs == nil {
		p.IDs = []int64{}
	}
	if q.Status != "" {
		s := dbsqlc.ExecutionStatusEnum(q.Status)
		if !s.Valid() {
			return p, domain.Invalidf("status", "unknown execution status %q", q.Status)
		}
		p.Status = &s
	}
	return p, nil
}

// ExecutionListVisible returns one page of the executions v admits, newest
// (highest id) first.
func (d *DB) ExecutionListVisible(ctx context.Context, v ExecutionVisibility, q ExecutionQuery, offset, limit int32) ([]Execution, error) {
	p, err := q.params(v)
	if err != nil {
		return nil, err
	}
	p.PageOffset, p.PageLimit = offset, limit
	rows, err := d.q.ExecutionListVisible(ctx, d.db, p)
	if err != nil {
		return nil, interpretError(err, "list executions")
	}
	return executionsFromRows(rows), nil
}

// ExecutionCountVisible counts what ExecutionListVisible pages through.
func (d *DB) ExecutionCountVisible(ctx context.Context, v ExecutionVisibility, q ExecutionQuery) (int64, error) {
	p, err := q.params(v)
	if err != nil {
		return 0, err
	}
	n, err := d.q.ExecutionCountVisible(ctx, d.db, dbsqlc.ExecutionCountVisibleParams{
		SeeAll: p.SeeAll, Viewer: p.Viewer, Packs: p.Packs, IDs: p.IDs, Status: p.Status, ActionRef: p.ActionRef,
		PackName: p.PackName, Executor: p.Executor, Enforcement: p.Enforcement, Parent: p.Parent,
		TopLevelOnly: p.TopLevelOnly, ResultContains: p.ResultContains, RuleRef: p.RuleRef, TriggerRef: p.TriggerRef,
		BeforeID: p.BeforeID,
	})
	return n, interpretError(err, "count executions")
}

// ExecutionStatsVisible counts the executions v admits per status.
func (d *DB) ExecutionStatsVisible(ctx context.Context, v ExecutionVisibility) (map[string]int64, error) {
	rows, err := d.q.ExecutionStatsVisible(ctx, d.db, dbsqlc.ExecutionStatsVisibleParams{
		SeeAll: v.All, Viewer: v.Viewer, Packs: nonNilStrings(v.Packs)})
	if err != nil {
		return nil, interpretError(err, "execution stats")
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Status] = r.Count
	}
	return out, nil
}
