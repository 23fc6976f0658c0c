-- name: OutboxInsert :one
-- Must run in the transaction that makes the state change it announces.
INSERT INTO outbox (exchange, routing_key, message_type, payload, available_at)
VALUES (@exchange, @routing_key, @message_type, @payload,
        coalesce(sqlc.narg(available_at)::timestamptz, now()))
RETURNING *;

-- name: OutboxClaimBatch :many
-- Claims up to batch_size due rows for one relay. SKIP LOCKED keeps concurrent
-- relays off each other's rows, and pushing available_at forward by the lease
-- keeps them off once this statement commits. If the relay dies the rows
-- become due again when the lease lapses (at-least-once).
WITH picked AS (
    SELECT o.id FROM outbox o
    WHERE o.available_at <= now()
    ORDER BY o.available_at, o.id
    LIMIT @batch_size
    FOR UPDATE SKIP LOCKED
)
UPDATE outbox
SET attempts = outbox.attempts + 1,
    available_at = now() + make_interval(secs => @lease_seconds::float8)
FROM picked
WHERE outbox.id = picked.id
RETURNING outbox.*;

-- name: OutboxDeletePublished :execrows
-- A confirmed message is deleted rather than marked: the table then holds
-- only work still to do, and a DELETE writes no new row version or index
-- entries, which matters at one row per pipeline message.
DELETE FROM outbox WHERE id = ANY(@ids::bigint[]);

-- name: OutboxMarkFailed :execrows
-- Records a failed publish and schedules the next try after a backoff.
UPDATE outbox
SET last_error = @last_error, available_at = now() + make_interval(secs => @retry_after_seconds::float8)
WHERE id = @id;

-- name: OutboxCountPending :one
SELECT count(*) FROM outbox;

-- name: OutboxGet :one
SELECT * FROM outbox WHERE id = @id;

-- name: OutboxPresent :many
-- Which of the rows a relay held back are still there: their consumers did
-- not handle them from the wake-up (store.OutboxConsumed).
SELECT id FROM outbox WHERE id = ANY(@ids::bigint[]);
