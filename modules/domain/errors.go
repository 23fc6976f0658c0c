package domain

import (
	"errors"
	"fmt"
)

// Sentinel errors shared by every layer. Store methods wrap them with
// context; the API maps them to HTTP statuses with errors.Is.
var (
	// ErrNotFound means the addressed entity does not exist (HTTP 404).
	ErrNotFound = errors.New("not found")
	// ErrConflict means the request collides with current state: a duplicate
	// unique key, a lost compare-and-set, a stale fence (HTTP 409).
	ErrConflict = errors.New("conflict")
	// ErrForbidden means the caller is authenticated but not allowed (HTTP 403).
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthorized means the caller is not (or no longer) authenticated (HTTP 401).
	ErrUnauthorized = errors.New("unauthorized")
)

// ValidationError reports bad input and names the offending field so a
// client can point at it (HTTP 400/422). Field may be a dotted path.
type ValidationError struct {
	Field string
	Msg   string
}

// Error implements error as "field: message" (or just the message when no
// field is known).
func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// NewValidationError returns a *ValidationError for field.
func NewValidationError(field, msg string) *ValidationError {
	return &ValidationError{Field: field, Msg: msg}
}

// Invalidf returns a *ValidationError for field with a formatted message.
func Invalidf(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// NotFoundf wraps ErrNotFound with a description of what was missing, e.g.
// NotFoundf("action %q", ref).
func NotFoundf(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrNotFound)
}

// Conflictf wraps ErrConflict with a description of the collision.
func Conflictf(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrConflict)
}

// IsValidation reports whether err is or wraps a *ValidationError.
func IsValidation(err error) bool {
	var v *ValidationError
	return errors.As(err, &v)
}
