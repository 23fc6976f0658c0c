-- name: ActionGet :one
SELECT * FROM action WHERE id = @id;

-- name: ActionGetByRef :one
SELECT * FROM action WHERE ref = @ref;

-- name: ActionList :many
-- pack_ref NULL lists every pack.
SELECT * FROM action
WHERE sqlc.narg(pack_ref)::text IS NULL OR pack_ref = sqlc.narg(pack_ref)::text
ORDER BY ref;

-- name: ActionUpsert :one
INSERT INTO action (ref, pack, pack_ref, label, description, entrypoint, runtime, runtime_ref, enabled,
                    param_schema, out_schema, parameter_delivery, parameter_format, output_format, is_adhoc,
                    timeout_seconds, max_retries, runtime_version_constraint,
                    default_execution_permission_set_refs, reference_visibility, reference_allowed_pack_refs,
                    workflow_def, on_worker_lost, max_attempts)
VALUES (@ref, @pack, @pack_ref, @label, sqlc.narg(description), @entrypoint, sqlc.narg(runtime),
        sqlc.narg(runtime_ref), @enabled, sqlc.narg(param_schema), sqlc.narg(out_schema),
        coalesce(sqlc.narg(parameter_delivery)::text, 'stdin'), coalesce(sqlc.narg(parameter_format)::text, 'json'),
        coalesce(sqlc.narg(output_format)::text, 'text'), @is_adhoc, sqlc.narg(timeout_seconds), @max_retries,
        sqlc.narg(runtime_version_constraint),
        coalesce(sqlc.narg(default_execution_permission_set_refs)::text[], '{}'),
        coalesce(sqlc.narg(reference_visibility)::action_reference_visibility_enum, 'public'),
        coalesce(sqlc.narg(reference_allowed_pack_refs)::text[], '{}'), sqlc.narg(workflow_def),
        coalesce(sqlc.narg(on_worker_lost)::text, 'abandon'), coalesce(sqlc.narg(max_attempts)::int, 1))
ON CONFLICT (ref) DO UPDATE
SET pack = EXCLUDED.pack,
    pack_ref = EXCLUDED.pack_ref,
    label = EXCLUDED.label,
    description = EXCLUDED.description,
    entrypoint = EXCLUDED.entrypoint,
    runtime = EXCLUDED.runtime,
    runtime_ref = EXCLUDED.runtime_ref,
    enabled = EXCLUDED.enabled,
    param_schema = EXCLUDED.param_schema,
    out_schema = EXCLUDED.out_schema,
    parameter_delivery = EXCLUDED.parameter_delivery,
    parameter_format = EXCLUDED.parameter_format,
    output_format = EXCLUDED.output_format,
    is_adhoc = EXCLUDED.is_adhoc,
    timeout_seconds = EXCLUDED.timeout_seconds,
    max_retries = EXCLUDED.max_retries,
    runtime_version_constraint = EXCLUDED.runtime_version_constraint,
    default_execution_permission_set_refs = EXCLUDED.default_execution_permission_set_refs,
    reference_visibility = EXCLUDED.reference_visibility,
    reference_allowed_pack_refs = EXCLUDED.reference_allowed_pack_refs,
    workflow_def = EXCLUDED.workflow_def,
    on_worker_lost = EXCLUDED.on_worker_lost,
    max_attempts = EXCLUDED.max_attempts
RETURNING *;

-- name: ActionDelete :execrows
DELETE FROM action WHERE id = @id;

-- name: ActionPruneByPack :many
-- Pack re-registration: deletes file-defined actions no longer in the pack.
DELETE FROM action WHERE pack = @pack AND NOT is_adhoc AND NOT (ref = ANY(@keep::text[])) RETURNING ref;
