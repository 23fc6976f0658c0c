-- name: EnforcementInsert :one
-- Returns no row when this (rule, event) pair already has an enforcement, so
-- re-evaluating an event never fires a rule twice. An enforcement resolved
-- in its creating transaction is inserted with its final status.
INSERT INTO enforcement (rule, rule_ref, trigger_ref, config, event, status, resolved_at, payload, condition, conditions)
VALUES (sqlc.narg(rule), @rule_ref, @trigger_ref, sqlc.narg(config), sqlc.narg(event),
        coalesce(sqlc.narg(status)::enforcement_status_enum, 'created'),
        CASE WHEN coalesce(sqlc.narg(status)::enforcement_status_enum, 'created') <> 'created' THEN now() END,
        coalesce(sqlc.narg(payload)::jsonb, '{}'),
        coalesce(sqlc.narg(condition)::enforcement_condition_enum, 'all'),
        coalesce(sqlc.narg(conditions)::jsonb, '[]'))
ON CONFLICT ON CONSTRAINT enforcement_rule_event_uniq DO NOTHING
RETURNING *;

-- name: EnforcementGet :one
SELECT * FROM enforcement WHERE id = @id;

-- name: EnforcementGetByRuleEvent :one
SELECT * FROM enforcement WHERE rule = @rule AND event = @event;

-- name: EnforcementListByEvent :many
SELECT * FROM enforcement WHERE event = @event ORDER BY id;

-- name: EnforcementUpdateStatus :one
-- Compare-and-set from 'created': resolution happens exactly once.
UPDATE enforcement SET status = @status, resolved_at = now()
WHERE id = @id AND status = 'created'
RETURNING *;

-- name: EnforcementListFiltered :many
-- API list: newest first, offset pages; filters are optional.
SELECT * FROM enforcement
WHERE (sqlc.narg(rule_ref)::text IS NULL OR rule_ref = sqlc.narg(rule_ref)::text)
  AND (sqlc.narg(trigger_ref)::text IS NULL OR trigger_ref = sqlc.narg(trigger_ref)::text)
  AND (sqlc.narg(event)::bigint IS NULL OR event = sqlc.narg(event)::bigint)
  AND (sqlc.narg(status)::enforcement_status_enum IS NULL OR status = sqlc.narg(status)::enforcement_status_enum)
ORDER BY id DESC
LIMIT @page_limit OFFSET @page_offset;

-- name: EnforcementCountFiltered :one
SELECT count(*) FROM enforcement
WHERE (sqlc.narg(rule_ref)::text IS NULL OR rule_ref = sqlc.narg(rule_ref)::text)
  AND (sqlc.narg(trigger_ref)::text IS NULL OR trigger_ref = sqlc.narg(trigger_ref)::text)
  AND (sqlc.narg(event)::bigint IS NULL OR event = sqlc.narg(event)::bigint)
  AND (sqlc.narg(status)::enforcement_status_enum IS NULL OR status = sqlc.narg(status)::enforcement_status_enum);

-- name: RuleFireScheduledBatch :many
-- The common rule firing, one statement for all the firings waiting together
-- (group commit, see store.RuleFireScheduled; one round trip and commit
-- instead of seven per firing): for each, the worker choice
-- (attune_pick_workers, which places the group's firings one after another,
-- @runtimes holding each one's runtime names), the enforcement, already processed; its execution,
-- already scheduled on that worker; and the dispatch message (the firing's
-- "message" with the execution's id, fence and worker added, routed to
-- @routing_key_prefix || worker). @rows is a JSON array of one object per
-- firing; the result's "i" is its position (from 1), one row each. The
-- caller has resolved the parameters and checked that no policy governs
-- the action. worker 0: none is eligible, nothing was written. No
-- enforcement id: this (rule, event) already has an enforcement (or one
-- earlier in @rows has it), nothing was written. Enforcement ids are taken
-- before the inserts so each firing's execution and message join back to it.
WITH picks AS (
    SELECT attune_pick_workers(@stale_after_seconds::float8, @runtimes::jsonb) AS workers
), input AS (
    SELECT r.i::int AS i, r.doc AS d, (picks.workers ->> (r.i::int - 1))::bigint AS worker,
           nextval('enforcement_id_seq') AS enforcement_id
    FROM jsonb_array_elements(@rows::jsonb) WITH ORDINALITY AS r(doc, i) CROSS JOIN picks
), enf AS (
    INSERT INTO enforcement (id, rule, rule_ref, trigger_ref, config, event, status, resolved_at, payload, condition, conditions)
    SELECT input.enforcement_id, (input.d->>'rule')::bigint, input.d->>'rule_ref', input.d->>'trigger_ref',
           input.d->'enforcement_config', (input.d->>'event')::bigint, 'processed', now(),
           coalesce(input.d->'payload', '{}'), 'all', coalesce(input.d->'conditions', '[]')
    FROM input WHERE input.worker IS NOT NULL
    ORDER BY input.i
    ON CONFLICT ON CONSTRAINT enforcement_rule_event_uniq DO NOTHING
    RETURNING enforcement.id
), ex AS (
    INSERT INTO execution (action, action_ref, config, env_vars, enforcement, executor, permission_set_refs,
                           status, worker, timeout_seconds, workflow_def, retry_count, max_retries)
    SELECT (input.d->>'action')::bigint, input.d->>'action_ref', input.d->'execution_config', '{}', enf.id,
           coalesce((input.d->>'executor')::bigint,
                    CASE WHEN (input.d->>'as_system')::boolean THEN (SELECT i.id FROM identity i WHERE i.login = 'system') END),
           ARRAY(SELECT jsonb_array_elements_text(coalesce(input.d->'permission_set_refs', '[]'))), 'scheduled',
           input.worker, (input.d->>'timeout_seconds')::int, (input.d->>'workflow_def')::bigint, 0,
           (input.d->>'max_retries')::int
    FROM enf JOIN input ON input.enforcement_id = enf.id
    RETURNING execution.id, execution.fence, execution.worker, execution.enforcement
), ob AS (
    INSERT INTO outbox (exchange, routing_key, message_type, payload, available_at)
    SELECT @exchange, @routing_key_prefix::text || ex.worker::text, @message_type,
           (input.d->'message') || jsonb_build_object('execution_id', ex.id, 'fence', ex.fence, 'worker_id', ex.worker),
           coalesce(sqlc.narg(available_at)::timestamptz, now())
    FROM ex JOIN input ON input.enforcement_id = ex.enforcement
    RETURNING outbox.id, outbox.routing_key, outbox.payload, outbox.created, outbox.available_at,
              (outbox.payload->>'execution_id')::bigint AS execution_id
)
SELECT input.i, coalesce(input.worker, 0)::bigint AS worker, enf.id AS enforcement_id, ex.id AS execution_id, ex.fence,
       ob.id AS outbox_id, ob.routing_key AS outbox_routing_key, ob.payload AS outbox_payload,
       ob.created AS outbox_created, ob.available_at AS outbox_available_at
FROM input
LEFT JOIN enf ON enf.id = input.enforcement_id
LEFT JOIN ex ON ex.enforcement = enf.id
LEFT JOIN ob ON ob.execution_id = ex.id
ORDER BY input.i;

