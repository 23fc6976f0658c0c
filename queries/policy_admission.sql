-- name: PolicyEffectiveForAction :one
-- The one policy that governs an action: action scope beats pack scope
-- (action_ref '<pack>.*' with no action) beats global ('*' or '*.*'); higher
-- priority wins within a scope, the older policy breaks ties.
SELECT p.* FROM policy p
WHERE p.enabled
  AND (p.action = @action_id
       OR p.action_ref = @action_ref::text
       OR (p.action IS NULL AND p.action_ref = @pack_ref::text || '.*')
       OR (p.action IS NULL AND p.action_ref IN ('*', '*.*')))
ORDER BY CASE WHEN p.action = @action_id OR p.action_ref = @action_ref::text THEN 0
              WHEN p.action_ref = @pack_ref::text || '.*' THEN 1
              ELSE 2 END,
         p.priority DESC, p.created, p.id
LIMIT 1;

-- name: AdmissionStateUpsert :one
-- Creates or refreshes the admission state of (action, group) and locks it
-- for the caller's transaction: admission decisions of one group serialise.
INSERT INTO execution_admission_state (action_id, group_key, max_concurrent)
VALUES (@action_id, sqlc.narg(group_key), @max_concurrent)
ON CONFLICT (action_id, coalesce(group_key, '')) DO UPDATE SET max_concurrent = EXCLUDED.max_concurrent
RETURNING *;

-- name: AdmissionStateLock :one
SELECT * FROM execution_admission_state WHERE id = @id FOR UPDATE;

-- name: AdmissionStateTakeOrder :one
-- Hands out the next queue_order and counts the admission.
UPDATE execution_admission_state
SET next_queue_order = next_queue_order + 1, total_enqueued = total_enqueued + 1
WHERE id = @id
RETURNING (next_queue_order - 1)::bigint AS queue_order;

-- name: AdmissionStateCountCompleted :exec
UPDATE execution_admission_state SET total_completed = total_completed + 1 WHERE id = @id;

-- name: AdmissionEntryGetByExecution :one
SELECT * FROM execution_admission_entry WHERE execution_id = @execution_id;

-- name: AdmissionEntryInsert :one
INSERT INTO execution_admission_entry (state_id, execution_id, status, queue_order, activated_at)
VALUES (@state_id, @execution_id, @status, @queue_order, CASE WHEN @status::text = 'active' THEN now() END)
RETURNING *;

-- name: AdmissionEntryDeleteByExecution :one
DELETE FROM execution_admission_entry WHERE execution_id = @execution_id RETURNING *;

-- name: AdmissionEntryCounts :one
SELECT count(*) FILTER (WHERE status = 'active')::bigint AS active,
       count(*) FILTER (WHERE status = 'queued')::bigint AS queued
FROM execution_admission_entry WHERE state_id = @state_id;

-- name: AdmissionEntryPromoteHead :one
-- Activates the oldest queued entry (strict FIFO by queue_order).
UPDATE execution_admission_entry
SET status = 'active', activated_at = now()
WHERE id = (SELECT x.id FROM execution_admission_entry x
            WHERE x.state_id = @state_id AND x.status = 'queued'
            ORDER BY x.queue_order LIMIT 1)
RETURNING *;
