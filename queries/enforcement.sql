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

-- name: RuleFireScheduled :one
-- The common rule firing in one statement (one round trip and commit
-- instead of seven): the worker choice (attune_pick_worker), the
-- enforcement, already processed; its execution, already scheduled on that
-- worker; and the dispatch message (@message with the execution's id, fence
-- and worker added, routed to @routing_key_prefix || worker). The caller
-- has resolved the parameters and checked that no policy governs the
-- action. worker 0: none is eligible, nothing was written. No enforcement
-- id: this (rule, event) already has an enforcement, nothing was written.
WITH pick AS (
    SELECT attune_pick_worker(@stale_after_seconds::float8, @runtime_names::text[]) AS worker
), enf AS (
    INSERT INTO enforcement (rule, rule_ref, trigger_ref, config, event, status, resolved_at, payload, condition, conditions)
    SELECT @rule, @rule_ref, @trigger_ref, sqlc.narg(enforcement_config)::jsonb, @event, 'processed', now(),
           coalesce(sqlc.narg(payload)::jsonb, '{}'), 'all', coalesce(sqlc.narg(conditions)::jsonb, '[]')
    FROM pick WHERE pick.worker IS NOT NULL
    ON CONFLICT ON CONSTRAINT enforcement_rule_event_uniq DO NOTHING
    RETURNING enforcement.id
), ex AS (
    INSERT INTO execution (action, action_ref, config, env_vars, enforcement, executor, permission_set_refs,
                           status, worker, timeout_seconds, workflow_def, retry_count, max_retries)
    SELECT @action, @action_ref, @execution_config::jsonb, '{}', enf.id,
           coalesce(sqlc.narg(executor)::bigint,
                    CASE WHEN @as_system::bool THEN (SELECT i.id FROM identity i WHERE i.login = 'system') END),
           coalesce(sqlc.narg(permission_set_refs)::text[], '{}'), 'scheduled', pick.worker,
           sqlc.narg(timeout_seconds), sqlc.narg(workflow_def), 0, @max_retries
    FROM enf CROSS JOIN pick
    RETURNING execution.id, execution.fence, execution.worker
), ob AS (
    INSERT INTO outbox (exchange, routing_key, message_type, payload, available_at)
    SELECT @exchange, @routing_key_prefix::text || ex.worker::text, @message_type,
           @message::jsonb || jsonb_build_object('execution_id', ex.id, 'fence', ex.fence, 'worker_id', ex.worker),
           coalesce(sqlc.narg(available_at)::timestamptz, now())
    FROM ex
    RETURNING outbox.id, outbox.routing_key, outbox.payload, outbox.created, outbox.available_at
)
SELECT coalesce(pick.worker, 0)::bigint AS worker, enf.id AS enforcement_id, ex.id AS execution_id, ex.fence,
       ob.id AS outbox_id, ob.routing_key AS outbox_routing_key, ob.payload AS outbox_payload,
       ob.created AS outbox_created, ob.available_at AS outbox_available_at
FROM pick LEFT JOIN enf ON true LEFT JOIN ex ON true LEFT JOIN ob ON true;
