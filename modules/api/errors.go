package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/httpserver"
)

// APIError is an error with a fixed HTTP status, code and public message.
// Handlers return it for statuses the domain errors do not cover.
type APIError struct {
	Status  int
	Code    string
	Message string
	Details map[string]any
	// RetryAfter sets the Retry-After header (429/503).
	RetryAfter time.Duration
}

func (e *APIError) Error() string { return e.Message }

// errorBody is the spec §9.1 error shape.
type errorBody struct {
	Error   string         `json:"error"`
	Code    string         `json:"code"`
	Details map[string]any `json:"details,omitempty"`
}

func badRequest(format string, args ...any) *APIError {
	return &APIError{Status: http.StatusBadRequest, Code: "BAD_REQUEST", Message: fmt.Sprintf(format, args...)}
}

func tooManyRequests(retry time.Duration) *APIError {
	return &APIError{Status: http.StatusTooManyRequests, Code: "TOO_MANY_REQUESTS",
		Message: "too many requests, retry later", RetryAfter: retry}
}

// errUnauthorized is the one 401 message: it never says why a token failed,
// so probing for valid logins or revoked jtis learns nothing.
var errUnauthorized = &APIError{Status: http.StatusUnauthorized, Code: "UNAUTHORIZED", Message: "authentication required"}

// mapError turns any handler error into status + body. Client mistakes never
// become 500; internal errors are logged with the request id and answered
// with a generic message that echoes nothing.
func (m *Module) mapError(err error, c echo.Context) (int, errorBody, time.Duration) {
	var apiErr *APIError
	var verr *domain.ValidationError
	var he *echo.HTTPError
	var maxErr *http.MaxBytesError
	var synErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &apiErr):
		return apiErr.Status, errorBody{Error: apiErr.Message, Code: apiErr.Code, Details: apiErr.Details}, apiErr.RetryAfter
	case errors.As(err, &maxErr):
		return http.StatusRequestEntityTooLarge, errorBody{Error: fmt.Sprintf("request body larger than %d bytes", maxErr.Limit), Code: "PAYLOAD_TOO_LARGE"}, 0
	case errors.As(err, &verr):
		b := errorBody{Error: verr.Error(), Code: "VALIDATION_ERROR"}
		if verr.Field != "" {
			b.Details = map[string]any{"field": verr.Field}
		}
		return http.StatusUnprocessableEntity, b, 0
	case errors.Is(err, domain.ErrNotFound):
		return http.StatusNotFound, errorBody{Error: "not found", Code: "NOT_FOUND"}, 0
	case errors.Is(err, domain.ErrConflict):
		return http.StatusConflict, errorBody{Error: conflictMessage(err), Code: "CONFLICT"}, 0
	case errors.Is(err, domain.ErrUnauthorized):
		return http.StatusUnauthorized, errorBody{Error: errUnauthorized.Message, Code: "UNAUTHORIZED"}, 0
	case errors.Is(err, domain.ErrForbidden):
		return http.StatusForbidden, errorBody{Error: "forbidden", Code: "FORBIDDEN"}, 0
	case errors.As(err, &synErr), errors.Is(err, errEmptyBody):
		return http.StatusBadRequest, errorBody{Error: "malformed JSON body", Code: "BAD_REQUEST"}, 0
	case errors.As(err, &typeErr):
		return http.StatusUnprocessableEntity, errorBody{Error: fmt.Sprintf("%s: must be %s", typeErr.Field, typeErr.Type),
			Code: "VALIDATION_ERROR", Details: map[string]any{"field": typeErr.Field}}, 0
	case errors.As(err, &he):
		return he.Code, errorBody{Error: http.StatusText(he.Code), Code: codeFor(he.Code)}, 0
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, errorBody{Error: "request timed out", Code: "TIMEOUT"}, 0
	}
	m.d.Log.Error("request failed", "request_id", httpserver.RequestID(c.Request().Context()),
		"method", c.Request().Method, "path", c.Path(), "err", err)
	return http.StatusInternalServerError, errorBody{Error: "internal server error", Code: "INTERNAL_SERVER_ERROR",
		Details: map[string]any{"request_id": httpserver.RequestID(c.Request().Context())}}, 0
}

// conflictMessage keeps the store's description of the collision (it names
// the duplicate key, never a value) but drops the sentinel's suffix.
func conflictMessage(err error) string {
	const suffix = ": conflict"
	s := err.Error()
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)]
	}
	return "conflict"
}

func codeFor(status int) string {
	switch status {
	case 400:
		return "BAD_REQUEST"
	case 401:
		return "UNAUTHORIZED"
	case 403:
		return "FORBIDDEN"
	case 404:
		return "NOT_FOUND"
	case 405:
		return "METHOD_NOT_ALLOWED"
	case 409:
		return "CONFLICT"
	case 413:
		return "PAYLOAD_TOO_LARGE"
	case 415:
		return "UNSUPPORTED_MEDIA_TYPE"
	case 422:
		return "VALIDATION_ERROR"
	case 429:
		return "TOO_MANY_REQUESTS"
	case 501:
		return "NOT_IMPLEMENTED"
	case 503:
		return "SERVICE_UNAVAILABLE"
	}
	if status >= 500 {
		return "INTERNAL_SERVER_ERROR"
	}
	return "ERROR"
}

// errorHandler is echo's HTTPErrorHandler: the single place errors are
// written.
func (m *Module) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, body, retry := m.mapError(err, c)
	if retry > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, body)
}
