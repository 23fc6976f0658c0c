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

// Enqueue marshals payload and writes it to the outbox in tx.
func Enqueue(ctx context.Context, tx *store.Tx, exchange, routingKey, msgType string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("marshal %s: %w", msgType, err)
	}
	_, err = tx.OutboxEnqueue(ctx, store.NewOutboxMessage{Exchange: exchange, RoutingKey: routingKey, MessageType: msgType, Payload: b})
	return err
}
