-- name: IdentityInsert :one
INSERT INTO identity (login, display_name, password_hash, attributes, frozen)
VALUES (@login, sqlc.narg(display_name), sqlc.narg(password_hash),
        coalesce(sqlc.narg(attributes)::jsonb, '{}'), @frozen)
RETURNING *;

-- name: IdentityGet :one
SELECT * FROM identity WHERE id = @id;

-- name: IdentityGetByLogin :one
SELECT * FROM identity WHERE login = @login;

-- name: IdentityList :many
-- Keyset page ordered by id; after_id 0 starts from the beginning.
SELECT * FROM identity WHERE id > @after_id ORDER BY id LIMIT @page_size;

-- name: IdentityCount :one
SELECT count(*) FROM identity;

-- name: IdentityUpdate :one
UPDATE identity
SET display_name = coalesce(sqlc.narg(display_name), display_name),
    attributes = coalesce(sqlc.narg(attributes)::jsonb, attributes),
    frozen = coalesce(sqlc.narg(frozen), frozen)
WHERE id = @id
RETURNING *;

-- name: IdentitySetPassword :execrows
UPDATE identity SET password_hash = sqlc.narg(password_hash) WHERE id = @id;

-- name: IdentityDelete :execrows
DELETE FROM identity WHERE id = @id;

-- name: IdentityListPage :many
-- Newest first; id DESC is stable under concurrent inserts at the tail.
SELECT * FROM identity ORDER BY id DESC LIMIT @page_limit OFFSET @page_offset;

-- name: IdentityCountHuman :one
-- Identities that can log in with a password (the first-run admin check).
SELECT count(*) FROM identity WHERE password_hash IS NOT NULL;
