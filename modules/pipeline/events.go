package pipeline

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/attune-system/attune/modules/bus"
	"github.com/attune-system/attune/modules/store"
)

// IngestEvent stores an event and its EventCreated outbox message in one
// transaction, so a committed event is always evaluated and an event is
// never evaluated without being committed. With an IdempotencyKey a retried
// ingestion returns the first event and created=false (and enqueues nothing).
func IngestEvent(ctx context.Context, st *store.Store, e store.NewEvent) (ev store.Event, created bool, err error) {
	err = st.InTx(ctx, func(tx *store.Tx) error {
		ev, created, err = IngestEventTx(ctx, tx, e)
		return err
	})
	return ev, created, err
}

// IngestEventTx is IngestEvent inside the caller's transaction (for callers
// that record more in the same commit, such as a timer fire).
func IngestEventTx(ctx context.Context, tx *store.Tx, e store.NewEvent) (store.Event, bool, error) {
	ev, created, err := tx.EventInsert(ctx, e)
	if err != nil || !created {
		return ev, created, err
	}
	payload, err := json.Marshal(EventCreated{EventID: ev.ID, TriggerID: ev.Trigger, TriggerRef: ev.TriggerRef, RuleID: ev.Rule})
	if err != nil {
		return ev, created, err
	}
	if _, err := tx.OutboxEnqueue(ctx, store.NewOutboxMessage{
		Exchange: bus.ExchangeEvents, RoutingKey: bus.KeyEventCreated, MessageType: TypeEventCreated, Payload: payload,
	}); err != nil {
		return ev, created, fmt.Errorf("enqueue EventCreated: %w", err)
	}
	return ev, created, nil
}

// IngestWebhookEvent records an accepted webhook request — its event, the
// EventCreated message and the request's log row — in a single statement.
// ok is false when it wrote nothing because the event may be a duplicate
// (an Idempotency-Key used before) or the webhook was disabled meanwhile:
// the caller then ingests through IngestEventTx, which tells the two apart.
func IngestWebhookEvent(ctx context.Context, st *store.Store, e store.NewEvent, log store.WebhookLogEntry) (store.Event, bool, error) {
	// EventID is filled in by the statement, which knows it first.
	payload, err := json.Marshal(EventCreated{TriggerID: e.Trigger, TriggerRef: e.TriggerRef, RuleID: e.Rule})
	if err != nil {
		return store.Event{}, false, err
	}
	return st.WebhookIngest(ctx, e, store.NewOutboxMessage{
		Exchange: bus.ExchangeEvents, RoutingKey: bus.KeyEventCreated, MessageType: TypeEventCreated, Payload: payload,
	}, log)
}

// Enqueue marshals payload and writes it to the outbox in tx.
func Enqueue(ctx context.Context, tx *store.Tx, exchange, routingKey, msgType string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("marshal %s: %w", msgType, err)
	}
	_, err = tx.OutboxEnqueue(ctx, store.NewOutboxMessage{Exchange: exchange, RoutingKey: routingKey, MessageType: msgType, Payload: b})
	return err
}
