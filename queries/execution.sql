-- name: ExecutionGet :one
SELECT * FROM execution WHERE id = @id;

-- name: ExecutionInsert :one
INSERT INTO execution (action, action_ref, config, env_vars, parent, enforcement, executor, permission_set_refs,
                       status, timeout_seconds, workflow_def, workflow_task, retry_count, max_retries,
                       retry_reason, original_execution)
VALUES (sqlc.narg(action), @action_ref, coalesce(sqlc.narg(config)::jsonb, '{}'),
        coalesce(sqlc.narg(env_vars)::jsonb, '{}'), sqlc.narg(parent), sqlc.narg(enforcement),
        sqlc.narg(executor), coalesce(sqlc.narg(permission_set_refs)::text[], '{}'),
        coalesce(sqlc.narg(status)::execution_status_enum, 'requested'), sqlc.narg(timeout_seconds),
        sqlc.narg(workflow_def), sqlc.narg(workflow_task), @retry_count, @max_retries,
        sqlc.narg(retry_reason), sqlc.narg(original_execution))
RETURNING *;

-- name: ExecutionListPage :many
-- Newest first (id DESC); before_id 0 starts at the newest execution.
SELECT * FROM execution
WHERE (@before_id::bigint = 0 OR id < @before_id::bigint)
  AND (sqlc.narg(status)::execution_status_enum IS NULL OR status = sqlc.narg(status)::execution_status_enum)
  AND (sqlc.narg(action_ref)::text IS NULL OR action_ref = sqlc.narg(action_ref)::text)
  AND (sqlc.narg(parent)::bigint IS NULL OR parent = sqlc.narg(parent)::bigint)
ORDER BY id DESC
LIMIT @page_size;

-- name: ExecutionUpdateStatus :one
-- Fenced compare-and-set: applies only while the row still carries the
-- caller's fence and one of the expected statuses. No row means the caller's
-- view is stale (a newer attempt owns the execution, or it already moved on).
UPDATE execution
SET status = @status::execution_status_enum,
    result = CASE WHEN sqlc.narg(result)::jsonb IS NULL THEN result ELSE sqlc.narg(result)::jsonb END,
    result_fence = CASE WHEN sqlc.narg(result)::jsonb IS NULL THEN result_fence ELSE fence END,
    lease_expires_at = CASE
        WHEN @status::execution_status_enum IN ('completed', 'failed', 'cancelled', 'timeout', 'abandoned') THEN NULL
        ELSE lease_expires_at END
WHERE id = @id AND fence = @fence AND status::text = ANY(@from_statuses::text[])
RETURNING *;

-- name: ExecutionClaim :one
-- A worker takes ownership of a scheduled execution: a new attempt with a new
-- fence and a lease that the worker must keep extending.
UPDATE execution
SET status = 'running',
    worker = @worker,
    attempt = attempt + 1,
    fence = fence + 1,
    started_at = coalesce(started_at, now()),
    lease_expires_at = now() + make_interval(secs => @lease_seconds::float8)
WHERE id = @id AND status = 'scheduled'
RETURNING *;

-- name: ExecutionExtendLease :one
UPDATE execution
SET lease_expires_at = now() + make_interval(secs => @lease_seconds::float8)
WHERE id = @id AND fence = @fence AND status IN ('running', 'canceling')
RETURNING lease_expires_at;

-- name: ExecutionListLeaseExpired :many
-- Reaper input. Row locks are held until the caller's transaction ends and
-- SKIP LOCKED lets several reapers share the work.
SELECT * FROM execution
WHERE status IN ('running', 'canceling') AND lease_expires_at < now()
ORDER BY lease_expires_at
LIMIT @batch_size
FOR UPDATE SKIP LOCKED;
