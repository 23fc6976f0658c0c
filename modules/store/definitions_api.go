package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/attune-system/attune/db/dbsqlc"
)

// TriggerSetWebhook sets a trigger's webhook state (API webhook
// administration). key nil clears the key; config nil keeps the stored
// webhook_config.
func (d *DB) TriggerSetWebhook(ctx context.Context, id int64, enabled bool, key *string, config json.RawMessage) (Trigger, error) {
	row, err := d.q.TriggerSetWebhook(ctx, d.db, dbsqlc.TriggerSetWebhookParams{
		WebhookEnabled: enabled, WebhookKey: key, WebhookConfig: config, ID: id,
	})
	if err != nil {
		return Trigger{}, interpretError(err, fmt.Sprintf("trigger %d", id))
	}
	return triggerFromRow(row), nil
}

// PolicyDelete deletes one policy by id and reports whether it existed.
func (d *DB) PolicyDelete(ctx context.Context, id int64) (bool, error) {
	n, err := d.q.PolicyDelete(ctx, d.db, id)
	if err != nil {
		return false, interpretError(err, fmt.Sprintf("delete policy %d", id))
	}
	return n > 0, nil
}
