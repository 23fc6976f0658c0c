-- name: RuntimeGet :one
SELECT * FROM runtime WHERE id = @id;

-- name: RuntimeGetByRef :one
SELECT * FROM runtime WHERE ref = @ref;

-- name: RuntimeList :many
SELECT * FROM runtime ORDER BY ref;

-- name: RuntimeListByPack :many
SELECT * FROM runtime WHERE pack = @pack ORDER BY ref;

-- name: RuntimeUpsert :one
INSERT INTO runtime (ref, pack, pack_ref, description, name, aliases, distributions, installation,
                     installers, execution_config, auto_detected, detection_config)
VALUES (@ref, sqlc.narg(pack), sqlc.narg(pack_ref), sqlc.narg(description), @name,
        coalesce(sqlc.narg(aliases)::text[], '{}'), coalesce(sqlc.narg(distributions)::jsonb, '{}'),
        sqlc.narg(installation), coalesce(sqlc.narg(installers)::jsonb, '{}'),
        coalesce(sqlc.narg(execution_config)::jsonb, '{}'), @auto_detected,
        coalesce(sqlc.narg(detection_config)::jsonb, '{}'))
ON CONFLICT (ref) DO UPDATE
SET pack = EXCLUDED.pack,
    pack_ref = EXCLUDED.pack_ref,
    description = EXCLUDED.description,
    name = EXCLUDED.name,
    aliases = EXCLUDED.aliases,
    distributions = EXCLUDED.distributions,
    installation = EXCLUDED.installation,
    installers = EXCLUDED.installers,
    execution_config = EXCLUDED.execution_config,
    auto_detected = EXCLUDED.auto_detected,
    detection_config = EXCLUDED.detection_config
RETURNING *;

-- name: RuntimeDelete :execrows
DELETE FROM runtime WHERE id = @id;

-- name: RuntimePruneByPack :many
-- Pack re-registration: deletes runtimes no longer in the pack's files.
DELETE FROM runtime WHERE pack = @pack AND NOT (ref = ANY(@keep::text[])) RETURNING ref;
