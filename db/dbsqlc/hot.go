package dbsqlc

// HotStatements are the queries on every event's path, and the loads that
// refill the metadata caches after a change. The store prepares them on each
// new pool connection, so neither the first events after a start nor a
// connection opened under load pays the parse-and-describe round trip and
// the backend's cold catalog caches. Written by hand beside the generated
// files (sqlc leaves it alone); a renamed query fails to compile here.
var HotStatements = []string{
	// api: webhook → event
	triggerGetByWebhookKey, webhookEventIngestBatch,
	// executor: event → enforcement → scheduled execution
	eventGetWithMetadataVersion, ruleListEnabledByTriggerRef, actionGet, policyEffectiveForAction, runtimeGet,
	ruleFireScheduledBatch,
	// worker: claim → launch → result
	executionClaimDispatchBatch, metadataVersionGet, actionGetByRef, keyListForAction, executionFinishAttemptBatch,
}

// RelayStatements are the outbox relay's per-message queries, with the
// deletes of rows consumed from wake-ups (run on the relay's own pool).
var RelayStatements = []string{outboxClaimBatch, outboxDeletePublished, outboxPresent}
