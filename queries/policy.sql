-- name: PolicyGetByRef :one
SELECT * FROM policy WHERE ref = @ref;

-- name: PolicyList :many
-- pack_ref NULL lists every pack.
SELECT * FROM policy
WHERE sqlc.narg(pack_ref)::text IS NULL OR pack_ref = sqlc.narg(pack_ref)::text
ORDER BY priority DESC, ref;

-- name: PolicyUpsert :one
INSERT INTO policy (ref, pack, pack_ref, action, action_ref, enabled, priority, parameters, method, threshold,
                    rate_limit_max_executions, rate_limit_window_seconds, quotas, name, description, tags, is_adhoc)
VALUES (@ref, sqlc.narg(pack), sqlc.narg(pack_ref), sqlc.narg(action), @action_ref, @enabled, @priority,
        coalesce(sqlc.narg(parameters)::text[], '{}'), sqlc.narg(method), sqlc.narg(threshold),
        sqlc.narg(rate_limit_max_executions), sqlc.narg(rate_limit_window_seconds),
        coalesce(sqlc.narg(quotas)::jsonb, '[]'), sqlc.narg(name), sqlc.narg(description),
        coalesce(sqlc.narg(tags)::text[], '{}'), @is_adhoc)
ON CONFLICT (ref) DO UPDATE
SET pack = EXCLUDED.pack,
    pack_ref = EXCLUDED.pack_ref,
    action = EXCLUDED.action,
    action_ref = EXCLUDED.action_ref,
    enabled = EXCLUDED.enabled,
    priority = EXCLUDED.priority,
    parameters = EXCLUDED.parameters,
    method = EXCLUDED.method,
    threshold = EXCLUDED.threshold,
    rate_limit_max_executions = EXCLUDED.rate_limit_max_executions,
    rate_limit_window_seconds = EXCLUDED.rate_limit_window_seconds,
    quotas = EXCLUDED.quotas,
    name = EXCLUDED.name,
    description = EXCLUDED.description,
    tags = EXCLUDED.tags
RETURNING *;

-- name: PolicyPruneByPack :many
-- Pack re-registration: deletes policies no longer in the pack's files.
DELETE FROM policy WHERE pack = @pack AND NOT is_adhoc AND NOT (ref = ANY(@keep::text[])) RETURNING ref;

-- name: PolicyDelete :execrows
-- API: deletes one policy by id.
DELETE FROM policy WHERE id = @id;
