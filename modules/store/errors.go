package store

import (
	"cmp"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/attune-system/attune/modules/domain"
)

// PostgreSQL SQLSTATE codes that carry meaning for callers.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeCheckViolation      = "23514"
	codeNotNullViolation    = "23502"
	codeInvalidText         = "22P02" // e.g. a value outside an enum
)

// interpretError is the one place driver errors become domain errors. what
// names the operation (e.g. `execution 42`) so messages stay actionable.
func interpretError(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.NotFoundf("%s", what)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return fmt.Errorf("%s: %w", what, err)
	}
	switch pgErr.Code {
	case codeUniqueViolation:
		return fmt.Errorf("%s: duplicate (%s): %w", what, cmp.Or(pgErr.Detail, pgErr.ConstraintName), domain.ErrConflict)
	case codeForeignKeyViolation, codeCheckViolation, codeNotNullViolation, codeInvalidText:
		field := pgErr.ColumnName
		if field == "" {
			field = pgErr.ConstraintName
		}
		msg := pgErr.Message
		if pgErr.Detail != "" {
			msg += " (" + pgErr.Detail + ")"
		}
		return fmt.Errorf("%s: %w", what, domain.NewValidationError(field, msg))
	}
	return fmt.Errorf("%s: %w", what, err)
}
