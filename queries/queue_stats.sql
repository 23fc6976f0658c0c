-- name: QueueStatsRefresh :one
-- Recomputes one action's row from the admission tables (the source of truth).
INSERT INTO queue_stats (action_id, queue_length, active_count, max_concurrent, oldest_enqueued_at,
                         total_enqueued, total_completed, last_updated)
SELECT @action_id::bigint,
       count(x.id) FILTER (WHERE x.status = 'queued')::int,
       count(x.id) FILTER (WHERE x.status = 'active')::int,
       @max_concurrent::int,
       min(x.enqueued_at) FILTER (WHERE x.status = 'queued'),
       (SELECT coalesce(sum(s.total_enqueued), 0) FROM execution_admission_state s WHERE s.action_id = @action_id::bigint)::bigint,
       (SELECT coalesce(sum(s.total_completed), 0) FROM execution_admission_state s WHERE s.action_id = @action_id::bigint)::bigint,
       now()
FROM execution_admission_entry x
JOIN execution_admission_state st ON st.id = x.state_id AND st.action_id = @action_id::bigint
ON CONFLICT (action_id) DO UPDATE
SET queue_length = EXCLUDED.queue_length, active_count = EXCLUDED.active_count,
    max_concurrent = EXCLUDED.max_concurrent, oldest_enqueued_at = EXCLUDED.oldest_enqueued_at,
    total_enqueued = EXCLUDED.total_enqueued, total_completed = EXCLUDED.total_completed,
    last_updated = EXCLUDED.last_updated
RETURNING *;

-- name: QueueStatsGet :one
SELECT * FROM queue_stats WHERE action_id = @action_id;
