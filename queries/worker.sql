-- name: WorkerUpsert :one
-- Registration: a restarted worker with the same name reuses its row.
INSERT INTO worker (name, worker_type, worker_role, runtime, host, port, capabilities, meta,
                    heartbeat_interval_ms, status, last_heartbeat)
VALUES (@name, @worker_type, @worker_role, sqlc.narg(runtime), sqlc.narg(host), sqlc.narg(port),
        coalesce(sqlc.narg(capabilities)::jsonb, '{}'), coalesce(sqlc.narg(meta)::jsonb, '{}'),
        @heartbeat_interval_ms, 'active', now())
ON CONFLICT (name) DO UPDATE
SET worker_type = EXCLUDED.worker_type,
    worker_role = EXCLUDED.worker_role,
    runtime = EXCLUDED.runtime,
    host = EXCLUDED.host,
    port = EXCLUDED.port,
    capabilities = EXCLUDED.capabilities,
    meta = EXCLUDED.meta,
    heartbeat_interval_ms = EXCLUDED.heartbeat_interval_ms,
    status = 'active',
    last_heartbeat = now()
RETURNING *;

-- name: WorkerGet :one
SELECT * FROM worker WHERE id = @id;

-- name: WorkerGetByName :one
SELECT * FROM worker WHERE name = @name;

-- name: WorkerList :many
SELECT * FROM worker ORDER BY name;

-- name: WorkerSetStatus :one
UPDATE worker SET status = @status WHERE id = @id RETURNING *;

-- name: WorkerListStale :many
-- Active workers whose last heartbeat is older than stale_after: reaper input.
SELECT * FROM worker
WHERE status IN ('active', 'busy')
  AND (last_heartbeat IS NULL OR last_heartbeat < now() - make_interval(secs => @stale_after_seconds::float8))
ORDER BY id;

-- name: WorkerDelete :execrows
DELETE FROM worker WHERE id = @id;

-- name: WorkerSetInactive :execrows
-- Graceful shutdown: the worker leaves the scheduler's eligible set at once
-- instead of waiting for its heartbeat to go stale.
UPDATE worker SET status = 'inactive' WHERE id = @id;

-- name: WorkerSetCordon :one
-- Cordon or uncordon a worker (the scheduler skips cordoned workers).
UPDATE worker
SET cordoned = @cordoned,
    cordon_reason = CASE WHEN @cordoned::boolean THEN sqlc.narg(reason)::text END,
    cordoned_by = CASE WHEN @cordoned::boolean THEN sqlc.narg(by_login)::text END,
    cordoned_at = CASE WHEN @cordoned::boolean THEN now() END,
    updated = now()
WHERE id = @id
RETURNING *;

-- name: WorkerLoadCounts :many
-- Executions each worker currently holds, per status.
SELECT worker::bigint AS worker, status::text AS status, count(*) AS count FROM execution
WHERE worker IS NOT NULL AND status IN ('scheduled', 'running', 'canceling')
GROUP BY worker, status;
