package store

import (
	"context"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// EventListFilter narrows EventList. Empty fields do not filter.
type EventListFilter struct {
	TriggerRef, RuleRef, SourceRef string
	// BeforeID is a keyset cursor (only ids below it); 0 starts at the newest.
	BeforeID int64
}

func (f EventListFilter) params() dbsqlc.EventListFilteredParams {
	return dbsqlc.EventListFilteredParams{TriggerRef: optString(f.TriggerRef), RuleRef: optString(f.RuleRef),
		SourceRef: optString(f.SourceRef), BeforeID: f.BeforeID}
}

// EventList returns events newest first (id DESC), offset paged.
func (d *DB) EventList(ctx context.Context, f EventListFilter, offset, limit int32) ([]Event, error) {
	p := f.params()
	p.PageOffset, p.PageLimit = offset, limit
	rows, err := d.q.EventListFiltered(ctx, d.db, p)
	if err != nil {
		return nil, interpretError(err, "list events")
	}
	out := make([]Event, len(rows))
	for i, r := range rows {
		out[i] = eventFromRow(r)
	}
	return out, nil
}

// EventCount counts the events EventList would page through.
func (d *DB) EventCount(ctx context.Context, f EventListFilter) (int64, error) {
	p := f.params()
	n, err := d.q.EventCountFiltered(ctx, d.db, dbsqlc.EventCountFilteredParams{TriggerRef: p.TriggerRef,
		RuleRef: p.RuleRef, SourceRef: p.SourceRef, BeforeID: p.BeforeID})
	return n, interpretError(err, "count events")
}

// EnforcementListFilter narrows EnforcementList. Empty fields do not filter.
type EnforcementListFilter struct {
	RuleRef, TriggerRef, Status string
	Event                       *int64
}

func (f EnforcementListFilter) params() (dbsqlc.EnforcementListFilteredParams, error) {
	p := dbsqlc.EnforcementListFilteredParams{RuleRef: optString(f.RuleRef), TriggerRef: optString(f.TriggerRef), Event: f.Event}
	if f.Status != "" {
		s := dbsqlc.EnforcementStatusEnum(f.Status)
		if !s.Valid() {
			return p, domain.Invalidf("status", "unknown enforcement status %q", f.Status)
		}
		p.Status = &s
	}
	return p, nil
}

// EnforcementList returns enforcements newest first (id DESC), offset paged.
func (d *DB) EnforcementList(ctx context.Context, f EnforcementListFilter, offset, limit int32) ([]Enforcement, error) {
	p, err := f.params()
	if err != nil {
		return nil, err
	}
	p.PageOffset, p.PageLimit = offset, limit
	rows, err := d.q.EnforcementListFiltered(ctx, d.db, p)
	if err != nil {
		return nil, interpretError(err, "list enforcements")
	}
	out := make([]Enforcement, len(rows))
	for i, r := range rows {
		out[i] = enforcementFromRow(r)
	}
	return out, nil
}

// EnforcementCount counts the enforcements EnforcementList would page through.
func (d *DB) EnforcementCount(ctx context.Context, f EnforcementListFilter) (int64, error) {
	p, err := f.params()
	if err != nil {
		return 0, err
	}
	n, err := d.q.EnforcementCountFiltered(ctx, d.db, dbsqlc.EnforcementCountFilteredParams{RuleRef: p.RuleRef,
		TriggerRef: p.TriggerRef, Event: p.Event, Status: p.Status})
	return n, interpretError(err, "count enforcements")
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
