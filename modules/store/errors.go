package store

import (
	"cmp"
	"errors"
	"fmt"
	"strings"

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
	default:
		if !strings.HasPrefix(pgErr.Code, "22") {
			return fmt.Errorf("%s: %w", what, err)
		}
		// Class 22, data exception: a value PostgreSQL cannot store, such
		// as a \u0000 in a JSON string or a number beyond jsonb's range.
	}
	msg := pgErr.Message
	if pgErr.Detail != "" {
		msg += " (" + pgErr.Detail + ")"
	}
	return fmt.Errorf("%s: %w", what, domain.NewValidationError(cmp.Or(pgErr.ColumnName, pgErr.ConstraintName, "value"), msg))
}

// IsTransient reports whether err is a database failure that retrying can
// cure: the server unreachable, restarting or out of connections, or a
// serialization conflict. Callers retry these instead of failing work.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "53"),                                 // insufficient resources (too many connections)
			pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", // shutting down, cannot connect now
			pgErr.Code == "40001", pgErr.Code == "40P01": // serialization failure, deadlock
			return true
		}
	}
	return false
}
