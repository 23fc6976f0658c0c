-- Executor wake-up: over a broker, every EventCreated written to the outbox
-- is also sent with NOTIFY on attune_executor_wake, delivered when the
-- writing transaction commits, so an executor can evaluate the event before
-- the relay's publish and the quorum queue's write deliver the broker's
-- copy (about 1.5 ms on a 2-core machine). The copy is still published and
-- stays the delivery guarantee; the unique (rule, event) enforcement makes
-- the two one firing, and the executors share the wake-ups between them
-- (event id modulo the executors listening) so each is evaluated once.
--
-- The broker's copy still reaches either executor. So that the one that was
-- not woken need not fire again only to find the enforcement there, every
-- enforcement of an event is announced on attune_executor_fired
-- ('<event id> <rule id>') as it commits: that executor acks its copy once
-- it has heard of every rule the event matches, and fires itself only when
-- a hint does not come in time.
--
-- The same session setting as the worker wake-up (attune.wake_workers,
-- migration 00003) turns it on: the server sets it when it uses RabbitMQ.
-- A payload too long for NOTIFY is simply not sent.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION attune_wake_executor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF octet_length(NEW.payload::text) < 7900 THEN
        PERFORM pg_notify('attune_executor_wake', NEW.payload::text);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION attune_enforcement_fired() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('attune_executor_fired', NEW.event::text || ' ' || NEW.rule::text);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER enforcement_fired AFTER INSERT ON enforcement FOR EACH ROW
    WHEN (NEW.event IS NOT NULL AND NEW.rule IS NOT NULL
          AND current_setting('attune.wake_workers', true) = 'on')
    EXECUTE FUNCTION attune_enforcement_fired();
CREATE TRIGGER outbox_wake_executor AFTER INSERT ON outbox FOR EACH ROW
    WHEN (NEW.message_type = 'EventCreated' AND NEW.payload ? 'event_id'
          AND current_setting('attune.wake_workers', true) = 'on')
    EXECUTE FUNCTION attune_wake_executor();

-- +goose Down
DROP TRIGGER outbox_wake_executor ON outbox;
DROP TRIGGER enforcement_fired ON enforcement;
DROP FUNCTION attune_enforcement_fired();
DROP FUNCTION attune_wake_executor();
