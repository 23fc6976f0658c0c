package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
)

// Policy mirrors one row of the policy table (concurrency, rate limit and
// quota rules applied by the executor before scheduling).
type Policy struct {
	ID                     int64
	Ref                    string
	Pack                   *int64
	PackRef                *string
	Action                 *int64
	ActionRef              string
	Enabled                bool
	Priority               int32
	Parameters             []string
	Method                 *string // cancel | enqueue
	Threshold              *int32
	RateLimitMaxExecutions *int32
	RateLimitWindowSeconds *int32
	Quotas                 json.RawMessage
	Name                   *string
	Description            *string
	Tags                   []string
	// IsAdhoc marks policies created through the API: re-registering their
	// pack keeps them.
	IsAdhoc bool
	Created time.Time
	Updated time.Time
}

func policyFromRow(r dbsqlc.Policy) Policy {
	var m *string
	if r.Method != nil {
		s := string(*r.Method)
		m = &s
	}
	return Policy{
		ID: r.ID, Ref: r.Ref, Pack: r.Pack, PackRef: r.PackRef, Action: r.Action, ActionRef: r.ActionRef,
		Enabled: r.Enabled, Priority: r.Priority, Parameters: r.Parameters, Method: m, Threshold: r.Threshold,
		RateLimitMaxExecutions: r.RateLimitMaxExecutions, RateLimitWindowSeconds: r.RateLimitWindowSeconds,
		Quotas: r.Quotas, Name: r.Name, Description: r.Description, Tags: r.Tags, IsAdhoc: r.IsAdhoc, Created: r.Created,
		Updated: r.Updated,
	}
}

// PolicyGetByRef returns one policy by ref.
func (d *DB) PolicyGetByRef(ctx context.Context, ref string) (Policy, error) {
	row, err := d.q.PolicyGetByRef(ctx, d.db, ref)
	if err != nil {
		return Policy{}, interpretError(err, fmt.Sprintf("policy %q", ref))
	}
	return policyFromRow(row), nil
}

// PolicyList lists policies, highest priority first; packRef "" lists every pack.
func (d *DB) PolicyList(ctx context.Context, packRef string) ([]Policy, error) {
	rows, err := d.q.PolicyList(ctx, d.db, strParam(packRef))
	if err != nil {
		return nil, interpretError(err, "list policies")
	}
	out := make([]Policy, len(rows))
	for i, r := range rows {
		out[i] = policyFromRow(r)
	}
	return out, nil
}

// PolicyUpsert inserts or updates the policy with x.Ref (id and timestamps are ignored).
func (d *DB) PolicyUpsert(ctx context.Context, x Policy) (Policy, error) {
	var m *dbsqlc.PolicyMethodEnum
	if x.Method != nil {
		e := dbsqlc.PolicyMethodEnum(*x.Method)
		m = &e
	}
	row, err := d.q.PolicyUpsert(ctx, d.db, dbsqlc.PolicyUpsertParams{
		Ref: x.Ref, Pack: x.Pack, PackRef: x.PackRef, Action: x.Action, ActionRef: x.ActionRef, Enabled: x.Enabled,
		Priority: x.Priority, Parameters: x.Parameters, Method: m, Threshold: x.Threshold,
		RateLimitMaxExecutions: x.RateLimitMaxExecutions, RateLimitWindowSeconds: x.RateLimitWindowSeconds,
		Quotas: x.Quotas, Name: x.Name, Description: x.Description, Tags: x.Tags, IsAdhoc: x.IsAdhoc,
	})
	if err != nil {
		return Policy{}, interpretError(err, fmt.Sprintf("upsert policy %q", x.Ref))
	}
	return policyFromRow(row), nil
}

// PolicyPruneByPack deletes the pack's policies whose refs are not in keep
// and returns the deleted refs.
func (d *DB) PolicyPruneByPack(ctx context.Context, packID int64, keep []string) ([]string, error) {
	refs, err := d.q.PolicyPruneByPack(ctx, d.db, dbsqlc.PolicyPruneByPackParams{Pack: &packID, Keep: nonNil(keep)})
	if err != nil {
		return nil, interpretError(err, "prune policies")
	}
	return refs, nil
}
