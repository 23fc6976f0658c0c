-- name: SensorGetByRef :one
SELECT * FROM sensor WHERE ref = @ref;

-- name: SensorList :many
-- pack_ref NULL lists every pack.
SELECT * FROM sensor
WHERE sqlc.narg(pack_ref)::text IS NULL OR pack_ref = sqlc.narg(pack_ref)::text
ORDER BY ref;

-- name: SensorUpsert :one
INSERT INTO sensor (ref, pack, pack_ref, label, description, entrypoint, runtime, runtime_ref, enabled,
                    is_adhoc, param_schema, config, runtime_version_constraint)
VALUES (@ref, sqlc.narg(pack), sqlc.narg(pack_ref), @label, sqlc.narg(description), @entrypoint, @runtime,
        @runtime_ref, @enabled, @is_adhoc, sqlc.narg(param_schema), coalesce(sqlc.narg(config)::jsonb, '{}'),
        sqlc.narg(runtime_version_constraint))
ON CONFLICT (ref) DO UPDATE
SET pack = EXCLUDED.pack,
    pack_ref = EXCLUDED.pack_ref,
    label = EXCLUDED.label,
    description = EXCLUDED.description,
    entrypoint = EXCLUDED.entrypoint,
    runtime = EXCLUDED.runtime,
    runtime_ref = EXCLUDED.runtime_ref,
    enabled = EXCLUDED.enabled,
    is_adhoc = EXCLUDED.is_adhoc,
    param_schema = EXCLUDED.param_schema,
    config = EXCLUDED.config,
    runtime_version_constraint = EXCLUDED.runtime_version_constraint
RETURNING *;

-- name: SensorPruneByPack :many
-- Pack re-registration: deletes file-defined sensors no longer in the pack.
DELETE FROM sensor WHERE pack = @pack AND NOT is_adhoc AND NOT (ref = ANY(@keep::text[])) RETURNING ref;
