-- name: MetadataVersionGet :one
-- The count of committed changes to rules, actions, policies, runtimes and
-- keys (migration 00002): caches of those rows are valid while it holds.
SELECT coalesce((SELECT m.version FROM metadata_version m), 0)::bigint AS version;
