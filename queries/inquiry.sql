-- name: InquiryInsert :one
INSERT INTO inquiry (execution, prompt, response_schema, assigned_to, timeout_at)
VALUES (@execution, sqlc.narg(prompt), sqlc.narg(response_schema), sqlc.narg(assigned_to), sqlc.narg(timeout_at))
RETURNING *;

-- name: InquiryGet :one
SELECT * FROM inquiry WHERE id = @id;

-- name: InquiryList :many
-- Newest first; the API filters visibility per row.
SELECT * FROM inquiry
WHERE (sqlc.narg(status)::inquiry_status_enum IS NULL OR status = sqlc.narg(status)::inquiry_status_enum)
ORDER BY id DESC
LIMIT @page_limit;

-- name: InquiryRespond :one
-- First response wins: only a pending inquiry accepts one.
UPDATE inquiry SET status = 'responded', response = @response, responded_at = now(), updated = now()
WHERE id = @id AND status = 'pending'
RETURNING *;
