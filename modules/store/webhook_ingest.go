package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// WebhookIngest records an accepted webhook request in one statement, which
// is its own transaction: the event e, the message msg announcing it and
// the request's log row. msg.Payload must be a JSON object; the new event's
// id is added to it under "event_id". Written only while log.WebhookKey
// still belongs to the enabled, webhook-enabled trigger log.TriggerID and
// only for a new event: ok is false when nothing was written (the webhook
// was disabled meanwhile, or e's idempotency key was used before), and the
// caller then takes the transactional path, which tells the two apart.
//
// One round trip instead of five (begin, three inserts, commit) takes
// ~0.3 ms off every webhook's path to its action.
func (s *Store) WebhookIngest(ctx context.Context, e NewEvent, msg NewOutboxMessage, log WebhookLogEntry) (ev Event, ok bool, err error) {
	if e.TriggerRef == "" {
		return Event{}, false, domain.NewValidationError("trigger_ref", "must not be empty")
	}
	if err := msg.validate(true); err != nil {
		return Event{}, false, err
	}
	one := s.oneShot()
	row, err := s.q.WebhookEventIngest(ctx, s.pool, dbsqlc.WebhookEventIngestParams{
		TriggerID: log.TriggerID, WebhookKey: &log.WebhookKey, TriggerRef: e.TriggerRef, Config: e.Config,
		Payload: e.Payload, SourceRef: e.SourceRef, IdempotencyKey: e.IdempotencyKey,
		Exchange: msg.Exchange, RoutingKey: msg.RoutingKey, MessageType: msg.MessageType, Message: msg.Payload,
		AvailableAt: one.availableAt(), SourceIp: log.SourceIP, UserAgent: log.UserAgent, PayloadSizeBytes: log.PayloadSizeBytes,
		Headers: log.Headers, StatusCode: log.StatusCode, ProcessingTimeMs: log.ProcessingTimeMS,
		HmacVerified: log.HMACVerified, IpAllowed: log.IPAllowed,
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Event{}, false, nil
	}
	if err != nil {
		return Event{}, false, interpretError(err, "ingest webhook event for "+e.TriggerRef)
	}
	trig := log.TriggerID
	ev = Event{ID: row.EventID, Trigger: &trig, TriggerRef: e.TriggerRef, Config: e.Config, Payload: e.Payload,
		SourceRef: e.SourceRef, IdempotencyKey: e.IdempotencyKey, Created: row.EventCreated}
	one.committed(msg.written(row.OutboxID, msg.RoutingKey, row.OutboxPayload, row.OutboxCreated, row.OutboxAvailableAt))
	return ev, true, nil
}
