// Package pipeline holds the operations and message payloads that several
// modules share along the event → rule → execution path. Modules never import
// each other; they meet here, in the store and on the bus.
//
// Every message carries ids: the database row is authoritative and each
// consumer reloads it, so a duplicate or stale message is harmless. The one
// exception is EventCreated's optional snapshot of an immutable event,
// written by the statement that committed it.
package pipeline

import (
	"encoding/json"
	"time"
)

// Message types (the bus envelope's message_type).
const (
	TypeEventCreated       = "EventCreated"
	TypeEnforcementCreated = "EnforcementCreated"
	TypeExecutionRequested = "ExecutionRequested"
	TypeExecutionDispatch  = "ExecutionDispatch"
	TypeExecutionCompleted = "ExecutionCompleted"
	TypeExecutionCancel    = "ExecutionCancelRequested"
	TypeRuleCreated        = "RuleCreated"
	TypeRuleEnabled        = "RuleEnabled"
	TypeRuleDisabled       = "RuleDisabled"
	TypeRuleDeleted        = "RuleDeleted"
	TypePackRegistered     = "PackRegistered"
	TypePackDeleted        = "PackDeleted"
	TypeInquiryCreated     = "InquiryCreated"
	TypeInquiryResponded   = "InquiryResponded"
)

// EventCreated announces a committed event (routing key event.created).
type EventCreated struct {
	EventID    int64  `json:"event_id"`
	TriggerID  *int64 `json:"trigger_id,omitempty"`
	TriggerRef string `json:"trigger_ref"`
	RuleID     *int64 `json:"rule_id,omitempty"`
	// Snapshot, when set, lets the executor evaluate the event without
	// reading it back: events are immutable, and the snapshot is written by
	// the statement that committed the event (store.WebhookIngest; only
	// for payloads up to 8 KiB). Absent: read the event.
	Snapshot *EventSnapshot `json:"snapshot,omitempty"`
	// OutboxID is set on a wake-up only (migration 00007): the outbox row
	// holding the broker's copy, which the executor deletes once it
	// evaluated the event so that the copy is never published.
	OutboxID int64 `json:"outbox_id,omitempty"`
}

// EventSnapshot is a committed event's payload and creation time, with the
// metadata_version read in the statement that wrote it: rules, actions and
// policies as of the event's ingestion decide it.
type EventSnapshot struct {
	Payload         json.RawMessage `json:"payload"`
	Created         time.Time       `json:"created"`
	MetadataVersion int64           `json:"metadata_version"`
}

// EnforcementCreated announces a committed enforcement.
type EnforcementCreated struct {
	EnforcementID int64  `json:"enforcement_id"`
	RuleID        *int64 `json:"rule_id,omitempty"`
	RuleRef       string `json:"rule_ref"`
	EventID       int64  `json:"event_id"`
	TriggerRef    string `json:"trigger_ref"`
}

// ExecutionRequested asks the scheduler to admit and place an execution.
type ExecutionRequested struct {
	ExecutionID int64  `json:"execution_id"`
	ActionRef   string `json:"action_ref"`
	// WaitingSince is set on the scheduler's own delayed re-requests while no
	// worker is eligible; the execution fails as unschedulable once it is
	// older than the configured bound.
	WaitingSince *time.Time `json:"waiting_since,omitempty"`
	// Retry numbers those re-requests, for their backoff.
	Retry int `json:"retry,omitempty"`
}

// ExecutionDispatch hands an execution to one worker (routing key
// execution.dispatch.worker.<id>). Fence is the execution's fence when it was
// scheduled: a worker claims only if the row still carries it.
type ExecutionDispatch struct {
	ExecutionID int64  `json:"execution_id"`
	WorkerID    int64  `json:"worker_id"`
	ActionRef   string `json:"action_ref"`
	Fence       int64  `json:"fence"`
	// RuleRef and TriggerRef, when set, are the refs of the enforcement
	// that started the execution (ATTUNE_RULE, ATTUNE_TRIGGER), so the
	// worker need not read it on the way to the launch. Enforcements are
	// immutable in these fields; empty means "read it".
	RuleRef    string `json:"rule_ref,omitempty"`
	TriggerRef string `json:"trigger_ref,omitempty"`
	// OutboxID is set on a wake-up only (migration 00007): the outbox row
	// holding the broker's copy, which the worker's claim deletes in its own
	// statement so that the copy is never published.
	OutboxID int64 `json:"outbox_id,omitempty"`
}

// ExecutionCompleted announces that an execution reached a terminal state.
type ExecutionCompleted struct {
	ExecutionID int64     `json:"execution_id"`
	ActionRef   string    `json:"action_ref"`
	Status      string    `json:"status"`
	CompletedAt time.Time `json:"completed_at"`
}

// ExecutionCancel asks the worker running an execution to stop it.
type ExecutionCancel struct {
	ExecutionID int64 `json:"execution_id"`
	WorkerID    int64 `json:"worker_id"`
}

// RuleLifecycle announces rule.created/enabled/disabled/deleted so sensors
// start and stop the timers and processes rules need.
type RuleLifecycle struct {
	RuleID        int64  `json:"rule_id"`
	RuleRef       string `json:"rule_ref"`
	TriggerRef    string `json:"trigger_ref"`
	TriggerParams any    `json:"trigger_params,omitempty"`
	Enabled       bool   `json:"enabled"`
}

// PackChanged announces pack.registered / pack.deleted.
type PackChanged struct {
	PackID  int64  `json:"pack_id"`
	PackRef string `json:"pack_ref"`
	Version string `json:"version,omitempty"`
}
