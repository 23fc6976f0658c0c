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

-- name: WebhookEventIngest :one
-- An accepted webhook request in one statement — one round trip and one
-- commit instead of five: the event, its announcement in the outbox
-- (@message with the new event's id added under "event_id", and a snapshot
-- of the event with the metadata version for the executor) and the
-- request's log row, written only while the key still belongs to an
-- enabled, webhook-enabled trigger and only for a new event. No row means
-- the webhook was disabled meanwhile or the idempotency key was used
-- before; the caller then takes the transactional path, which tells the two
-- apart.
WITH t AS (
    SELECT tr.id FROM trigger tr
    WHERE tr.id = @trigger_id AND tr.webhook_key = @webhook_key AND tr.webhook_enabled AND tr.enabled
), ev AS (
    INSERT INTO event (trigger, trigger_ref, config, payload, source_ref, idempotency_key)
    SELECT t.id, @trigger_ref, sqlc.narg(config), sqlc.narg(payload), sqlc.narg(source_ref), sqlc.narg(idempotency_key)
    FROM t
    ON CONFLICT (source_ref, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING event.id, event.created, event.payload
), ob AS (
    -- An event of up to 8 KiB travels with its message as a snapshot
    -- (pipeline.EventSnapshot), with the metadata version of this statement.
    INSERT INTO outbox (exchange, routing_key, message_type, payload, available_at)
    SELECT @exchange, @routing_key, @message_type,
           @message::jsonb || jsonb_build_object('event_id', ev.id)
             || CASE WHEN coalesce(octet_length(ev.payload::text), 0) <= 8192
                     THEN jsonb_build_object('snapshot', jsonb_build_object(
                          'payload', ev.payload, 'created', ev.created,
                          'metadata_version', coalesce((SELECT m.version FROM metadata_version m), 0)))
                     ELSE '{}'::jsonb END,
           coalesce(sqlc.narg(available_at)::timestamptz, now())
    FROM ev
    RETURNING outbox.*
), wl AS (
    INSERT INTO webhook_event_log (trigger_id, trigger_ref, webhook_key, event_id, source_ip, user_agent,
        payload_size_bytes, headers, status_code, processing_time_ms, hmac_verified, rate_limited, ip_allowed)
    SELECT @trigger_id, @trigger_ref, @webhook_key, ev.id, sqlc.narg(source_ip), sqlc.narg(user_agent),
        sqlc.narg(payload_size_bytes), sqlc.narg(headers), sqlc.narg(status_code), sqlc.narg(processing_time_ms),
        sqlc.narg(hmac_verified), false, sqlc.narg(ip_allowed)
    FROM ev
)
SELECT ev.id AS event_id, ev.created AS event_created, ob.id AS outbox_id, ob.payload AS outbox_payload,
       ob.created AS outbox_created, ob.available_at AS outbox_available_at
FROM ev CROSS JOIN ob;
