-- name: TriggerGet :one
SELECT * FROM trigger WHERE id = @id;

-- name: TriggerGetByRef :one
SELECT * FROM trigger WHERE ref = @ref;

-- name: TriggerGetByWebhookKey :one
SELECT * FROM trigger WHERE webhook_key = @webhook_key AND webhook_enabled;

-- name: TriggerList :many
SELECT * FROM trigger ORDER BY ref;

-- name: TriggerUpsert :one
INSERT INTO trigger (ref, pack, pack_ref, label, description, enabled, is_adhoc, param_schema, out_schema,
                     webhook_enabled, webhook_key, webhook_config, sensor, sensor_ref,
                     reference_visibility, reference_allowed_pack_refs)
VALUES (@ref, sqlc.narg(pack), sqlc.narg(pack_ref), @label, sqlc.narg(description), @enabled, @is_adhoc,
        sqlc.narg(param_schema), sqlc.narg(out_schema), @webhook_enabled, sqlc.narg(webhook_key),
        coalesce(sqlc.narg(webhook_config)::jsonb, '{}'), sqlc.narg(sensor), sqlc.narg(sensor_ref),
        coalesce(sqlc.narg(reference_visibility)::action_reference_visibility_enum, 'public'),
        coalesce(sqlc.narg(reference_allowed_pack_refs)::text[], '{}'))
ON CONFLICT (ref) DO UPDATE
SET pack = EXCLUDED.pack,
    pack_ref = EXCLUDED.pack_ref,
    label = EXCLUDED.label,
    description = EXCLUDED.description,
    enabled = EXCLUDED.enabled,
    is_adhoc = EXCLUDED.is_adhoc,
    param_schema = EXCLUDED.param_schema,
    out_schema = EXCLUDED.out_schema,
    -- Webhook state belongs to the operator (API), not to pack files.
    sensor = EXCLUDED.sensor,
    sensor_ref = EXCLUDED.sensor_ref,
    reference_visibility = EXCLUDED.reference_visibility,
    reference_allowed_pack_refs = EXCLUDED.reference_allowed_pack_refs
RETURNING *;

-- name: TriggerSetWebhook :one
UPDATE trigger
SET webhook_enabled = @webhook_enabled, webhook_key = sqlc.narg(webhook_key),
    webhook_config = coalesce(sqlc.narg(webhook_config)::jsonb, webhook_config)
WHERE id = @id
RETURNING *;

-- name: TriggerDelete :execrows
DELETE FROM trigger WHERE id = @id;

-- name: TriggerPruneByPack :many
-- Pack re-registration: deletes file-defined triggers no longer in the pack.
DELETE FROM trigger WHERE pack = @pack AND NOT is_adhoc AND NOT (ref = ANY(@keep::text[])) RETURNING ref;

-- name: TriggerLinkSensor :execrows
-- Points a pack's triggers at the sensor that emits them.
UPDATE trigger SET sensor = @sensor, sensor_ref = @sensor_ref
WHERE pack = @pack AND ref = ANY(@refs::text[]);
