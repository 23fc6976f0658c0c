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
