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

-- name: WebhookEventIngestBatch :many
-- Accepted webhook requests, one statement for all the requests waiting
-- together (group commit, see store.WebhookIngest): for each, the event,
-- its announcement in the outbox (the request's message with the new
-- event's id added under "event_id", and a snapshot of the event with the
-- metadata version for the executor) and the request's log row. @rows is a
-- JSON array of one object per request; the result's "i" is its position
-- (from 1). Event ids are taken before the inserts so that each request's
-- message and log row join back to its event. A request gets no row when
-- its key no longer belongs to an enabled, webhook-enabled trigger, or when
-- its idempotency key was used before (by an earlier request or one earlier
-- in @rows): the caller then takes the transactional path, which tells the
-- two apart.
WITH input AS (
    SELECT nextval('event_id_seq') AS event_id, r.i::int AS i,
           (r.doc->>'trigger_id')::bigint AS trigger_id, r.doc->>'trigger_ref' AS trigger_ref,
           r.doc->'config' AS config, r.doc->'payload' AS payload, r.doc->>'source_ref' AS source_ref,
           r.doc->>'idempotency_key' AS idempotency_key,
           r.doc->>'webhook_key' AS webhook_key, r.doc->'message' AS message, r.doc->'log' AS log
    FROM jsonb_array_elements(@rows::jsonb) WITH ORDINALITY AS r(doc, i)
    JOIN trigger tr ON tr.id = (r.doc->>'trigger_id')::bigint AND tr.webhook_key = r.doc->>'webhook_key'
                   AND tr.webhook_enabled AND tr.enabled
), ev AS (
    INSERT INTO event (id, trigger, trigger_ref, config, payload, source_ref, idempotency_key)
    SELECT input.event_id, input.trigger_id, input.trigger_ref, input.config, input.payload, input.source_ref,
           input.idempotency_key
    FROM input ORDER BY input.i
    ON CONFLICT (source_ref, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING event.id, event.created, event.payload
), ob AS (
    -- An event of up to 8 KiB travels with its message as a snapshot
    -- (pipeline.EventSnapshot), with the metadata version of this statement.
    INSERT INTO outbox (exchange, routing_key, message_type, payload, available_at)
    SELECT @exchange, @routing_key, @message_type,
           input.message || jsonb_build_object('event_id', ev.id)
             || CASE WHEN coalesce(octet_length(ev.payload::text), 0) <= 8192
                     THEN jsonb_build_object('snapshot', jsonb_build_object(
                          'payload', ev.payload, 'created', ev.created,
                          'metadata_version', coalesce((SELECT m.version FROM metadata_version m), 0)))
                     ELSE '{}'::jsonb END,
           coalesce(sqlc.narg(available_at)::timestamptz, now())
    FROM ev JOIN input ON input.event_id = ev.id
    RETURNING outbox.id, outbox.payload, outbox.created, outbox.available_at
), wl AS (
    INSERT INTO webhook_event_log (trigger_id, trigger_ref, webhook_key, event_id, source_ip, user_agent,
        payload_size_bytes, headers, status_code, processing_time_ms, hmac_verified, rate_limited, ip_allowed)
    SELECT input.trigger_id, input.trigger_ref, input.webhook_key, ev.id, input.log->>'source_ip',
        input.log->>'user_agent', (input.log->>'payload_size_bytes')::int, input.log->'headers',
        (input.log->>'status_code')::int, (input.log->>'processing_time_ms')::int,
        (input.log->>'hmac_verified')::boolean, false, (input.log->>'ip_allowed')::boolean
    FROM ev JOIN input ON input.event_id = ev.id
)
SELECT input.i, ev.id AS event_id, ev.created AS event_created, ob.id AS outbox_id, ob.payload AS outbox_payload,
       ob.created AS outbox_created, ob.available_at AS outbox_available_at
FROM ev
JOIN input ON input.event_id = ev.id
JOIN ob ON (ob.payload->>'event_id')::bigint = ev.id;
