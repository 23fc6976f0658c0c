-- name: RuleGet :one
SELECT * FROM rule WHERE id = @id;

-- name: RuleGetByRef :one
SELECT * FROM rule WHERE ref = @ref;

-- name: RuleList :many
SELECT * FROM rule ORDER BY ref;

-- name: RuleListEnabledByTriggerRef :many
-- Rule matching input: enabled rules that still point at a live action.
SELECT * FROM rule WHERE trigger_ref = @trigger_ref AND enabled AND action IS NOT NULL ORDER BY id;

-- name: RuleUpsert :one
INSERT INTO rule (ref, pack, pack_ref, label, description, action, action_ref, trigger, trigger_ref,
                  conditions, action_params, trigger_params, permission_set_refs, enabled, is_adhoc,
                  owner_identity)
VALUES (@ref, @pack, @pack_ref, @label, sqlc.narg(description), sqlc.narg(action), @action_ref,
        sqlc.narg(trigger), @trigger_ref, coalesce(sqlc.narg(conditions)::jsonb, '[]'),
        coalesce(sqlc.narg(action_params)::jsonb, '{}'), coalesce(sqlc.narg(trigger_params)::jsonb, '{}'),
        sqlc.narg(permission_set_refs), @enabled, @is_adhoc, sqlc.narg(owner_identity))
ON CONFLICT (ref) DO UPDATE
SET pack = EXCLUDED.pack,
    pack_ref = EXCLUDED.pack_ref,
    label = EXCLUDED.label,
    description = EXCLUDED.description,
    action = EXCLUDED.action,
    action_ref = EXCLUDED.action_ref,
    trigger = EXCLUDED.trigger,
    trigger_ref = EXCLUDED.trigger_ref,
    conditions = EXCLUDED.conditions,
    action_params = EXCLUDED.action_params,
    trigger_params = EXCLUDED.trigger_params,
    permission_set_refs = EXCLUDED.permission_set_refs,
    enabled = EXCLUDED.enabled,
    is_adhoc = EXCLUDED.is_adhoc,
    owner_identity = EXCLUDED.owner_identity
RETURNING *;

-- name: RuleSetEnabled :one
UPDATE rule SET enabled = @enabled WHERE id = @id RETURNING *;

-- name: RuleDelete :execrows
DELETE FROM rule WHERE id = @id;

-- name: RuleListByPack :many
SELECT * FROM rule WHERE pack = @pack ORDER BY ref;

-- name: RulePruneByPack :many
-- Pack re-registration: deletes the pack's file-defined rules that are no
-- longer in its files; ad-hoc (API-created) rules are kept.
DELETE FROM rule WHERE pack = @pack AND NOT is_adhoc AND NOT (ref = ANY(@keep::text[])) RETURNING *;

-- name: RuleListEnabledTimers :many
-- Enabled rules on one of the given (timer) trigger refs that still point at a
-- live action: the timers the sensor module must run.
SELECT * FROM rule
WHERE enabled AND action IS NOT NULL AND trigger_ref = ANY(@trigger_refs::text[])
ORDER BY id;

-- name: RuleListEnabledSensorBindings :many
-- One row per enabled rule whose (enabled) trigger is served by an enabled
-- sensor, with the sensor's launch data and every trigger it serves: the
-- sensor processes that must run and the trigger instances they get.
SELECT r.id AS rule_id, r.ref AS rule_ref, r.trigger_ref, r.trigger_params,
       t.id AS trigger_id,
       s.id AS sensor_id, s.ref AS sensor_ref, s.pack_ref AS sensor_pack_ref,
       s.entrypoint AS sensor_entrypoint, s.runtime AS sensor_runtime, s.runtime_ref AS sensor_runtime_ref,
       s.config AS sensor_config, s.updated AS sensor_updated,
       coalesce((SELECT array_agg(t2.ref ORDER BY t2.ref) FROM trigger t2 WHERE t2.sensor = s.id AND t2.enabled),
                '{}')::text[] AS sensor_trigger_refs
FROM rule r
JOIN trigger t ON t.ref = r.trigger_ref
JOIN sensor s ON s.id = t.sensor
WHERE r.enabled AND r.action IS NOT NULL AND t.enabled AND s.enabled
ORDER BY s.id, r.id;
