-- name: PackEnvironmentEnsure :one
-- Creates the pending row for a pack's runtime environment, or returns the
-- existing one (the no-op update makes RETURNING yield it).
INSERT INTO pack_environment (pack, pack_ref, runtime, runtime_ref, env_path)
VALUES (@pack, @pack_ref, @runtime, @runtime_ref, @env_path)
ON CONFLICT (env_key) DO UPDATE SET env_path = EXCLUDED.env_path, pack = EXCLUDED.pack,
    runtime = EXCLUDED.runtime
RETURNING *;

-- name: PackEnvironmentGet :one
SELECT * FROM pack_environment WHERE id = @id;

-- name: PackEnvironmentListByPack :many
SELECT * FROM pack_environment WHERE pack_ref = @pack_ref ORDER BY runtime_ref;

-- name: PackEnvironmentClaim :one
-- Takes the build lease when it is free, expired or already ours — unless
-- the environment is ready with @unless_ready_checksum: a builder finished
-- it since the caller looked, and building again would be wasted (and, for
-- the caller, an environment replaced under its feet). No row means another
-- builder holds a live lease or has just finished: look again.
UPDATE pack_environment
SET claimed_by_worker = @holder, claim_expires_at = now() + make_interval(secs => @ttl_seconds::float8),
    status = 'installing'
WHERE id = @id AND (claimed_by_worker IS NULL OR claim_expires_at < now() OR claimed_by_worker = @holder)
  AND (sqlc.narg(unless_ready_checksum)::text IS NULL OR status <> 'ready'
       OR manifest_checksum IS DISTINCT FROM sqlc.narg(unless_ready_checksum)::text)
RETURNING *;

-- name: PackEnvironmentRenew :execrows
UPDATE pack_environment SET claim_expires_at = now() + make_interval(secs => @ttl_seconds::float8)
WHERE id = @id AND claimed_by_worker = @holder;

-- name: PackEnvironmentFinish :one
-- Records the build outcome and releases the lease (only if still ours).
UPDATE pack_environment
SET status = @status, manifest_checksum = sqlc.narg(manifest_checksum), install_log = sqlc.narg(install_log),
    install_error = sqlc.narg(install_error),
    installed_at = CASE WHEN @status = 'ready'::pack_environment_status_enum THEN now() ELSE installed_at END,
    last_verified = now(), claimed_by_worker = NULL, claim_expires_at = NULL
WHERE id = @id AND claimed_by_worker = @holder
RETURNING *;

-- name: PackEnvironmentTouch :exec
UPDATE pack_environment SET last_verified = now() WHERE id = @id;
