// Package bus is Attune's message bus abstraction: a small interface over a
// topic-routed, at-least-once broker with dead-lettering, plus the fixed
// topology (topology.go). Two implementations exist: bus/rabbitmq (the
// production broker) and bus/inproc (in-memory, for roles=all without a
// broker URL). bus/bustest holds the contract suite both must pass.
//
// Messages carry ids only; the database row is authoritative and consumers
// reload by id, so handlers must be idempotent.
package bus

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Message is the unit published on the bus. It is serialised as the JSON
// envelope of spec §8 (see envelope.go).
type Message struct {
	// ID is a UUID; Publish sets one when empty.
	ID string
	// Type names the payload schema, e.g. "ExecutionRequested".
	Type string
	// CorrelationID ties messages of one causal chain together.
	CorrelationID string
	// Headers carry small string metadata such as trace_id or source_service.
	Headers map[string]string
	// Payload is small JSON (ids, never large data).
	Payload json.RawMessage
	// Timestamp is set by Publish when zero.
	Timestamp time.Time
}

// Delivery is a Message as received by a consumer.
type Delivery struct {
	Message
	// Exchange and RoutingKey are the logical (un-prefixed) names the message
	// was published with.
	Exchange   string
	RoutingKey string
	// Redelivered is true when an earlier delivery of this message was not acked.
	Redelivered bool
	// Attempt counts deliveries of this message to this queue, starting at 1.
	Attempt int
}

// Handler processes one delivery. Its result decides the message's fate:
// nil acks; an error wrapping ErrPermanent dead-letters at once; any other
// error requeues, and dead-letters once Attempt reaches MaxDeliveries.
// Undecodable messages never reach a Handler: they are dead-lettered.
type Handler func(ctx context.Context, d Delivery) error

// QueueSpec describes a queue and its bindings. Names are logical: the bus
// adds its namespace prefix.
type QueueSpec struct {
	// Name of the queue.
	Name string
	// Exchange the queue is bound to (one of the topology exchanges).
	Exchange string
	// Bindings are routing-key patterns with topic semantics (* = one word,
	// # = zero or more words). Direct exchanges match them literally.
	Bindings []string
	// Prefetch bounds unacked deliveries per consumer; handlers run with up to
	// Prefetch goroutines, so ordering holds only with Prefetch 1. Default 10.
	Prefetch int
	// MaxDeliveries is the number of delivery attempts before a failing
	// message is dead-lettered. Default 5.
	MaxDeliveries int
	// MessageTTL expires (and dead-letters) messages not consumed in time.
	// Zero means no TTL.
	MessageTTL time.Duration
	// Exclusive makes a per-replica, non-durable queue deleted when its
	// consumer goes away (e.g. cache invalidation). Its messages are lost on
	// reconnect, so users must resync; it has no dead-letter queue.
	Exclusive bool
	// DeadLetterQueue names the queue receiving this queue's dead letters;
	// empty means Name+".dlq". Several queues may share one (e.g. the
	// per-worker dispatch queues share QueueDeadLetters).
	DeadLetterQueue string
}

// Defaults for QueueSpec fields left zero.
const (
	DefaultPrefetch      = 10
	DefaultMaxDeliveries = 5
)

// Consumer is a running subscription.
type Consumer interface {
	// Close stops consumption, cancels the context given to running handlers
	// and waits for them; messages not acked go back to the queue.
	Close() error
}

// Bus is the message bus used by every Attune module.
type Bus interface {
	// Publish sends m and returns only once the broker confirmed it (bounded
	// by ctx and the implementation's publish timeout). It fails with
	// ErrUnroutable when no queue is bound for the key, ErrNotConfirmed when
	// the broker refused or the confirm never came, ErrClosed after Close.
	Publish(ctx context.Context, exchange, routingKey string, m Message) error
	// Declare creates the queue, its dead-letter queue and its bindings.
	// Redeclaring with different arguments fails with ErrQueueMismatch.
	Declare(ctx context.Context, q QueueSpec) error
	// Consume declares q and starts h on its messages; it returns once the
	// subscription is active. ctx bounds only the setup: the consumer runs
	// until Close (of the Consumer or the Bus), resubscribing after broker
	// connection loss.
	Consume(ctx context.Context, q QueueSpec, h Handler) (Consumer, error)
	// TakeDeadLetters removes and returns up to max messages from the named
	// dead-letter queue (e.g. DeadLetterQueueOf(spec)). It returns without
	// waiting when the queue is empty. Meant for tests and operations.
	TakeDeadLetters(ctx context.Context, deadLetterQueue string, max int) ([]Delivery, error)
	// Ping reports whether the bus can currently publish (for /readyz).
	Ping(ctx context.Context) error
	// Close stops all consumers and releases the connection.
	Close() error
}

// Outgoing is one message of a batch publish.
type Outgoing struct {
	Exchange, RoutingKey string
	Message              Message
}

// BatchPublisher is implemented by buses that can send several messages
// before waiting for their confirms (the outbox relay uses it when present).
// Messages are sent in order; errs[i] is msgs[i]'s outcome as Publish would
// report it.
type BatchPublisher interface {
	PublishBatch(ctx context.Context, msgs []Outgoing) (errs []error)
}

// Sentinel errors shared by implementations; match them with errors.Is.
var (
	// ErrPermanent marks a handler error that must not be retried.
	ErrPermanent = errors.New("bus: permanent failure")
	// ErrClosed is returned by operations on a closed Bus or Consumer.
	ErrClosed = errors.New("bus: closed")
	// ErrUnroutable means no queue was bound for the exchange and routing key.
	ErrUnroutable = errors.New("bus: message unroutable")
	// ErrNotConfirmed means the broker did not confirm the publish.
	ErrNotConfirmed = errors.New("bus: publish not confirmed")
	// ErrUnknownExchange means the exchange is not part of the topology.
	ErrUnknownExchange = errors.New("bus: unknown exchange")
	// ErrQueueMismatch means a queue exists with different arguments.
	ErrQueueMismatch = errors.New("bus: queue exists with different arguments")
	// ErrInvalidSpec means a QueueSpec or argument failed validation.
	ErrInvalidSpec = errors.New("bus: invalid queue spec")
)

// permanentError wraps a cause so that errors.Is(err, ErrPermanent) holds
// while the cause stays reachable through errors.Is/As.
type permanentError struct{ cause error }

func (e permanentError) Error() string {
	if e.cause == nil {
		return ErrPermanent.Error()
	}
	return "permanent: " + e.cause.Error()
}

func (e permanentError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrPermanent}
	}
	return []error{ErrPermanent, e.cause}
}

// Permanent marks err as non-retryable: the handler's message is
// dead-lettered at once. Permanent(nil) is still a permanent error.
func Permanent(err error) error { return permanentError{cause: err} }
