package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
)

// WebhookLogEntry is one webhook_event_log row: the outcome of one request to
// POST /api/v1/webhooks/{key}, accepted or rejected.
type WebhookLogEntry struct {
	ID               int64
	TriggerID        int64
	TriggerRef       string
	WebhookKey       string
	EventID          *int64
	SourceIP         *string
	UserAgent        *string
	PayloadSizeBytes *int32
	Headers          json.RawMessage
	StatusCode       *int32
	ErrorMessage     *string
	ProcessingTimeMS *int32
	HMACVerified     *bool
	RateLimited      bool
	IPAllowed        *bool
	Created          time.Time
}

// WebhookLogInsert records a request outcome (rejected requests; accepted
// ones use WebhookLogInsertIfEnabled inside the event's transaction).
func (d *DB) WebhookLogInsert(ctx context.Context, e WebhookLogEntry) error {
	_, err := d.q.WebhookEventLogInsert(ctx, d.db, dbsqlc.WebhookEventLogInsertParams{
		TriggerID: e.TriggerID, TriggerRef: e.TriggerRef, WebhookKey: e.WebhookKey, EventID: e.EventID,
		SourceIp: e.SourceIP, UserAgent: e.UserAgent, PayloadSizeBytes: e.PayloadSizeBytes, Headers: e.Headers,
		StatusCode: e.StatusCode, ErrorMessage: e.ErrorMessage, ProcessingTimeMs: e.ProcessingTimeMS,
		HmacVerified: e.HMACVerified, RateLimited: e.RateLimited, IpAllowed: e.IPAllowed,
	})
	return interpretError(err, "insert webhook log")
}

// WebhookLogInsertIfEnabled records an accepted request only while
// e.WebhookKey still belongs to the enabled, webhook-enabled trigger
// e.TriggerID. It returns domain.ErrNotFound otherwise (the webhook was
// disabled or its key regenerated meanwhile), so the caller can roll back the
// event it wrote in the same transaction.
func (d *DB) WebhookLogInsertIfEnabled(ctx context.Context, e WebhookLogEntry) error {
	_, err := d.q.WebhookEventLogInsertIfEnabled(ctx, d.db, dbsqlc.WebhookEventLogInsertIfEnabledParams{
		TriggerID: e.TriggerID, WebhookKey: e.WebhookKey, EventID: e.EventID,
		SourceIp: e.SourceIP, UserAgent: e.UserAgent, PayloadSizeBytes: e.PayloadSizeBytes, Headers: e.Headers,
		StatusCode: e.StatusCode, ErrorMessage: e.ErrorMessage, ProcessingTimeMs: e.ProcessingTimeMS,
		HmacVerified: e.HMACVerified, IpAllowed: e.IPAllowed,
	})
	return interpretError(err, "webhook")
}

// WebhookLogCountRecent counts requests from sourceIP to (trigger, key)
// within window that were not themselves rate limited (spec §5.3 step 6).
func (d *DB) WebhookLogCountRecent(ctx context.Context, triggerID int64, key, sourceIP string, window time.Duration) (int64, error) {
	n, err := d.q.WebhookEventLogCountRecent(ctx, d.db, dbsqlc.WebhookEventLogCountRecentParams{
		TriggerID: triggerID, WebhookKey: key, SourceIp: &sourceIP, WindowSeconds: window.Seconds(),
	})
	return n, interpretError(err, "count webhook requests")
}

// WebhookLogListByTrigger returns the newest limit log rows of a trigger.
func (d *DB) WebhookLogListByTrigger(ctx context.Context, triggerID int64, limit int32) ([]WebhookLogEntry, error) {
	rows, err := d.q.WebhookEventLogListByTrigger(ctx, d.db, dbsqlc.WebhookEventLogListByTriggerParams{TriggerID: triggerID, PageSize: limit})
	if err != nil {
		return nil, interpretError(err, "list webhook log")
	}
	out := make([]WebhookLogEntry, len(rows))
	for i, r := range rows {
		out[i] = WebhookLogEntry{ID: r.ID, TriggerID: r.TriggerID, TriggerRef: r.TriggerRef, WebhookKey: r.WebhookKey,
			EventID: r.EventID, SourceIP: r.SourceIp, UserAgent: r.UserAgent, PayloadSizeBytes: r.PayloadSizeBytes,
			Headers: r.Headers, StatusCode: r.StatusCode, ErrorMessage: r.ErrorMessage, ProcessingTimeMS: r.ProcessingTimeMs,
			HMACVerified: r.HmacVerified, RateLimited: r.RateLimited, IPAllowed: r.IpAllowed, Created: r.Created}
	}
	return out, nil
}
