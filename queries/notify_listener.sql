-- name: NotifyListenerRefresh :exec
-- A notifier with WebSocket clients announces itself: entity notifications
-- are sent while any row is live (see attune_notify_wanted).
INSERT INTO notify_listener (holder, expires_at)
VALUES (@holder, now() + make_interval(secs => @ttl_seconds::float8))
ON CONFLICT (holder) DO UPDATE SET expires_at = EXCLUDED.expires_at;

-- name: NotifyListenerDelete :exec
DELETE FROM notify_listener WHERE holder = @holder;
