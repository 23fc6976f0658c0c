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
