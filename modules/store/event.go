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

// Event is an immutable record of a trigger firing.
type Event struct {
	ID             int64
	Trigger        *int64
	TriggerRef     string
	Config         json.RawMessage
	Payload        json.RawMessage
	Source         *int64
	SourceRef      *string
	Rule           *int64
	RuleRef        *string
	IdempotencyKey *string
	Created        time.Time
}

func eventFromRow(r dbsqlc.Event) Event {
	return Event{
		ID: r.ID, Trigger: r.Trigger, TriggerRef: r.TriggerRef, Config: r.Config, Payload: r.Payload,
		Source: r.Source, SourceRef: r.SourceRef, Rule: r.Rule, RuleRef: r.RuleRef,
		IdempotencyKey: r.IdempotencyKey, Created: r.Created,
	}
}

// NewEvent is the input to EventInsert.
type NewEvent struct {
	Trigger    *int64
	TriggerRef string
	Config     json.RawMessage
	Payload    json.RawMessage
	Source     *int64
	SourceRef  *string
	Rule       *int64
	RuleRef    *string
	// IdempotencyKey, when set, makes the insert idempotent per SourceRef.
	IdempotencyKey *string
}

// EventInsert stores an event. When an event with the same (SourceRef,
// IdempotencyKey) exists it returns that one and created=false, so a retried
// ingestion yields exactly one row.
func (d *DB) EventInsert(ctx context.Context, e NewEvent) (ev Event, created bool, err error) {
	if e.TriggerRef == "" {
		return Event{}, false, domain.NewValidationError("trigger_ref", "must not be empty")
	}
	row, err := d.q.EventInsert(ctx, d.db, dbsqlc.EventInsertParams{
		Trigger: e.Trigger, TriggerRef: e.TriggerRef, Config: e.Config, Payload: e.Payload, Source: e.Source,
		SourceRef: e.SourceRef, Rule: e.Rule, RuleRef: e.RuleRef, IdempotencyKey: e.IdempotencyKey,
	})
	if err == nil {
		return eventFromRow(row), true, nil
	}
	err = interpretError(err, "insert event for "+e.TriggerRef)
	if !errors.Is(err, domain.ErrNotFound) || e.IdempotencyKey == nil {
		return Event{}, false, err
	}
	// ON CONFLICT DO NOTHING returned no row: the key was used before.
	row, err = d.q.EventGetByIdempotencyKey(ctx, d.db, dbsqlc.EventGetByIdempotencyKeyParams{
		SourceRef: e.SourceRef, IdempotencyKey: e.IdempotencyKey,
	})
	if err != nil {
		return Event{}, false, interpretError(err, "event with idempotency key "+*e.IdempotencyKey)
	}
	return eventFromRow(row), false, nil
}

// EventGet returns one event.
func (d *DB) EventGet(ctx context.Context, id int64) (Event, error) {
	row, err := d.q.EventGet(ctx, d.db, id)
	if err != nil {
		return Event{}, interpretError(err, fmt.Sprintf("event %d", id))
	}
	return eventFromRow(row), nil
}

// EventGetWithMetadataVersion reads an event and, in the same statement,
// the metadata version (see MetadataVersion) its evaluation may rely on.
func (d *DB) EventGetWithMetadataVersion(ctx context.Context, id int64) (Event, int64, error) {
	row, err := d.q.EventGetWithMetadataVersion(ctx, d.db, id)
	if err != nil {
		return Event{}, 0, interpretError(err, fmt.Sprintf("event %d", id))
	}
	return eventFromRow(row.Event), row.MetadataVersion, nil
}
