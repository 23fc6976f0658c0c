-- Worker wake-up: over a broker, every ExecutionDispatch written to the
-- outbox is also sent with NOTIFY on its worker's channel
-- (attune_worker_wake_<worker id>), delivered when the writing transaction
-- commits, so an idle worker can claim a moment before the quorum queue
-- delivers the broker's copy. The copy is still published and stays the
-- delivery guarantee; the fenced claim makes the two one run.
--
-- Sessions opt in with the setting attune.wake_workers = on (the server
-- sets it on its pool when it uses RabbitMQ): with the in-process bus no
-- worker listens, and nothing is queued for nobody. Dispatches are always
-- due at once, and a payload too long for NOTIFY is simply not sent.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION attune_wake_worker() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF octet_length(NEW.payload::text) < 7900 THEN
        PERFORM pg_notify('attune_worker_wake_' || (NEW.payload->>'worker_id'), NEW.payload::text);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER outbox_wake_worker AFTER INSERT ON outbox FOR EACH ROW
    WHEN (NEW.message_type = 'ExecutionDispatch' AND NEW.payload ? 'worker_id'
          AND current_setting('attune.wake_workers', true) = 'on')
    EXECUTE FUNCTION attune_wake_worker();

-- +goose Down
DROP TRIGGER outbox_wake_worker ON outbox;
DROP FUNCTION attune_wake_worker();
