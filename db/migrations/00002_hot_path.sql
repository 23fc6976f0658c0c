-- Cheaper event → execution path (measured with pg_stat_statements under the
-- W1 throughput workload, docs/development.md):
--
-- 1. Indexes nothing reads are dropped, and the execution indexes only the
--    scheduler and reaper read are limited to in-flight rows. Every status
--    change of an execution is a non-HOT update (status is indexed), which
--    adds an entry to each index whose predicate the new row satisfies, so
--    a finished execution no longer touches them. Lists page by id, served
--    by the primary keys; nothing orders or filters by `created` through
--    these indexes.
-- 2. metadata_version counts committed changes to what rule firing and a
--    launch read (rules, actions, policies, runtimes, keys). Executors cache
--    those rows and read the counter with each event, in the same
--    statement; workers read it while they claim. A cache is used only while
--    nothing it holds has changed: a rule disabled and committed before an
--    event is read is never fired by it.
-- 3. The notification gate is a PL/pgSQL function (its query plan is kept
--    per session) instead of an SQL function, which PostgreSQL parsed and
--    planned again on every call — from every row trigger, four or more
--    times per event: ~12% of the database's CPU under load, with no client
--    listening. The hot-path row triggers test the gate in WHEN, so while no
--    notifier has clients no trigger call is even queued.

-- +goose Up

DROP INDEX event_created_idx;
DROP INDEX enforcement_created_idx;
DROP INDEX execution_created_idx;
DROP INDEX event_trigger_ref_idx;
CREATE INDEX event_trigger_ref_idx ON event (trigger_ref, id DESC);
DROP INDEX execution_status_idx;
CREATE INDEX execution_status_active_idx ON execution (status)
    WHERE status IN ('requested', 'scheduling', 'scheduled', 'running', 'canceling');
-- The worker foreign key (ON DELETE SET NULL) loses its full index: attune
-- never deletes worker rows (they are history), so only a manual DELETE
-- pays a scan of execution for it.
DROP INDEX execution_worker_status_idx;
CREATE INDEX execution_worker_active_idx ON execution (worker, status)
    WHERE status IN ('scheduled', 'running', 'canceling');

-- One row, bumped once by each transaction that changed any of those rows,
-- at its commit (deferred constraint triggers): the new value becomes
-- visible exactly when the change does, and the row is locked only for the
-- instant before commit, so metadata writers neither queue behind each
-- other for their whole transaction nor deadlock over it. A statement that
-- changes no row bumps nothing.
CREATE TABLE metadata_version (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint NOT NULL DEFAULT 0
);
INSERT INTO metadata_version DEFAULT VALUES;

-- +goose StatementBegin
CREATE FUNCTION bump_metadata_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Row triggers fire once per changed row; the transaction-local mark
    -- makes the first one bump and the rest return.
    IF current_setting('attune.metadata_bumped', true) IS DISTINCT FROM txid_current()::text THEN
        PERFORM set_config('attune.metadata_bumped', txid_current()::text, true);
        INSERT INTO metadata_version (id, version) VALUES (true, 1)
        ON CONFLICT (id) DO UPDATE SET version = metadata_version.version + 1;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE CONSTRAINT TRIGGER rule_metadata_version AFTER INSERT OR UPDATE OR DELETE ON rule
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_metadata_version();
CREATE CONSTRAINT TRIGGER action_metadata_version AFTER INSERT OR UPDATE OR DELETE ON action
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_metadata_version();
CREATE CONSTRAINT TRIGGER policy_metadata_version AFTER INSERT OR UPDATE OR DELETE ON policy
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_metadata_version();
CREATE CONSTRAINT TRIGGER runtime_metadata_version AFTER INSERT OR UPDATE OR DELETE ON runtime
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_metadata_version();
CREATE CONSTRAINT TRIGGER key_metadata_version AFTER INSERT OR UPDATE OR DELETE ON key
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_metadata_version();
-- TRUNCATE has no row triggers (nor deferred ones); it bumps at once.
CREATE TRIGGER rule_metadata_version_truncate AFTER TRUNCATE ON rule
    FOR EACH STATEMENT EXECUTE FUNCTION bump_metadata_version();
CREATE TRIGGER action_metadata_version_truncate AFTER TRUNCATE ON action
    FOR EACH STATEMENT EXECUTE FUNCTION bump_metadata_version();
CREATE TRIGGER policy_metadata_version_truncate AFTER TRUNCATE ON policy
    FOR EACH STATEMENT EXECUTE FUNCTION bump_metadata_version();
CREATE TRIGGER runtime_metadata_version_truncate AFTER TRUNCATE ON runtime
    FOR EACH STATEMENT EXECUTE FUNCTION bump_metadata_version();
CREATE TRIGGER key_metadata_version_truncate AFTER TRUNCATE ON key
    FOR EACH STATEMENT EXECUTE FUNCTION bump_metadata_version();

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION attune_notify_wanted() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM notify_listener WHERE expires_at > now());
END;
$$;
-- +goose StatementEnd

DROP TRIGGER event_notify_created ON event;
CREATE TRIGGER event_notify_created AFTER INSERT ON event
    FOR EACH ROW WHEN (attune_notify_wanted()) EXECUTE FUNCTION notify_event_created();
DROP TRIGGER enforcement_notify_created ON enforcement;
CREATE TRIGGER enforcement_notify_created AFTER INSERT ON enforcement
    FOR EACH ROW WHEN (attune_notify_wanted()) EXECUTE FUNCTION notify_enforcement_change();
DROP TRIGGER enforcement_notify_status ON enforcement;
CREATE TRIGGER enforcement_notify_status AFTER UPDATE OF status ON enforcement
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND attune_notify_wanted())
    EXECUTE FUNCTION notify_enforcement_change();
DROP TRIGGER execution_notify_created ON execution;
CREATE TRIGGER execution_notify_created AFTER INSERT ON execution
    FOR EACH ROW WHEN (attune_notify_wanted()) EXECUTE FUNCTION notify_execution_change();
DROP TRIGGER execution_notify_status ON execution;
CREATE TRIGGER execution_notify_status AFTER UPDATE OF status ON execution
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND attune_notify_wanted())
    EXECUTE FUNCTION notify_execution_change();

-- attune_pick_worker is the scheduler's choice of worker, shared by the
-- executor's placement query and the one-statement rule firing: eligible
-- workers are active, fresh (heartbeat within stale_after_seconds), not
-- cordoned, healthy or degraded, run actions and, when runtime_names is
-- non-empty, list one of those names (lowercase) in capabilities.runtimes.
-- Least loaded first, ties at random so idle workers share the work. The
-- load count stops at 32 (three times the default concurrency cap): past
-- that a worker is saturated and its exact backlog no longer matters, while
-- counting a backlog of thousands made each placement cost more the busier
-- the system was (each counted row is a heap visit: 0.25 ms per placement
-- with two workers and a 64-row cap under the W1 burst); with a single
-- candidate nothing is counted. PL/pgSQL, so the plans are kept per session.
-- NULL: none.
-- +goose StatementBegin
CREATE FUNCTION attune_pick_worker(stale_after_seconds float8, runtime_names text[]) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    eligible bigint[];
BEGIN
    SELECT array_agg(w.id) INTO eligible
    FROM worker w
    WHERE w.status = 'active' AND NOT w.cordoned
      AND w.worker_role IN ('action', 'hybrid')
      AND w.last_heartbeat > now() - make_interval(secs => stale_after_seconds)
      AND coalesce(w.capabilities #>> '{health,status}', 'healthy') IN ('healthy', 'degraded')
      AND (cardinality(runtime_names) = 0 OR EXISTS (
            SELECT 1
            FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(w.capabilities -> 'runtimes') = 'array'
                                                THEN w.capabilities -> 'runtimes' ELSE '[]'::jsonb END) AS r(name)
            WHERE lower(r.name) = ANY(runtime_names)));
    -- One candidate (or none) needs no load count.
    IF coalesce(cardinality(eligible), 0) <= 1 THEN
        RETURN eligible[1];
    END IF;
    RETURN (
        SELECT c.id
        FROM unnest(eligible) AS c(id)
        ORDER BY (SELECT count(*) FROM (SELECT 1 FROM execution e
                  WHERE e.worker = c.id AND e.status IN ('scheduled', 'running', 'canceling') LIMIT 32) AS active),
                 random()
        LIMIT 1);
END;
$$;
-- +goose StatementEnd

-- +goose Down

DROP FUNCTION IF EXISTS attune_pick_worker(float8, text[]);
DROP TRIGGER execution_notify_status ON execution;
CREATE TRIGGER execution_notify_status AFTER UPDATE OF status ON execution
    FOR EACH ROW EXECUTE FUNCTION notify_execution_change();
DROP TRIGGER execution_notify_created ON execution;
CREATE TRIGGER execution_notify_created AFTER INSERT ON execution
    FOR EACH ROW EXECUTE FUNCTION notify_execution_change();
DROP TRIGGER enforcement_notify_status ON enforcement;
CREATE TRIGGER enforcement_notify_status AFTER UPDATE OF status ON enforcement
    FOR EACH ROW EXECUTE FUNCTION notify_enforcement_change();
DROP TRIGGER enforcement_notify_created ON enforcement;
CREATE TRIGGER enforcement_notify_created AFTER INSERT ON enforcement
    FOR EACH ROW EXECUTE FUNCTION notify_enforcement_change();
DROP TRIGGER event_notify_created ON event;
CREATE TRIGGER event_notify_created AFTER INSERT ON event FOR EACH ROW EXECUTE FUNCTION notify_event_created();
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION attune_notify_wanted() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM notify_listener WHERE expires_at > now())
$$;
-- +goose StatementEnd

DROP TRIGGER IF EXISTS key_metadata_version_truncate ON key;
DROP TRIGGER IF EXISTS runtime_metadata_version_truncate ON runtime;
DROP TRIGGER IF EXISTS policy_metadata_version_truncate ON policy;
DROP TRIGGER IF EXISTS action_metadata_version_truncate ON action;
DROP TRIGGER IF EXISTS rule_metadata_version_truncate ON rule;
DROP TRIGGER IF EXISTS key_metadata_version ON key;
DROP TRIGGER IF EXISTS runtime_metadata_version ON runtime;
DROP TRIGGER IF EXISTS policy_metadata_version ON policy;
DROP TRIGGER IF EXISTS action_metadata_version ON action;
DROP TRIGGER IF EXISTS rule_metadata_version ON rule;
DROP FUNCTION IF EXISTS bump_metadata_version();
DROP TABLE IF EXISTS metadata_version;
DROP INDEX IF EXISTS execution_worker_active_idx;
CREATE INDEX execution_worker_status_idx ON execution (worker, status);
DROP INDEX IF EXISTS execution_status_active_idx;
CREATE INDEX execution_status_idx ON execution (status);
DROP INDEX IF EXISTS event_trigger_ref_idx;
CREATE INDEX event_trigger_ref_idx ON event (trigger_ref, created DESC);
CREATE INDEX execution_created_idx ON execution (created DESC);
CREATE INDEX enforcement_created_idx ON enforcement (created DESC);
CREATE INDEX event_created_idx ON event (created DESC);
