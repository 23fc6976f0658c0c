package bus

import "time"

// This file is the single source of Attune's broker topology (spec §8).
// Every name here is logical: implementations add their namespace prefix.
//
// Upstream defects deliberately not copied:
//   - no attune.events.queue bound to "#" without a consumer;
//   - the direct DLX is used directly: each work queue dead-letters with
//     routing key = its dead-letter queue's name, and that queue is bound
//     with exactly that key (no "#" binding on a direct exchange);
//   - inquiry.created has a queue (QueueInquiryCreated).

// ExchangeKindName is an AMQP exchange type.
type ExchangeKindName string

// Exchange kinds used by the topology.
const (
	KindTopic  ExchangeKindName = "topic"
	KindDirect ExchangeKindName = "direct"
	KindFanout ExchangeKindName = "fanout"
)

// Exchanges (durable, not auto-delete).
const (
	ExchangeEvents     = "attune.events"     // event ingress, rule and pack lifecycle
	ExchangeExecutions = "attune.executions" // enforcement, scheduling, dispatch, completion, inquiry, cancel, pack tests
	ExchangeMetadata   = "attune.metadata"   // per-replica cache invalidation
	ExchangeDLX        = "attune.dlx"        // dead letters, routed by dead-letter queue name
)

// ExchangeSpec names an exchange and its kind.
type ExchangeSpec struct {
	Name string
	Kind ExchangeKindName
}

// Exchanges lists every exchange implementations must declare.
func Exchanges() []ExchangeSpec {
	return []ExchangeSpec{
		{ExchangeEvents, KindTopic},
		{ExchangeExecutions, KindTopic},
		{ExchangeMetadata, KindTopic},
		{ExchangeDLX, KindDirect},
	}
}

// ExchangeKind returns the kind of a topology exchange.
func ExchangeKind(name string) (ExchangeKindName, bool) {
	for _, e := range Exchanges() {
		if e.Name == name {
			return e.Kind, true
		}
	}
	return "", false
}

// Routing keys. Message types are the CamelCase names in comments.
const (
	KeyEventCreated       = "event.created"       // EventCreated (events)
	KeyEnforcementCreated = "enforcement.created" // EnforcementCreated (executions)
	KeyExecutionRequested = "execution.requested" // ExecutionRequested
	KeyExecutionCompleted = "execution.completed" // ExecutionCompleted
	KeyInquiryCreated     = "inquiry.created"     // InquiryCreated
	KeyInquiryResponded   = "inquiry.responded"   // InquiryResponded
	KeyPackTestRequested  = "pack.test.requested" // PackTestRequested
	KeyRuleCreated        = "rule.created"        // RuleCreated (events)
	KeyRuleEnabled        = "rule.enabled"        // RuleEnabled (events)
	KeyRuleDisabled       = "rule.disabled"       // RuleDisabled (events)
	KeyRuleDeleted        = "rule.deleted"        // RuleDeleted (events)
	KeyPackRegistered     = "pack.registered"     // PackRegistered (events)
	KeyPackDeleted        = "pack.deleted"        // PackDeleted (events)
)

// KeyExecutionDispatch is the routing key of ExecutionDispatch messages for
// one worker (executions exchange).
func KeyExecutionDispatch(workerID string) string { return "execution.dispatch.worker." + workerID }

// KeyExecutionCancel is the routing key of ExecutionCancelRequested messages
// for one worker (executions exchange).
func KeyExecutionCancel(workerID string) string { return "execution.cancel.worker." + workerID }

// KeyPackTestDispatch is the routing key of pack-test dispatches for one worker.
func KeyPackTestDispatch(workerID string) string { return "pack.test.dispatch.worker." + workerID }

// KeyMetadataChanged is the cache-invalidation key for a kind such as
// "action", "runtime", "pack", "permission_set", "identity_authorization" or
// "trigger" (metadata exchange).
func KeyMetadataChanged(kind string) string { return "metadata." + kind + ".changed" }

// Fixed queue names.
const (
	QueueExecutorEvents    = "attune.executor.events.queue"
	QueueEnforcements      = "attune.enforcements.queue"
	QueueExecutionRequests = "attune.execution.requests.queue"
	QueueExecutionComplete = "attune.execution.completed.queue"
	QueueInquiryCreated    = "attune.inquiry.created.queue"
	QueueInquiryResponses  = "attune.inquiry.responses.queue"
	QueuePackTests         = "attune.pack.tests.queue"
	QueueRulesLifecycle    = "attune.rules.lifecycle.queue"
	// QueueDeadLetters receives expired per-worker dispatches; the
	// DeadLetterHandler fails those still "scheduled".
	QueueDeadLetters = "attune.dlx.queue"
)

// WorkerDispatchTTL is how long a dispatch may wait in a worker queue before
// it expires to QueueDeadLetters.
const WorkerDispatchTTL = 300 * time.Second

// Fixed queue specs. Prefetch 10 unless noted, MaxDeliveries default.
var (
	SpecExecutorEvents    = QueueSpec{Name: QueueExecutorEvents, Exchange: ExchangeEvents, Bindings: []string{KeyEventCreated}}
	SpecEnforcements      = QueueSpec{Name: QueueEnforcements, Exchange: ExchangeExecutions, Bindings: []string{"enforcement.#"}}
	SpecExecutionRequests = QueueSpec{Name: QueueExecutionRequests, Exchange: ExchangeExecutions, Bindings: []string{KeyExecutionRequested}}
	SpecExecutionComplete = QueueSpec{Name: QueueExecutionComplete, Exchange: ExchangeExecutions, Bindings: []string{KeyExecutionCompleted}}
	SpecInquiryCreated    = QueueSpec{Name: QueueInquiryCreated, Exchange: ExchangeExecutions, Bindings: []string{KeyInquiryCreated}}
	SpecInquiryResponses  = QueueSpec{Name: QueueInquiryResponses, Exchange: ExchangeExecutions, Bindings: []string{KeyInquiryResponded}}
	SpecPackTests         = QueueSpec{Name: QueuePackTests, Exchange: ExchangeExecutions, Bindings: []string{KeyPackTestRequested}, Prefetch: 5}
	SpecRulesLifecycle    = QueueSpec{Name: QueueRulesLifecycle, Exchange: ExchangeEvents, Bindings: []string{
		KeyRuleCreated, KeyRuleEnabled, KeyRuleDisabled, KeyRuleDeleted, KeyPackRegistered, KeyPackDeleted}}
	SpecDeadLetters = QueueSpec{Name: QueueDeadLetters, Exchange: ExchangeDLX, Bindings: []string{QueueDeadLetters}}
)

// FixedQueues returns copies of all fixed queue specs. Publishes are
// mandatory, so every routing key something publishes must reach one of
// them.
func FixedQueues() []QueueSpec {
	return []QueueSpec{
		SpecExecutorEvents, SpecEnforcements, SpecExecutionRequests,
		SpecExecutionComplete, SpecInquiryCreated, SpecInquiryResponses, SpecPackTests,
		SpecRulesLifecycle, SpecDeadLetters,
	}
}

// WorkerQueues returns the durable per-worker queues for worker id.
func WorkerQueues(workerID string) (executions, packs, cancel, packTests QueueSpec) {
	prefix := "worker." + workerID
	executions = QueueSpec{Name: prefix + ".executions", Exchange: ExchangeExecutions,
		Bindings: []string{KeyExecutionDispatch(workerID)}, MessageTTL: WorkerDispatchTTL,
		DeadLetterQueue: QueueDeadLetters}
	packs = QueueSpec{Name: prefix + ".packs", Exchange: ExchangeEvents,
		Bindings: []string{KeyPackRegistered, KeyPackDeleted}}
	cancel = QueueSpec{Name: prefix + ".cancel", Exchange: ExchangeExecutions,
		Bindings: []string{KeyExecutionCancel(workerID)}}
	packTests = QueueSpec{Name: prefix + ".packtests", Exchange: ExchangeExecutions,
		Bindings: []string{KeyPackTestDispatch(workerID)}}
	return executions, packs, cancel, packTests
}

// MetadataQueue returns the exclusive per-replica cache-invalidation queue.
func MetadataQueue(replicaID string) QueueSpec {
	return QueueSpec{Name: "attune.metadata." + replicaID, Exchange: ExchangeMetadata,
		Bindings: []string{"metadata.*.changed"}, Exclusive: true}
}
