-- Wake-ups name their outbox row. A consumer that handled a message from
-- its wake-up (migrations 00003 and 00004) deletes the row, and the relay,
-- which holds the broker's copy of a woken message back for
-- message_queue.wake_copy_delay, then publishes no copy at all: the broker
-- carries only the messages no wake-up handled in time. The payload sent is
-- the row's payload with "outbox_id" added; the broker's copy is unchanged.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION attune_wake_notify(channel text, outbox_id bigint, payload jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    body text := (payload || jsonb_build_object('outbox_id', outbox_id))::text;
BEGIN
    IF octet_length(body) < 7900 THEN
        PERFORM pg_notify(channel, body);
    END IF;
END;
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION attune_wake_worker() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM attune_wake_notify('attune_worker_wake_' || (NEW.payload->>'worker_id'), NEW.id, NEW.payload);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION attune_wake_executor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM attune_wake_notify('attune_executor_wake', NEW.id, NEW.payload);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION attune_wake_worker() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF octet_length(NEW.payload::text) < 7900 THEN
        PERFORM pg_notify('attune_worker_wake_' || (NEW.payload->>'worker_id'), NEW.payload::text);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION attune_wake_executor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF octet_length(NEW.payload::text) < 7900 THEN
        PERFORM pg_notify('attune_executor_wake', NEW.payload::text);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
DROP FUNCTION attune_wake_notify(text, bigint, jsonb);
