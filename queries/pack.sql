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
