-- name: PermissionSetList :many
SELECT * FROM permission_set ORDER BY ref;

-- name: PermissionSetGet :one
SELECT * FROM permission_set WHERE id = @id;

-- name: PermissionSetGetByRef :one
SELECT * FROM permission_set WHERE ref = @ref;

-- name: PermissionSetUpsert :one
-- Used by the pack registrar and by the API to seed built-in sets on demand.
INSERT INTO permission_set (ref, pack, pack_ref, label, description, grants)
VALUES (@ref, sqlc.narg(pack), sqlc.narg(pack_ref), sqlc.narg(label), sqlc.narg(description), @grants)
ON CONFLICT (ref) DO UPDATE SET
    pack = EXCLUDED.pack, pack_ref = EXCLUDED.pack_ref, label = EXCLUDED.label,
    description = EXCLUDED.description, grants = EXCLUDED.grants, updated = now()
RETURNING *;

-- name: PermissionSetUpdate :one
UPDATE permission_set
SET grants = @grants, label = coalesce(sqlc.narg(label), label),
    description = coalesce(sqlc.narg(description), description), updated = now()
WHERE id = @id
RETURNING *;

-- name: PermissionAssignmentInsert :one
INSERT INTO permission_assignment (identity, permset) VALUES (@identity, @permset) RETURNING *;

-- name: PermissionAssignmentGet :one
SELECT * FROM permission_assignment WHERE id = @id;

-- name: PermissionAssignmentDelete :execrows
DELETE FROM permission_assignment WHERE id = @id;

-- name: PermissionAssignmentListByIdentity :many
-- The identity's assignments with the set's ref and grants (one round trip
-- per principal resolution).
SELECT pa.id, pa.identity, pa.permset, pa.created, ps.ref AS permset_ref, ps.grants
FROM permission_assignment pa JOIN permission_set ps ON ps.id = pa.permset
WHERE pa.identity = @identity
ORDER BY ps.ref;
