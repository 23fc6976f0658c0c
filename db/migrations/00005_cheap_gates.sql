-- Cheaper per-row work on the hot tables.
--
-- 1. The entity-notification gate. attune_notify_wanted() (plpgsql, an SPI
--    query on notify_listener) ran in the WHEN clause of five row triggers
--    per pipeline event: measured with pgbench, about 15 µs per statement
--    even when it says no. The gate is now the sequence
--    attune_notify_until, whose value is the epoch second until which some
--    notifier has WebSocket clients (1: none). The WHEN clauses read it with
--    the built-in pg_sequence_last_value, which needs no function call of
--    our own and no query (about 3 µs). notify_listener stays the record:
--    every change to it recomputes the sequence from the live rows under a
--    table lock (store.NotifyListenerRefresh/Delete), so the value follows
--    the rows in commit order. setval is not transactional, which is what a
--    gate read by other sessions wants.
--
-- 2. execution.updated. The BEFORE UPDATE trigger (plpgsql) fired for each
--    of the three updates of every execution (claim, result, lease
--    renewals). The hot statements now set updated themselves and the
--    trigger fires only for statements that left it as it was.

-- +goose Up
CREATE SEQUENCE attune_notify_until MINVALUE 1 START 1;
SELECT setval('attune_notify_until',
              coalesce(ceil(extract(epoch FROM max(expires_at)))::bigint, 1))
FROM notify_listener WHERE expires_at > now();

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION attune_notify_wanted() RETURNS boolean LANGUAGE sql VOLATILE AS $$
    SELECT coalesce(pg_sequence_last_value('attune_notify_until') > date_part('epoch', now()), false)
$$;
-- +goose StatementEnd

DROP TRIGGER event_notify_created ON event;
CREATE TRIGGER event_notify_created AFTER INSERT ON event FOR EACH ROW
    WHEN (pg_sequence_last_value('attune_notify_until') > date_part('epoch', now()))
    EXECUTE FUNCTION notify_event_created();
DROP TRIGGER enforcement_notify_created ON enforcement;
CREATE TRIGGER enforcement_notify_created AFTER INSERT ON enforcement FOR EACH ROW
    WHEN (pg_sequence_last_value('attune_notify_until') > date_part('epoch', now()))
    EXECUTE FUNCTION notify_enforcement_change();
DROP TRIGGER enforcement_notify_status ON enforcement;
CREATE TRIGGER enforcement_notify_status AFTER UPDATE OF status ON enforcement FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          AND pg_sequence_last_value('attune_notify_until') > date_part('epoch', now()))
    EXECUTE FUNCTION notify_enforcement_change();
DROP TRIGGER execution_notify_created ON execution;
CREATE TRIGGER execution_notify_created AFTER INSERT ON execution FOR EACH ROW
    WHEN (pg_sequence_last_value('attune_notify_until') > date_part('epoch', now()))
    EXECUTE FUNCTION notify_execution_change();
DROP TRIGGER execution_notify_status ON execution;
CREATE TRIGGER execution_notify_status AFTER UPDATE OF status ON execution FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          AND pg_sequence_last_value('attune_notify_until') > date_part('epoch', now()))
    EXECUTE FUNCTION notify_execution_change();

DROP TRIGGER execution_updated ON execution;
CREATE TRIGGER execution_updated BEFORE UPDATE ON execution FOR EACH ROW
    WHEN (OLD.updated IS NOT DISTINCT FROM NEW.updated)
    EXECUTE FUNCTION update_updated_column();

-- +goose Down
DROP TRIGGER execution_updated ON execution;
CREATE TRIGGER execution_updated BEFORE UPDATE ON execution FOR EACH ROW EXECUTE FUNCTION update_updated_column();

DROP TRIGGER execution_notify_status ON execution;
CREATE TRIGGER execution_notify_status AFTER UPDATE OF status ON execution
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND attune_notify_wanted())
    EXECUTE FUNCTION notify_execution_change();
DROP TRIGGER execution_notify_created ON execution;
CREATE TRIGGER execution_notify_created AFTER INSERT ON execution
    FOR EACH ROW WHEN (attune_notify_wanted()) EXECUTE FUNCTION notify_execution_change();
DROP TRIGGER enforcement_notify_status ON enforcement;
CREATE TRIGGER enforcement_notify_status AFTER UPDATE OF status ON enforcement
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND attune_notify_wanted())
    EXECUTE FUNCTION notify_enforcement_change();
DROP TRIGGER enforcement_notify_created ON enforcement;
CREATE TRIGGER enforcement_notify_created AFTER INSERT ON enforcement
    FOR EACH ROW WHEN (attune_notify_wanted()) EXECUTE FUNCTION notify_enforcement_change();
DROP TRIGGER event_notify_created ON event;
CREATE TRIGGER event_notify_created AFTER INSERT ON event
    FOR EACH ROW WHEN (attune_notify_wanted()) EXECUTE FUNCTION notify_event_created();

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION attune_notify_wanted() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM notify_listener WHERE expires_at > now());
END;
$$;
-- +goose StatementEnd
DROP SEQUENCE attune_notify_until;
