-- name: PackGet :one
SELECT * FROM pack WHERE id = @id;

-- name: PackGetByRef :one
SELECT * FROM pack WHERE ref = @ref;

-- name: PackList :many
SELECT * FROM pack ORDER BY ref;

-- name: PackUpsert :one
-- Registration is keyed by ref: re-registering a pack updates it in place so
-- ids (and every FK to them) survive a pack upgrade.
INSERT INTO pack (ref, label, description, version, conf_schema, config, meta, tags, runtime_deps,
                  dependencies, is_standard, installers, source_type, source_url, source_ref, checksum,
                  checksum_verified, installed_at, installed_by, installation_method, storage_path)
VALUES (@ref, @label, sqlc.narg(description), @version,
        coalesce(sqlc.narg(conf_schema)::jsonb, '{}'), coalesce(sqlc.narg(config)::jsonb, '{}'),
        coalesce(sqlc.narg(meta)::jsonb, '{}'), coalesce(sqlc.narg(tags)::text[], '{}'),
        coalesce(sqlc.narg(runtime_deps)::text[], '{}'), coalesce(sqlc.narg(dependencies)::text[], '{}'),
        @is_standard, coalesce(sqlc.narg(installers)::jsonb, '{}'), sqlc.narg(source_type),
        sqlc.narg(source_url), sqlc.narg(source_ref), sqlc.narg(checksum), @checksum_verified,
        sqlc.narg(installed_at), sqlc.narg(installed_by), sqlc.narg(installation_method),
        sqlc.narg(storage_path))
ON CONFLICT (ref) DO UPDATE
SET label = EXCLUDED.label,
    description = EXCLUDED.description,
    version = EXCLUDED.version,
    conf_schema = EXCLUDED.conf_schema,
    config = EXCLUDED.config,
    meta = EXCLUDED.meta,
    tags = EXCLUDED.tags,
    runtime_deps = EXCLUDED.runtime_deps,
    dependencies = EXCLUDED.dependencies,
    is_standard = EXCLUDED.is_standard,
    installers = EXCLUDED.installers,
    source_type = EXCLUDED.source_type,
    source_url = EXCLUDED.source_url,
    source_ref = EXCLUDED.source_ref,
    checksum = EXCLUDED.checksum,
    checksum_verified = EXCLUDED.checksum_verified,
    installed_at = EXCLUDED.installed_at,
    installed_by = EXCLUDED.installed_by,
    installation_method = EXCLUDED.installation_method,
    storage_path = EXCLUDED.storage_path
RETURNING *;

-- name: PackDelete :execrows
DELETE FROM pack WHERE id = @id;

-- name: PackLockXact :exec
-- Serialises registration, upgrade and removal of one pack across processes
-- for the rest of the transaction (released at commit or rollback).
SELECT pg_advisory_xact_lock(hashtextextended('attune.pack:' || @ref::text, 0));

-- name: PackForeignComponents :many
-- Components that a pack's files would overwrite although another pack (or no
-- pack) owns them. Registration refuses when this returns any row.
SELECT 'action'::text AS kind, ref, coalesce(pack_ref, '')::text AS owner FROM action
WHERE ref = ANY(@action_refs::text[]) AND pack_ref IS DISTINCT FROM @pack_ref::text
UNION ALL
SELECT 'trigger'::text, ref, coalesce(pack_ref, '')::text FROM trigger
WHERE ref = ANY(@trigger_refs::text[]) AND pack_ref IS DISTINCT FROM @pack_ref::text
UNION ALL
SELECT 'rule'::text, ref, coalesce(pack_ref, '')::text FROM rule
WHERE ref = ANY(@rule_refs::text[]) AND pack_ref IS DISTINCT FROM @pack_ref::text
UNION ALL
SELECT 'sensor'::text, ref, coalesce(pack_ref, '')::text FROM sensor
WHERE ref = ANY(@sensor_refs::text[]) AND pack_ref IS DISTINCT FROM @pack_ref::text
UNION ALL
SELECT 'runtime'::text, ref, coalesce(pack_ref, '')::text FROM runtime
WHERE ref = ANY(@runtime_refs::text[]) AND pack_ref IS DISTINCT FROM @pack_ref::text
UNION ALL
SELECT 'policy'::text, ref, coalesce(pack_ref, '')::text FROM policy
WHERE ref = ANY(@policy_refs::text[]) AND pack_ref IS DISTINCT FROM @pack_ref::text
UNION ALL
SELECT 'permission_set'::text, ref, coalesce(pack_ref, '')::text FROM permission_set
WHERE ref = ANY(@permission_set_refs::text[]) AND pack_ref IS DISTINCT FROM @pack_ref::text
UNION ALL
SELECT 'workflow'::text, ref::text, pack_ref FROM workflow_definition
WHERE ref = ANY(@workflow_refs::text[]) AND pack_ref IS DISTINCT FROM @pack_ref::text
ORDER BY 1, 2;

-- name: PackComponentCounts :one
SELECT (SELECT count(*) FROM action a WHERE a.pack = @pack)::bigint AS actions,
       (SELECT count(*) FROM trigger t WHERE t.pack = @pack)::bigint AS triggers,
       (SELECT count(*) FROM rule r WHERE r.pack = @pack)::bigint AS rules,
       (SELECT count(*) FROM sensor s WHERE s.pack = @pack)::bigint AS sensors,
       (SELECT count(*) FROM runtime rt WHERE rt.pack = @pack)::bigint AS runtimes,
       (SELECT count(*) FROM policy p WHERE p.pack = @pack)::bigint AS policies,
       (SELECT count(*) FROM permission_set ps WHERE ps.pack = @pack)::bigint AS permission_sets,
       (SELECT count(*) FROM workflow_definition w WHERE w.pack = @pack)::bigint AS workflows;
