-- name: AuditLogInsert :exec
INSERT INTO audit_log (identity, login, action, resource, resource_ref, source_ip, details)
VALUES (sqlc.narg(identity), sqlc.narg(login), @action, @resource, sqlc.narg(resource_ref),
        sqlc.narg(source_ip), @details);

-- name: AuditLogListPage :many
SELECT * FROM audit_log ORDER BY id DESC LIMIT @page_limit OFFSET @page_offset;

-- name: AuditLogCount :one
SELECT count(*) FROM audit_log;
