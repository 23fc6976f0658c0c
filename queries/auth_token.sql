-- name: AuthTokenInsert :exec
INSERT INTO auth_token (jti, identity, token_type, execution, family, expires_at)
VALUES (@jti, sqlc.narg(identity), @token_type, sqlc.narg(execution), sqlc.narg(family), @expires_at);

-- name: AuthTokenGet :one
SELECT * FROM auth_token WHERE jti = @jti;

-- name: AuthTokenRotate :execrows
-- Compare-and-set: only an unrevoked token can be rotated, so two concurrent
-- refreshes with the same token cannot both succeed.
UPDATE auth_token SET revoked_at = now(), replaced_by = @replaced_by
WHERE jti = @jti AND revoked_at IS NULL;

-- name: AuthTokenRevoke :execrows
UPDATE auth_token SET revoked_at = now() WHERE jti = @jti AND revoked_at IS NULL;

-- name: AuthTokenRevokeFamily :execrows
UPDATE auth_token SET revoked_at = now() WHERE family = @family AND revoked_at IS NULL;

-- name: AuthTokenRevokeIdentity :execrows
-- Revokes every live token of one identity (password change, freeze).
UPDATE auth_token SET revoked_at = now()
WHERE identity = @identity AND revoked_at IS NULL AND token_type IN ('access', 'refresh');

-- name: AuthTokenDeleteExpired :execrows
DELETE FROM auth_token WHERE expires_at < @before;
