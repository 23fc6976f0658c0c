-- name: LeaderLeaseAcquire :one
-- Takes a free or expired lease, or renews one already held by holder. term
-- grows only when the holder changes, so it works as a fencing token. No row
-- means somebody else holds a live lease.
INSERT INTO leader_lease (name, holder, term, acquired_at, expires_at)
VALUES (@name, @holder, 1, now(), now() + make_interval(secs => @ttl_seconds::float8))
ON CONFLICT (name) DO UPDATE
SET holder = EXCLUDED.holder,
    term = CASE WHEN leader_lease.holder = EXCLUDED.holder THEN leader_lease.term ELSE leader_lease.term + 1 END,
    acquired_at = CASE WHEN leader_lease.holder = EXCLUDED.holder THEN leader_lease.acquired_at ELSE now() END,
    expires_at = EXCLUDED.expires_at
WHERE leader_lease.holder = EXCLUDED.holder OR leader_lease.expires_at < now()
RETURNING *;

-- name: LeaderLeaseRelease :execrows
DELETE FROM leader_lease WHERE name = @name AND holder = @holder;
