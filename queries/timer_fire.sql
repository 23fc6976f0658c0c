-- name: TimerFireInsert :one
-- Returns no row when this (rule, scheduled_for) fire was already recorded.
INSERT INTO timer_fire (rule_id, scheduled_for, event_id)
VALUES (@rule_id, @scheduled_for, sqlc.narg(event_id))
ON CONFLICT ON CONSTRAINT timer_fire_uniq DO NOTHING
RETURNING *;

-- name: TimerFireLatest :one
SELECT * FROM timer_fire WHERE rule_id = @rule_id ORDER BY scheduled_for DESC LIMIT 1;

-- name: TimerFireCountByRule :one
-- How many fires a rule has had (the payload's execution_count).
SELECT count(*) FROM timer_fire WHERE rule_id = @rule_id;
