-- name: EventInsert :one
-- Returns no row when (source_ref, idempotency_key) already exists; the caller
-- then reads the original with EventGetByIdempotencyKey.
INSERT INTO event (trigger, trigger_ref, config, payload, source, source_ref, rule, rule_ref, idempotency_key)
VALUES (sqlc.narg(trigger), @trigger_ref, sqlc.narg(config), sqlc.narg(payload), sqlc.narg(source),
        sqlc.narg(source_ref), sqlc.narg(rule), sqlc.narg(rule_ref), sqlc.narg(idempotency_key))
ON CONFLICT (source_ref, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING *;

-- name: EventGetByIdempotencyKey :one
SELECT * FROM event
WHERE source_ref IS NOT DISTINCT FROM sqlc.narg(source_ref)::text AND idempotency_key = @idempotency_key;

-- name: EventGet :one
SELECT * FROM event WHERE id = @id;

-- name: EventGetWithMetadataVersion :one
-- The event processor's read: the event and, from the same snapshot, the
-- metadata_version its cached rules, actions, policies and runtimes must
-- match.
SELECT sqlc.embed(event), coalesce((SELECT m.version FROM metadata_version m), 0)::bigint AS metadata_version
FROM event WHERE event.id = @id;

-- name: EventListPage :many
-- Newest first; before_id 0 starts at the newest event.
SELECT * FROM event
WHERE (@before_id::bigint = 0 OR id < @before_id::bigint)
  AND (sqlc.narg(trigger_ref)::text IS NULL OR trigger_ref = sqlc.narg(trigger_ref)::text)
ORDER BY id DESC
LIMIT @page_size;

-- name: EventListFiltered :many
-- API list: newest first, offset pages; filters are optional.
SELECT * FROM event
WHERE (sqlc.narg(trigger_ref)::text IS NULL OR trigger_ref = sqlc.narg(trigger_ref)::text)
  AND (sqlc.narg(rule_ref)::text IS NULL OR rule_ref = sqlc.narg(rule_ref)::text)
  AND (sqlc.narg(source_ref)::text IS NULL OR source_ref = sqlc.narg(source_ref)::text)
  AND (@before_id::bigint = 0 OR id < @before_id::bigint)
ORDER BY id DESC
LIMIT @page_limit OFFSET @page_offset;

-- name: EventCountFiltered :one
SELECT count(*) FROM event
WHERE (sqlc.narg(trigger_ref)::text IS NULL OR trigger_ref = sqlc.narg(trigger_ref)::text)
  AND (sqlc.narg(rule_ref)::text IS NULL OR rule_ref = sqlc.narg(rule_ref)::text)
  AND (sqlc.narg(source_ref)::text IS NULL OR source_ref = sqlc.narg(source_ref)::text)
  AND (@before_id::bigint = 0 OR id < @before_id::bigint);
