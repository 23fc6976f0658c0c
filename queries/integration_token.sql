-- name: IntegrationTokenInsert :one
INSERT INTO integration_token (identity, label, description, token_hash, token_prefix, token_suffix,
                               created_by, expires_at)
VALUES (@identity, @label, sqlc.narg(description), @token_hash, @token_prefix, @token_suffix,
        sqlc.narg(created_by), sqlc.narg(expires_at))
RETURNING *;

-- name: IntegrationTokenGet :one
SELECT * FROM integration_token WHERE id = @id;

-- name: IntegrationTokenGetByHash :one
SELECT * FROM integration_token WHERE token_hash = @token_hash;

-- name: IntegrationTokenListByIdentity :many
SELECT * FROM integration_token WHERE identity = @identity ORDER BY id DESC;

-- name: IntegrationTokenRevoke :one
UPDATE integration_token
SET revoked_at = coalesce(revoked_at, now()), revoked_by = coalesce(revoked_by, sqlc.narg(revoked_by)),
    revocation_reason = coalesce(revocation_reason, sqlc.narg(revocation_reason)), updated = now()
WHERE id = @id AND identity = @identity
RETURNING *;

-- name: IntegrationTokenDelete :execrows
DELETE FROM integration_token WHERE id = @id AND identity = @identity;

-- name: IntegrationTokenTouch :exec
UPDATE integration_token SET last_used_at = now(), last_used_ip = sqlc.narg(last_used_ip) WHERE id = @id;
