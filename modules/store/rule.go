package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
)

// Rule mirrors one row of the rule table.
type Rule struct {
	ID                int64
	Ref               string
	Pack              int64
	PackRef           string
	Label             string
	Description       *string
	Action            *int64
	ActionRef         string
	Trigger           *int64
	TriggerRef        string
	Conditions        json.RawMessage
	ActionParams      json.RawMessage
	TriggerParams     json.RawMessage
	PermissionSetRefs []string
	Enabled           bool
	IsAdhoc           bool
	OwnerIdentity     *int64
	Created           time.Time
	Updated           time.Time
}

func ruleFromRow(r dbsqlc.Rule) Rule {
	return Rule{
		ID:                r.ID,
		Ref:               r.Ref,
		Pack:              r.Pack,
		PackRef:           r.PackRef,
		Label:             r.Label,
		Description:       r.Description,
		Action:            r.Action,
		ActionRef:         r.ActionRef,
		Trigger:           r.Trigger,
		TriggerRef:        r.TriggerRef,
		Conditions:        r.Conditions,
		ActionParams:      r.ActionParams,
		TriggerParams:     r.TriggerParams,
		PermissionSetRefs: r.PermissionSetRefs,
		Enabled:           r.Enabled,
		IsAdhoc:           r.IsAdhoc,
		OwnerIdentity:     r.OwnerIdentity,
		Created:           r.Created,
		Updated:           r.Updated,
	}
}

func rulesFromRows(rows []dbsqlc.Rule) []Rule {
	out := make([]Rule, len(rows))
	for i, r := range rows {
		out[i] = ruleFromRow(r)
	}
	return out
}

// RuleGet returns one rule by id.
func (d *DB) RuleGet(ctx context.Context, id int64) (Rule, error) {
	row, err := d.q.RuleGet(ctx, d.db, id)
	if err != nil {
		return Rule{}, interpretError(err, fmt.Sprintf("rule %d", id))
	}
	return ruleFromRow(row), nil
}

// RuleGetByRef returns one rule by ref.
func (d *DB) RuleGetByRef(ctx context.Context, ref string) (Rule, error) {
	row, err := d.q.RuleGetByRef(ctx, d.db, ref)
	if err != nil {
		return Rule{}, interpretError(err, fmt.Sprintf("rule %q", ref))
	}
	return ruleFromRow(row), nil
}

// RuleDelete deletes one rule by id and reports whether it existed.
func (d *DB) RuleDelete(ctx context.Context, id int64) (bool, error) {
	n, err := d.q.RuleDelete(ctx, d.db, id)
	if err != nil {
		return false, interpretError(err, fmt.Sprintf("delete rule %d", id))
	}
	return n > 0, nil
}

// RuleUpsert inserts or updates the rule with x.Ref (id and timestamps are ignored).
func (d *DB) RuleUpsert(ctx context.Context, x Rule) (Rule, error) {
	row, err := d.q.RuleUpsert(ctx, d.db, dbsqlc.RuleUpsertParams{
		Ref:               x.Ref,
		Pack:              x.Pack,
		PackRef:           x.PackRef,
		Label:             x.Label,
		Description:       x.Description,
		Action:            x.Action,
		ActionRef:         x.ActionRef,
		Trigger:           x.Trigger,
		TriggerRef:        x.TriggerRef,
		Conditions:        x.Conditions,
		ActionParams:      x.ActionParams,
		TriggerParams:     x.TriggerParams,
		PermissionSetRefs: x.PermissionSetRefs,
		Enabled:           x.Enabled,
		IsAdhoc:           x.IsAdhoc,
		OwnerIdentity:     x.OwnerIdentity,
	})
	if err != nil {
		return Rule{}, interpretError(err, fmt.Sprintf("upsert rule %q", x.Ref))
	}
	return ruleFromRow(row), nil
}

// RuleList lists every rule.
func (d *DB) RuleList(ctx context.Context) ([]Rule, error) {
	rows, err := d.q.RuleList(ctx, d.db)
	if err != nil {
		return nil, interpretError(err, "list rules")
	}
	return rulesFromRows(rows), nil
}

// RuleListEnabledByTriggerRef lists the enabled rules on one trigger.
func (d *DB) RuleListEnabledByTriggerRef(ctx context.Context, triggerRef string) ([]Rule, error) {
	rows, err := d.q.RuleListEnabledByTriggerRef(ctx, d.db, triggerRef)
	if err != nil {
		return nil, interpretError(err, "list enabled rules of "+triggerRef)
	}
	return rulesFromRows(rows), nil
}

// RuleSetEnabled enables or disables a rule.
func (d *DB) RuleSetEnabled(ctx context.Context, id int64, enabled bool) (Rule, error) {
	row, err := d.q.RuleSetEnabled(ctx, d.db, dbsqlc.RuleSetEnabledParams{ID: id, Enabled: enabled})
	if err != nil {
		return Rule{}, interpretError(err, fmt.Sprintf("rule %d", id))
	}
	return ruleFromRow(row), nil
}
