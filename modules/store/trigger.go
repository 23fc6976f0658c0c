package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
)

// Trigger mirrors one row of the trigger table.
type Trigger struct {
	ID                       int64
	Ref                      string
	Pack                     *int64
	PackRef                  *string
	Label                    string
	Description              *string
	Enabled                  bool
	IsAdhoc                  bool
	ParamSchema              json.RawMessage
	OutSchema                json.RawMessage
	WebhookEnabled           bool
	WebhookKey               *string
	WebhookConfig            json.RawMessage
	Sensor                   *int64
	SensorRef                *string
	ReferenceVisibility      string
	ReferenceAllowedPackRefs []string
	Created                  time.Time
	Updated                  time.Time
}

func triggerFromRow(r dbsqlc.Trigger) Trigger {
	return Trigger{
		ID:                       r.ID,
		Ref:                      r.Ref,
		Pack:                     r.Pack,
		PackRef:                  r.PackRef,
		Label:                    r.Label,
		Description:              r.Description,
		Enabled:                  r.Enabled,
		IsAdhoc:                  r.IsAdhoc,
		ParamSchema:              r.ParamSchema,
		OutSchema:                r.OutSchema,
		WebhookEnabled:           r.WebhookEnabled,
		WebhookKey:               r.WebhookKey,
		WebhookConfig:            r.WebhookConfig,
		Sensor:                   r.Sensor,
		SensorRef:                r.SensorRef,
		ReferenceVisibility:      string(r.ReferenceVisibility),
		ReferenceAllowedPackRefs: r.ReferenceAllowedPackRefs,
		Created:                  r.Created,
		Updated:                  r.Updated,
	}
}

func triggersFromRows(rows []dbsqlc.Trigger) []Trigger {
	out := make([]Trigger, len(rows))
	for i, r := range rows {
		out[i] = triggerFromRow(r)
	}
	return out
}

// TriggerGet returns one trigger by id.
func (d *DB) TriggerGet(ctx context.Context, id int64) (Trigger, error) {
	row, err := d.q.TriggerGet(ctx, d.db, id)
	if err != nil {
		return Trigger{}, interpretError(err, fmt.Sprintf("trigger %d", id))
	}
	return triggerFromRow(row), nil
}

// TriggerGetByRef returns one trigger by ref.
func (d *DB) TriggerGetByRef(ctx context.Context, ref string) (Trigger, error) {
	row, err := d.q.TriggerGetByRef(ctx, d.db, ref)
	if err != nil {
		return Trigger{}, interpretError(err, fmt.Sprintf("trigger %q", ref))
	}
	return triggerFromRow(row), nil
}

// TriggerDelete deletes one trigger by id and reports whether it existed.
func (d *DB) TriggerDelete(ctx context.Context, id int64) (bool, error) {
	n, err := d.q.TriggerDelete(ctx, d.db, id)
	if err != nil {
		return false, interpretError(err, fmt.Sprintf("delete trigger %d", id))
	}
	return n > 0, nil
}

// TriggerUpsert inserts or updates the trigger with x.Ref (id and timestamps are ignored).
func (d *DB) TriggerUpsert(ctx context.Context, x Trigger) (Trigger, error) {
	row, err := d.q.TriggerUpsert(ctx, d.db, dbsqlc.TriggerUpsertParams{
		Ref:                      x.Ref,
		Pack:                     x.Pack,
		PackRef:                  x.PackRef,
		Label:                    x.Label,
		Description:              x.Description,
		Enabled:                  x.Enabled,
		IsAdhoc:                  x.IsAdhoc,
		ParamSchema:              x.ParamSchema,
		OutSchema:                x.OutSchema,
		WebhookEnabled:           x.WebhookEnabled,
		WebhookKey:               x.WebhookKey,
		WebhookConfig:            x.WebhookConfig,
		Sensor:                   x.Sensor,
		SensorRef:                x.SensorRef,
		ReferenceVisibility:      visibilityParam(x.ReferenceVisibility),
		ReferenceAllowedPackRefs: x.ReferenceAllowedPackRefs,
	})
	if err != nil {
		return Trigger{}, interpretError(err, fmt.Sprintf("upsert trigger %q", x.Ref))
	}
	return triggerFromRow(row), nil
}

// TriggerList lists every trigger.
func (d *DB) TriggerList(ctx context.Context) ([]Trigger, error) {
	rows, err := d.q.TriggerList(ctx, d.db)
	if err != nil {
		return nil, interpretError(err, "list triggers")
	}
	return triggersFromRows(rows), nil
}

// TriggerGetByWebhookKey returns the trigger a webhook key belongs to.
func (d *DB) TriggerGetByWebhookKey(ctx context.Context, key string) (Trigger, error) {
	row, err := d.q.TriggerGetByWebhookKey(ctx, d.db, &key)
	if err != nil {
		return Trigger{}, interpretError(err, "webhook")
	}
	return triggerFromRow(row), nil
}
