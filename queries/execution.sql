-- name: ExecutionGet :one
SELECT * FROM execution WHERE id = @id;

-- name: ExecutionInsert :one
-- as_system: with no executor given, run as the `system` identity (none if
-- the deployment has none), looked up here rather than in a round trip.
INSERT INTO execution (action, action_ref, config, env_vars, parent, enforcement, executor, permission_set_refs,
                       status, timeout_seconds, workflow_def, workflow_task, retry_count, max_retries,
                       retry_reason, original_execution)
VALUES (sqlc.narg(action), @action_ref, coalesce(sqlc.narg(config)::jsonb, '{}'),
        coalesce(sqlc.narg(env_vars)::jsonb, '{}'), sqlc.narg(parent), sqlc.narg(enforcement),
        coalesce(sqlc.narg(executor)::bigint,
                 CASE WHEN @as_system::bool THEN (SELECT i.id FROM identity i WHERE i.login = 'system') END),
        coalesce(sqlc.narg(permission_set_refs)::text[], '{}'),
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

-- name: ExecutionFinishAttemptBatch :many
-- Workers' results, one statement for all the results waiting together
-- (group commit, see store.ExecutionFinishAttempt; one round trip and
-- commit instead of four per result): for each, the fenced compare-and-set
-- of ExecutionUpdateStatus from running or canceling to its terminal status
-- with its result, plus its ExecutionCompleted message (a JSON object, the
-- execution's id set under "execution_id") only when the
-- executor has work for it — the run may be retried ("needed") or it holds
-- an admission slot to release. @rows is a JSON array of one object per
-- result (no execution twice); the result's "i" is its position (from 1),
-- one row each. done_id NULL: the attempt is stale. outbox_id NULL: no
-- message was needed.
WITH input AS (
    SELECT r.i::int AS i, (r.doc->>'id')::bigint AS id, (r.doc->>'fence')::bigint AS fence,
           (r.doc->>'status')::execution_status_enum AS status, r.doc->'result' AS result,
           coalesce((r.doc->>'needed')::boolean, false) AS needed, r.doc->'message' AS message
    FROM jsonb_array_elements(@rows::jsonb) WITH ORDINALITY AS r(doc, i)
), done AS (
    UPDATE execution
    SET status = input.status, result = input.result, result_fence = execution.fence,
        lease_expires_at = NULL, updated = now()
    FROM input
    WHERE execution.id = input.id AND execution.fence = input.fence AND execution.status IN ('running', 'canceling')
    RETURNING execution.id
), ob AS (
    INSERT INTO outbox (exchange, routing_key, message_type, payload, available_at)
    SELECT @exchange, @routing_key, @message_type, input.message || jsonb_build_object('execution_id', done.id),
           coalesce(sqlc.narg(available_at)::timestamptz, now())
    FROM done JOIN input ON input.id = done.id
    WHERE input.needed
       OR EXISTS (SELECT 1 FROM execution_admission_entry x WHERE x.execution_id = done.id)
    RETURNING outbox.id, outbox.payload, outbox.created, outbox.available_at,
              (outbox.payload->>'execution_id')::bigint AS execution_id
)
SELECT input.i, done.id AS done_id, ob.id AS outbox_id, ob.payload AS outbox_payload, ob.created AS outbox_created,
       ob.available_at AS outbox_available_at
FROM input
LEFT JOIN done ON done.id = input.id
LEFT JOIN ob ON ob.execution_id = input.id
ORDER BY input.i;

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

-- name: ExecutionClaimDispatchBatch :many
-- Workers' claims of dispatch messages, one statement for all the claims
-- waiting together (group commit, see store.ExecutionClaimDispatch): each
-- row must still be scheduled for that worker with the fence its dispatch
-- carried, so a duplicate or stale dispatch (rescheduled elsewhere, already
-- claimed) claims nothing and gets no row. @claims is a JSON array of one
-- object per claim; the result's "i" is its position (from 1). The
-- metadata_version comes back with each, so the worker can tell whether its
-- cached launch inputs are current without a round trip of its own. A
-- claim made from a wake-up names the dispatch's outbox row ("outbox_id"),
-- which the same statement deletes, claimed or refused: the dispatch is
-- settled either way, and the relay then publishes no broker copy of it
-- (store.Woken).
WITH input AS (
    SELECT r.i::int AS i, (r.doc->>'id')::bigint AS id, (r.doc->>'worker')::bigint AS worker,
           (r.doc->>'fence')::bigint AS fence, (r.doc->>'lease_seconds')::float8 AS lease_seconds,
           (r.doc->>'outbox_id')::bigint AS outbox_id
    FROM jsonb_array_elements(@claims::jsonb) WITH ORDINALITY AS r(doc, i)
), consumed AS (
    DELETE FROM outbox o USING input WHERE o.id = input.outbox_id
)
UPDATE execution
SET status = 'running',
    attempt = execution.attempt + 1,
    fence = execution.fence + 1,
    started_at = coalesce(execution.started_at, now()),
    lease_expires_at = now() + make_interval(secs => input.lease_seconds),
    updated = now() -- set here, the execution_updated trigger stays out (migration 00005)
FROM input
WHERE execution.id = input.id AND execution.status = 'scheduled' AND execution.worker = input.worker
  AND execution.fence = input.fence
RETURNING sqlc.embed(execution), input.i, coalesce((SELECT m.version FROM metadata_version m), 0)::bigint AS metadata_version;

-- name: WorkerHeartbeatRenew :many
-- A worker's heartbeat: the worker row's last_heartbeat and the lease of
-- each attempt it holds (@ids with their @fences) in one statement, so both
-- carry the same now(). A worker that stops between the two can then never
-- look alive after its leases lapsed (with lease_timeout at least
-- worker_stale_after), and the reaper's retries are not placed back on it.
-- One row per renewed attempt with its status (running, or canceling: the
-- worker missed the cancel message), or a single row without one; worker is
-- NULL when the worker row is gone. An attempt not returned lost its lease.
WITH hb AS (
    UPDATE worker SET last_heartbeat = now()
    WHERE worker.id = @worker
    RETURNING worker.id
), renewed AS (
    UPDATE execution e
    SET lease_expires_at = now() + make_interval(secs => @lease_seconds::float8), updated = now()
    FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@fences::bigint[]) AS fence) AS held
    WHERE e.id = held.id AND e.fence = held.fence AND e.status IN ('running', 'canceling')
    RETURNING e.id, e.status
)
SELECT hb.id AS worker, renewed.id AS execution_id, renewed.status
FROM (SELECT 1) AS one
LEFT JOIN hb ON true
LEFT JOIN renewed ON true;

-- name: ExecutionGetForUpdate :one
-- The scheduler locks the row for the length of its transaction so that
-- duplicate ExecutionRequested deliveries are processed one after another.
-- NO KEY UPDATE, so foreign-key checks from admission entries do not block.
SELECT * FROM execution WHERE id = @id FOR NO KEY UPDATE;

-- name: ExecutionScheduleOnWorker :one
-- Scheduler handoff: requested -> scheduled on one worker, a compare-and-set
-- so a duplicate or concurrent scheduling attempt changes nothing.
UPDATE execution
SET status = 'scheduled', worker = @worker
WHERE id = @id AND status = 'requested' AND fence = @fence
RETURNING *;

-- name: ExecutionRequeue :one
-- Puts a lost or never-claimed attempt back to requested. fence+1 makes any
-- message or late result of the old attempt stale.
UPDATE execution
SET status = 'requested', worker = NULL, lease_expires_at = NULL, fence = fence + 1
WHERE id = @id AND fence = @fence AND status::text = ANY(@from_statuses::text[])
RETURNING *;

-- name: ExecutionListUnclaimed :many
-- Reaper input: dispatches no worker claimed within older_than seconds.
SELECT * FROM execution
WHERE status = 'scheduled' AND updated < now() - make_interval(secs => @older_than_seconds::float8)
ORDER BY updated
LIMIT @batch_size
FOR UPDATE SKIP LOCKED;

-- name: ExecutionListPendingBefore :many
-- Requested executions of one action older than before_id that have not been
-- through admission yet: the scheduler queues them first (strict FIFO by
-- submission, whatever order their messages arrive in).
SELECT e.* FROM execution e
WHERE e.action = @action AND e.status = 'requested' AND e.id < @before_id
  AND NOT EXISTS (SELECT 1 FROM execution_admission_entry x WHERE x.execution_id = e.id)
ORDER BY e.id;

-- name: ExecutionCountDispatchedSince :one
-- Rate-limit input: executions of an action handed to a worker since a time.
SELECT count(*) FROM execution
WHERE action = @action AND worker IS NOT NULL AND id <> @exclude_id
  AND created >= now() - make_interval(secs => @window_seconds::float8);

-- name: ExecutionInsertRetry :one
-- Returns no row when this retry already exists (redelivered completion).
INSERT INTO execution (action, action_ref, config, env_vars, parent, enforcement, executor, permission_set_refs,
                       status, timeout_seconds, workflow_def, workflow_task, retry_count, max_retries,
                       retry_reason, original_execution)
VALUES (sqlc.narg(action), @action_ref, @config, @env_vars, sqlc.narg(parent), sqlc.narg(enforcement),
        sqlc.narg(executor), @permission_set_refs, 'requested', sqlc.narg(timeout_seconds), sqlc.narg(workflow_def),
        sqlc.narg(workflow_task), @retry_count, @max_retries, sqlc.narg(retry_reason), @original_execution)
ON CONFLICT (original_execution, retry_count) WHERE original_execution IS NOT NULL DO NOTHING
RETURNING *;

-- name: ExecutionWorkerPickLeastLoaded :one
-- The least-loaded eligible worker for runtime_names (attune_pick_worker,
-- migration 00002); no row when none is eligible.
SELECT p.worker_id::bigint AS worker_id
FROM (SELECT attune_pick_worker(@stale_after_seconds::float8, @runtime_names::text[]) AS worker_id) p
WHERE p.worker_id IS NOT NULL;

-- name: ExecutionListVisible :many
-- API list: newest first (id DESC, served by the primary key), offset pages
-- or keyset (before_id). Visibility: see_all, or started by viewer, or in one
-- of the packs, or one of the ids / their children (execution tokens).
SELECT * FROM execution e
WHERE (@see_all::boolean
       OR e.executor = sqlc.narg(viewer)::bigint
       OR split_part(e.action_ref, '.', 1) = ANY(@packs::text[])
       OR e.id = ANY(@ids::bigint[]) OR e.parent = ANY(@ids::bigint[]))
  AND (sqlc.narg(status)::execution_status_enum IS NULL OR e.status = sqlc.narg(status)::execution_status_enum)
  AND (sqlc.narg(action_ref)::text IS NULL OR e.action_ref = sqlc.narg(action_ref)::text)
  AND (sqlc.narg(pack_name)::text IS NULL OR split_part(e.action_ref, '.', 1) = sqlc.narg(pack_name)::text)
  AND (sqlc.narg(executor)::bigint IS NULL OR e.executor = sqlc.narg(executor)::bigint)
  AND (sqlc.narg(enforcement)::bigint IS NULL OR e.enforcement = sqlc.narg(enforcement)::bigint)
  AND (sqlc.narg(parent)::bigint IS NULL OR e.parent = sqlc.narg(parent)::bigint)
  AND (NOT @top_level_only::boolean OR e.parent IS NULL)
  AND (sqlc.narg(result_contains)::text IS NULL OR strpos(e.result::text, sqlc.narg(result_contains)::text) > 0)
  AND (sqlc.narg(rule_ref)::text IS NULL OR EXISTS (
       SELECT 1 FROM enforcement en WHERE en.id = e.enforcement AND en.rule_ref = sqlc.narg(rule_ref)::text))
  AND (sqlc.narg(trigger_ref)::text IS NULL OR EXISTS (
       SELECT 1 FROM enforcement en WHERE en.id = e.enforcement AND en.trigger_ref = sqlc.narg(trigger_ref)::text))
  AND (@before_id::bigint = 0 OR e.id < @before_id::bigint)
ORDER BY e.id DESC
LIMIT @page_limit OFFSET @page_offset;

-- name: ExecutionCountVisible :one
SELECT count(*) FROM execution e
WHERE (@see_all::boolean
       OR e.executor = sqlc.narg(viewer)::bigint
       OR split_part(e.action_ref, '.', 1) = ANY(@packs::text[])
       OR e.id = ANY(@ids::bigint[]) OR e.parent = ANY(@ids::bigint[]))
  AND (sqlc.narg(status)::execution_status_enum IS NULL OR e.status = sqlc.narg(status)::execution_status_enum)
  AND (sqlc.narg(action_ref)::text IS NULL OR e.action_ref = sqlc.narg(action_ref)::text)
  AND (sqlc.narg(pack_name)::text IS NULL OR split_part(e.action_ref, '.', 1) = sqlc.narg(pack_name)::text)
  AND (sqlc.narg(executor)::bigint IS NULL OR e.executor = sqlc.narg(executor)::bigint)
  AND (sqlc.narg(enforcement)::bigint IS NULL OR e.enforcement = sqlc.narg(enforcement)::bigint)
  AND (sqlc.narg(parent)::bigint IS NULL OR e.parent = sqlc.narg(parent)::bigint)
  AND (NOT @top_level_only::boolean OR e.parent IS NULL)
  AND (sqlc.narg(result_contains)::text IS NULL OR strpos(e.result::text, sqlc.narg(result_contains)::text) > 0)
  AND (sqlc.narg(rule_ref)::text IS NULL OR EXISTS (
       SELECT 1 FROM enforcement en WHERE en.id = e.enforcement AND en.rule_ref = sqlc.narg(rule_ref)::text))
  AND (sqlc.narg(trigger_ref)::text IS NULL OR EXISTS (
       SELECT 1 FROM enforcement en WHERE en.id = e.enforcement AND en.trigger_ref = sqlc.narg(trigger_ref)::text))
  AND (@before_id::bigint = 0 OR e.id < @before_id::bigint);

-- name: ExecutionStatsVisible :many
-- Count per status of the executions the caller may see.
SELECT e.status::text AS status, count(*) AS count FROM execution e
WHERE (@see_all::boolean
       OR e.executor = sqlc.narg(viewer)::bigint
       OR split_part(e.action_ref, '.', 1) = ANY(@packs::text[]))
GROUP BY e.status ORDER BY e.status;
