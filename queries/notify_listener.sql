-- name: NotifyListenerLock :exec
-- Serialises the changes to notify_listener with the gate they recompute
-- (NotifyGateSync), so the gate follows the rows in commit order.
LOCK TABLE notify_listener IN EXCLUSIVE MODE;

-- name: NotifyListenerRefresh :exec
-- A notifier with WebSocket clients announces itself: entity notifications
-- are sent while any row is live (see NotifyGateSync).
INSERT INTO notify_listener (holder, expires_at)
VALUES (@holder, now() + make_interval(secs => @ttl_seconds::float8))
ON CONFLICT (holder) DO UPDATE SET expires_at = EXCLUDED.expires_at;

-- name: NotifyListenerDelete :exec
DELETE FROM notify_listener WHERE holder = @holder;

-- name: NotifyGateSync :exec
-- Sets the gate the notification triggers read (migration 00005) to the
-- last second any live row covers; 1 when none is live.
SELECT setval('attune_notify_until', coalesce(ceil(extract(epoch FROM max(expires_at)))::bigint, 1))
FROM notify_listener WHERE expires_at > now();

-- name: ListenerBackendPIDs :many
-- The backend pids of this database's sessions named @application_name, in
-- order: the executors listening for wake-ups share them out by this list.
SELECT a.pid::bigint AS pid
FROM pg_catalog.pg_stat_activity a
WHERE a.datname = current_database() AND a.application_name = @application_name::text
ORDER BY a.pid;
