-- name: KeyInsert :one
-- The validate_key_owner trigger derives `owner` and checks the owner FKs.
INSERT INTO key (ref, local_ref, owner_type, owner_identity, owner_pack, owner_action, owner_sensor,
                 owner_pack_ref, owner_action_ref, owner_sensor_ref, name, encrypted, encryption_key_hash, value)
VALUES (@ref, sqlc.narg(local_ref), @owner_type, sqlc.narg(owner_identity), sqlc.narg(owner_pack),
        sqlc.narg(owner_action), sqlc.narg(owner_sensor), sqlc.narg(owner_pack_ref),
        sqlc.narg(owner_action_ref), sqlc.narg(owner_sensor_ref), @name, @encrypted,
        sqlc.narg(encryption_key_hash), @value)
RETURNING *;

-- name: KeyGetByRef :one
SELECT * FROM key WHERE ref = @ref;

-- name: KeyUpdate :one
-- Replaces the value (already encrypted by the caller when encrypted) and name.
UPDATE key
SET name = @name, encrypted = @encrypted, encryption_key_hash = sqlc.narg(encryption_key_hash),
    value = @value, updated = now()
WHERE ref = @ref
RETURNING *;

-- name: KeyDeleteByRef :execrows
DELETE FROM key WHERE ref = @ref;

-- name: KeyListPage :many
-- Newest first (id DESC is stable). NULL filters match everything.
SELECT * FROM key
WHERE (sqlc.narg(owner_type)::owner_type_enum IS NULL OR owner_type = sqlc.narg(owner_type)::owner_type_enum)
  AND (sqlc.narg(owner)::text IS NULL OR owner = sqlc.narg(owner)::text
       OR owner_pack_ref = sqlc.narg(owner)::text OR owner_action_ref = sqlc.narg(owner)::text
       OR owner_sensor_ref = sqlc.narg(owner)::text)
ORDER BY id DESC
LIMIT @page_limit OFFSET @page_offset;

-- name: KeyCount :one
SELECT count(*) FROM key
WHERE (sqlc.narg(owner_type)::owner_type_enum IS NULL OR owner_type = sqlc.narg(owner_type)::owner_type_enum)
  AND (sqlc.narg(owner)::text IS NULL OR owner = sqlc.narg(owner)::text
       OR owner_pack_ref = sqlc.narg(owner)::text OR owner_action_ref = sqlc.narg(owner)::text
       OR owner_sensor_ref = sqlc.narg(owner)::text);

-- name: KeyListForAction :many
-- System keys, then the pack's keys, then the action's keys (spec §4.2 step 3:
-- later sources override earlier ones with the same name). Within a source,
-- id order keeps the merge deterministic.
SELECT * FROM key
WHERE owner_type = 'system'
   OR (owner_type = 'pack' AND owner_pack_ref = @pack_ref)
   OR (owner_type = 'action' AND owner_action_ref = @action_ref)
ORDER BY CASE owner_type WHEN 'system' THEN 0 WHEN 'pack' THEN 1 ELSE 2 END, id;
