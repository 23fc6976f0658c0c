-- name: WorkflowDefinitionGetByRef :one
SELECT * FROM workflow_definition WHERE ref = @ref;

-- name: WorkflowDefinitionGet :one
SELECT * FROM workflow_definition WHERE id = @id;

-- name: WorkflowDefinitionUpsert :one
INSERT INTO workflow_definition (ref, pack, pack_ref, label, description, version, param_schema, out_schema,
                                 definition, tags)
VALUES (@ref, @pack, @pack_ref, @label, sqlc.narg(description), coalesce(sqlc.narg(version)::text, '1.0.0'),
        sqlc.narg(param_schema), sqlc.narg(out_schema), @definition, coalesce(sqlc.narg(tags)::text[], '{}'))
ON CONFLICT (ref) DO UPDATE
SET pack = EXCLUDED.pack,
    pack_ref = EXCLUDED.pack_ref,
    label = EXCLUDED.label,
    description = EXCLUDED.description,
    version = EXCLUDED.version,
    param_schema = EXCLUDED.param_schema,
    out_schema = EXCLUDED.out_schema,
    definition = EXCLUDED.definition,
    tags = EXCLUDED.tags
RETURNING *;

-- name: WorkflowDefinitionPruneByPack :many
-- Pack re-registration: deletes workflow definitions no longer in the pack.
-- action.workflow_def cascades, so a definition still used by an ad-hoc
-- action is kept.
DELETE FROM workflow_definition w
WHERE w.pack = @pack AND NOT (w.ref = ANY(@keep::text[]))
  AND NOT EXISTS (SELECT 1 FROM action a WHERE a.workflow_def = w.id AND a.is_adhoc)
RETURNING w.ref::text;
