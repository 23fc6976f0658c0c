-- name: WebhookEventLogInsert :one
-- One row per webhook request, accepted or rejected (spec §5.3).
INSERT INTO webhook_event_log (trigger_id, trigger_ref, webhook_key, event_id, source_ip, user_agent,
    payload_size_bytes, headers, status_code, error_message, processing_time_ms, hmac_verified,
    rate_limited, ip_allowed)
VALUES (@trigger_id, @trigger_ref, @webhook_key, sqlc.narg(event_id), sqlc.narg(source_ip), sqlc.narg(user_agent),
    sqlc.narg(payload_size_bytes), sqlc.narg(headers), sqlc.narg(status_code), sqlc.narg(error_message),
    sqlc.narg(processing_time_ms), sqlc.narg(hmac_verified), @rate_limited, sqlc.narg(ip_allowed))
RETURNING id;

-- name: WebhookEventLogInsertIfEnabled :one
-- The accepted request's log row, written in the event's transaction and only
-- while the key still belongs to an enabled, webhook-enabled trigger: no row
-- means the webhook was disabled or regenerated after the (cached) lookup,
-- and the caller rolls the event back.
INSERT INTO webhook_event_log (trigger_id, trigger_ref, webhook_key, event_id, source_ip, user_agent,
    payload_size_bytes, headers, status_code, error_message, processing_time_ms, hmac_verified,
    rate_limited, ip_allowed)
SELECT t.id, t.ref, @webhook_key, sqlc.narg(event_id), sqlc.narg(source_ip), sqlc.narg(user_agent),
    sqlc.narg(payload_size_bytes), sqlc.narg(headers), sqlc.narg(status_code), sqlc.narg(error_message),
    sqlc.narg(processing_time_ms), sqlc.narg(hmac_verified), false, sqlc.narg(ip_allowed)
FROM trigger t
WHERE t.id = @trigger_id AND t.webhook_key = @webhook_key AND t.webhook_enabled AND t.enabled
RETURNING id;

-- name: WebhookEventLogCountRecent :one
-- Rate-limit input (spec §5.3 step 6): requests not themselves rate limited
-- for (trigger, key, source ip) within the window.
SELECT count(*) FROM webhook_event_log
WHERE trigger_id = @trigger_id AND webhook_key = @webhook_key AND source_ip = @source_ip
  AND NOT rate_limited AND created > now() - make_interval(secs => @window_seconds::float8);

-- name: WebhookEventLogListByTrigger :many
SELECT * FROM webhook_event_log WHERE trigger_id = @trigger_id ORDER BY id DESC LIMIT @page_size;
