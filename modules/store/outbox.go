package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/attune-system/attune/db/dbsqlc"
	"github.com/attune-system/attune/modules/domain"
)

// OutboxMessage is a message waiting to be relayed to the bus.
type OutboxMessage struct {
	ID          int64
	Exchange    string
	RoutingKey  string
	MessageType string
	Payload     json.RawMessage
	Created     time.Time
	AvailableAt time.Time
	Attempts    int32
	LastError   *string
}

// NewOutboxMessage is what a state change enqueues. Payload must be JSON and
// should carry ids, not whole rows (the database stays the source of truth).
type NewOutboxMessage struct {
	Exchange    string
	RoutingKey  string
	MessageType string
	Payload     json.RawMessage
	// AvailableAt delays relaying; zero means now.
	AvailableAt time.Time
}

// validate checks m before it is written; object additionally requires a
// JSON object, for statements that add fields to it.
func (m NewOutboxMessage) validate(object bool) error {
	switch {
	case m.Exchange == "":
		return domain.NewValidationError("exchange", "must not be empty")
	case m.MessageType == "":
		return domain.NewValidationError("message_type", "must not be empty")
	case !json.Valid(m.Payload):
		return domain.NewValidationError("payload", "must be valid JSON")
	case object && m.Payload[0] != '{':
		return domain.NewValidationError("payload", "must be a JSON object")
	}
	return nil
}

// sameKind says whether m and o are messages of one kind (exchange, routing
// key, type): a group statement writes the messages of its rows with one set
// of these parameters.
func (m NewOutboxMessage) sameKind(o NewOutboxMessage) bool {
	return m.Exchange == o.Exchange && m.RoutingKey == o.RoutingKey && m.MessageType == o.MessageType
}

// written is m as the single statement that inserted it returned it (with
// the routing key and payload the statement completed), for the commit hook.
func (m NewOutboxMessage) written(id int64, routingKey string, payload json.RawMessage, created, availableAt time.Time) OutboxMessage {
	return OutboxMessage{ID: id, Exchange: m.Exchange, RoutingKey: routingKey, MessageType: m.MessageType,
		Payload: payload, Created: created, AvailableAt: availableAt}
}

func outboxFromRow(r dbsqlc.Outbox) OutboxMessage {
	return OutboxMessage{
		ID: r.ID, Exchange: r.Exchange, RoutingKey: r.RoutingKey, MessageType: r.MessageType,
		Payload: r.Payload, Created: r.Created, AvailableAt: r.AvailableAt, Attempts: r.Attempts,
		LastError: r.LastError,
	}
}

// OutboxEnqueue records a message in the caller's transaction, so it exists
// if and only if the state change it announces commits. It is defined on Tx
// alone so that a message can never be written outside one.
func (t *Tx) OutboxEnqueue(ctx context.Context, m NewOutboxMessage) (OutboxMessage, error) {
	if err := m.validate(false); err != nil {
		return OutboxMessage{}, err
	}
	due := m.AvailableAt.IsZero()
	at := t.one.availableAt()
	if !due {
		at = &m.AvailableAt
	}
	row, err := t.q.OutboxInsert(ctx, t.db, dbsqlc.OutboxInsertParams{
		Exchange: m.Exchange, RoutingKey: m.RoutingKey, MessageType: m.MessageType,
		Payload: m.Payload, AvailableAt: at,
	})
	if err != nil {
		return OutboxMessage{}, interpretError(err, "enqueue outbox message")
	}
	msg := outboxFromRow(row)
	if due && t.pending != nil {
		*t.pending = append(*t.pending, msg)
	}
	return msg, nil
}

// OutboxClaimBatch claims up to limit due messages for this relay and hides
// them from other relays for lease. Concurrent callers never receive the same
// row; a row comes back only after its lease lapses unpublished. Messages are
// returned in id order.
func (s *Store) OutboxClaimBatch(ctx context.Context, limit int32, lease time.Duration) ([]OutboxMessage, error) {
	if limit <= 0 {
		return nil, domain.NewValidationError("limit", "must be positive")
	}
	if lease <= 0 {
		return nil, domain.NewValidationError("lease", "must be positive")
	}
	rows, err := s.q.OutboxClaimBatch(ctx, s.relaxed, dbsqlc.OutboxClaimBatchParams{
		BatchSize: limit, LeaseSeconds: lease.Seconds(),
	})
	if err != nil {
		return nil, interpretError(err, "claim outbox batch")
	}
	out := make([]OutboxMessage, len(rows))
	for i, r := range rows {
		out[i] = outboxFromRow(r)
	}
	// UPDATE ... RETURNING has no defined order; relays publish in id order.
	slices.SortFunc(out, func(a, b OutboxMessage) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// OutboxDeletePublished removes messages the broker confirmed; call it only
// after the confirm. It returns how many were still there.
func (s *Store) OutboxDeletePublished(ctx context.Context, ids ...int64) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	n, err := s.q.OutboxDeletePublished(ctx, s.relaxed, ids)
	if err != nil {
		return 0, interpretError(err, "delete published outbox rows")
	}
	return n, nil
}

// OutboxMarkFailed records a failed publish and makes the message due again
// after retryAfter.
func (s *Store) OutboxMarkFailed(ctx context.Context, id int64, retryAfter time.Duration, cause error) error {
	msg := "unknown error"
	if cause != nil {
		msg = cause.Error()
	}
	n, err := s.q.OutboxMarkFailed(ctx, s.relaxed, dbsqlc.OutboxMarkFailedParams{
		ID: id, LastError: &msg, RetryAfterSeconds: retryAfter.Seconds(),
	})
	if err != nil {
		return interpretError(err, fmt.Sprintf("mark outbox message %d failed", id))
	}
	if n == 0 {
		return domain.NotFoundf("unpublished outbox message %d", id)
	}
	return nil
}

// OutboxGet returns one message by id.
func (d *DB) OutboxGet(ctx context.Context, id int64) (OutboxMessage, error) {
	row, err := d.q.OutboxGet(ctx, d.db, id)
	if err != nil {
		return OutboxMessage{}, interpretError(err, fmt.Sprintf("outbox message %d", id))
	}
	return outboxFromRow(row), nil
}

// OutboxCountPending counts messages not yet published (a relay-lag gauge).
func (d *DB) OutboxCountPending(ctx context.Context) (int64, error) {
	n, err := d.q.OutboxCountPending(ctx, d.db)
	return n, interpretError(err, "count pending outbox")
}
