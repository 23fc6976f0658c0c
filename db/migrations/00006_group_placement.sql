-- Placement for a group of firings written by one statement (group commit,
-- store.RuleFireScheduled). Calling attune_pick_worker once per row made
-- every firing of a group see the same load counts, so with loads 3 and 4
-- all of them went to the first worker. attune_pick_workers places the
-- rows in order, each on the eligible worker with the least load counting
-- the rows already placed by this call (ties at random), so a group spreads
-- as firings written one at a time would. Eligibility and the load count
-- (capped at 32) are those attune_pick_worker had; attune_pick_worker, which
-- the scheduler calls for one execution, is now a one-row call of it, so the
-- rule is written once.
--
-- runtimes is a JSON array with one element per row: that row's runtime
-- names (an array, empty for any worker). The result is a JSON array of the
-- same length: each row's worker id, null when none is eligible.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION attune_pick_workers(stale_after_seconds float8, runtimes jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    picked    jsonb := '[]';
    names     text[];
    eligible  bigint[];
    candidates jsonb := '{}';  -- runtime names (as text) -> eligible workers
    load      jsonb := '{}';   -- worker id -> load, counting this call's placements
    best      bigint;
    best_load int;
    ties      int;
    w         bigint;
    l         int;
    r         record;
BEGIN
    FOR r IN SELECT e.value AS v FROM jsonb_array_elements(runtimes) WITH ORDINALITY AS e ORDER BY e.ordinality LOOP
        names := ARRAY(SELECT jsonb_array_elements_text(CASE WHEN jsonb_typeof(r.v) = 'array' THEN r.v ELSE '[]' END));
        IF NOT candidates ? names::text THEN
            SELECT coalesce(array_agg(x.id), '{}') INTO eligible
            FROM worker x
            WHERE x.status = 'active' AND NOT x.cordoned
              AND x.worker_role IN ('action', 'hybrid')
              AND x.last_heartbeat > now() - make_interval(secs => stale_after_seconds)
              AND coalesce(x.capabilities #>> '{health,status}', 'healthy') IN ('healthy', 'degraded')
              AND (cardinality(names) = 0 OR EXISTS (
                    SELECT 1
                    FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(x.capabilities -> 'runtimes') = 'array'
                                                        THEN x.capabilities -> 'runtimes' ELSE '[]'::jsonb END) AS rt(name)
                    WHERE lower(rt.name) = ANY(names)));
            candidates := candidates || jsonb_build_object(names::text, to_jsonb(eligible));
        ELSE
            eligible := ARRAY(SELECT jsonb_array_elements_text(candidates -> names::text)::bigint);
        END IF;
        best := NULL;
        ties := 0;
        IF cardinality(eligible) = 1 THEN
            best := eligible[1];
        ELSIF cardinality(eligible) > 1 THEN
            FOREACH w IN ARRAY eligible LOOP
                IF NOT load ? w::text THEN
                    SELECT count(*) INTO l FROM (SELECT 1 FROM execution e
                        WHERE e.worker = w AND e.status IN ('scheduled', 'running', 'canceling') LIMIT 32) AS active;
                    load := load || jsonb_build_object(w::text, l);
                END IF;
                l := (load ->> w::text)::int;
                IF best IS NULL OR l < best_load THEN
                    best := w;
                    best_load := l;
                    ties := 1;
                ELSIF l = best_load THEN
                    -- The k-th worker tied at the least load replaces the
                    -- choice with probability 1/k: a uniform pick.
                    ties := ties + 1;
                    IF random() * ties < 1 THEN
                        best := w;
                    END IF;
                END IF;
            END LOOP;
        END IF;
        IF best IS NOT NULL THEN
            load := load || jsonb_build_object(best::text, coalesce((load ->> best::text)::int, 0) + 1);
        END IF;
        picked := picked || jsonb_build_array(best);
    END LOOP;
    RETURN picked;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION attune_pick_worker(stale_after_seconds float8, runtime_names text[]) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    SELECT (attune_pick_workers(stale_after_seconds,
                                jsonb_build_array(to_jsonb(coalesce(runtime_names, '{}'::text[])))) ->> 0)::bigint
$$;
-- +goose StatementEnd

-- +goose Down
-- The stand-alone attune_pick_worker of migration 00002.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION attune_pick_worker(stale_after_seconds float8, runtime_names text[]) RETURNS bigint
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
DROP FUNCTION attune_pick_workers(float8, jsonb);
