-- The upsert and lookups live in permission.sql (RBAC); these are the pack
-- registrar's additions.

-- name: PermissionSetListByPack :many
SELECT * FROM permission_set WHERE pack = @pack ORDER BY ref;

-- name: PermissionSetPruneByPack :many
-- Pack re-registration: deletes permission sets no longer in the pack's files.
DELETE FROM permission_set WHERE pack = @pack AND NOT (ref = ANY(@keep::text[])) RETURNING ref;
