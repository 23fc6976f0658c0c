package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// Enforcement records that a rule matched an event.
type Enforcement struct {
	ID         int64
	Rule       *int64
	RuleRef    string
	TriggerRef string
	Config     json.RawMessage
	Event      *int64
	Status     string
	Payload    json.RawMessage
	Condition  string
	Conditions json.RawMessage
	Created    time.Time
	ResolvedAt *time.Time
}

func enforcementFromRow(r dbsqlc.Enforcement) Enforcement {
	return Enforcement{
		ID: r.ID, Rule: r.Rule, RuleRef: r.RuleRef, TriggerRef: r.TriggerRef, Config: r.Config, Event: r.Event,
		Status: string(r.Status), Payload: r.Payload, Condition: string(r.Condition), Conditions: r.Conditions,
		Created: r.Created, ResolvedAt: r.ResolvedAt,
	}
}

// NewEnforcement is the input to EnforcementInsert.
type NewEnforcement struct {
	Rule       *int64
	RuleRef    string
	TriggerRef string
	// Config holds the resolved action parameters.
	Config     json.RawMessage
	Event      *int64
	Payload    json.RawMessage
	Condition  string // "any" or "all"; empty means all
	Conditions json.RawMessage
	// Status is "created" (the default) or the final status of an
	// enforcement resolved in the transaction that creates it.
	Status string
}

// EnforcementInsert creates the enforcement for (Rule, Event). If that pair
// already has one it returns the existing row and created=false: evaluation
// may rerun, the rule still fires once per event.
func (d *DB) EnforcementInsert(ctx context.Context, e NewEnforcement) (enf Enforcement, created bool, err error) {
	p := dbsqlc.EnforcementInsertParams{
		Rule: e.Rule, RuleRef: e.RuleRef, TriggerRef: e.TriggerRef, Config: e.Config, Event: e.Event,
		Payload: e.Payload, Conditions: e.Conditions,
	}
	if e.Condition != "" {
		c := dbsqlc.EnforcementConditionEnum(e.Condition)
		if !c.Valid() {
			return Enforcement{}, false, domain.Invalidf("condition", "must be any or all, got %q", e.Condition)
		}
		p.Condition = &c
	}
	if e.Status != "" {
		st := dbsqlc.EnforcementStatusEnum(e.Status)
		if !st.Valid() {
			return Enforcement{}, false, domain.Invalidf("status", "must be created, processed or disabled, got %q", e.Status)
		}
		p.Status = &st
	}
	row, err := d.q.EnforcementInsert(ctx, d.db, p)
	if err == nil {
		return enforcementFromRow(row), true, nil
	}
	err = interpretError(err, "insert enforcement for rule "+e.RuleRef)
	if !errors.Is(err, domain.ErrNotFound) || e.Rule == nil || e.Event == nil {
		return Enforcement{}, false, err
	}
	row, err = d.q.EnforcementGetByRuleEvent(ctx, d.db, dbsqlc.EnforcementGetByRuleEventParams{
		Rule: e.Rule, Event: e.Event,
	})
	if err != nil {
		return Enforcement{}, false, interpretError(err, fmt.Sprintf("enforcement for rule %d event %d", *e.Rule, *e.Event))
	}
	return enforcementFromRow(row), false, nil
}

// EnforcementGet returns one enforcement.
func (d *DB) EnforcementGet(ctx context.Context, id int64) (Enforcement, error) {
	row, err := d.q.EnforcementGet(ctx, d.db, id)
	if err != nil {
		return Enforcement{}, interpretError(err, fmt.Sprintf("enforcement %d", id))
	}
	return enforcementFromRow(row), nil
}

// EnforcementResolve moves an enforcement out of "created" exactly once;
// a second resolution gets domain.ErrConflict.
func (d *DB) EnforcementResolve(ctx context.Context, id int64, status string) (Enforcement, error) {
	s := dbsqlc.EnforcementStatusEnum(status)
	if !s.Valid() || s == dbsqlc.EnforcementStatusEnumCreated {
		return Enforcement{}, domain.Invalidf("status", "must be processed or disabled, got %q", status)
	}
	row, err := d.q.EnforcementUpdateStatus(ctx, d.db, dbsqlc.EnforcementUpdateStatusParams{ID: id, Status: s})
	if err == nil {
		return enforcementFromRow(row), nil
	}
	err = interpretError(err, fmt.Sprintf("enforcement %d", id))
	if !errors.Is(err, domain.ErrNotFound) {
		return Enforcement{}, err
	}
	if _, gerr := d.EnforcementGet(ctx, id); gerr != nil {
		return Enforcement{}, gerr
	}
	return Enforcement{}, domain.Conflictf("enforcement %d already resolved", id)
}
