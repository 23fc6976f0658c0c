package api

import (
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/security"
)

// Route is one row of the route table: data, not registration code, so the
// auth matrix test, the OpenAPI parity test and the fuzz test can all walk
// the same list.
type Route struct {
	// Method is the HTTP method (GET, POST, PUT, DELETE …).
	Method string
	// Path is the OpenAPI-style path, e.g. /api/v1/keys/{ref}. It must match
	// a path in the embedded OpenAPI document exactly.
	Path string
	// OperationID is the operationId of the route's OpenAPI operation.
	OperationID string
	// Auth says who may call the route at all; finer RBAC decisions happen
	// in the handler (they depend on the target row).
	Auth Auth
	// Handler serves the request. It returns an error instead of writing
	// one: the central error mapper (errors.go) renders it.
	Handler echo.HandlerFunc
	// Resource names the audited resource (audit_log.resource) for mutating
	// routes, e.g. "keys". Empty uses the second path segment after the base.
	Resource string
	// SelfGoverned routes apply their own per-route rate limit, request
	// log and input checks (the webhook receiver: webhook_event_log,
	// per-trigger limits, key and header lengths, raw body), so the generic
	// per-caller limiter, the audit log and the OpenAPI request validator
	// stay out of the way — they would throttle a sender by IP, double
	// every write and recompile schemas per delivery.
	SelfGoverned bool
}

// Auth is a route's authentication requirement.
type Auth struct {
	public bool
	tokens []security.TokenType
}

var (
	// Public routes need no token (login, refresh, settings, docs).
	Public = Auth{public: true}
	// Users routes accept user tokens: access tokens (from login, refresh
	// or token-login) and integration tokens.
	Users = Tokens(security.TokenAccess, security.TokenIntegration)
)

// Tokens accepts exactly the given token types (e.g. Users plus execution
// tokens for routes actions call back into).
func Tokens(types ...security.TokenType) Auth { return Auth{tokens: types} }

// Plus returns a copy of a that also accepts types.
func (a Auth) Plus(types ...security.TokenType) Auth {
	return Auth{public: a.public, tokens: append(slices.Clone(a.tokens), types...)}
}

// IsPublic reports whether the route needs no token.
func (a Auth) IsPublic() bool { return a.public }

// Accepts reports whether a token of type t may call the route.
func (a Auth) Accepts(t security.TokenType) bool { return slices.Contains(a.tokens, t) }

// echoPath converts /keys/{ref} to echo's /keys/:ref.
func echoPath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '{':
			b.WriteByte(':')
		case '}':
		default:
			b.WriteByte(p[i])
		}
	}
	return b.String()
}

// mutating reports whether a method changes state (audited).
func mutating(method string) bool {
	switch method {
	case "POST", "PUT", "PATCH", "DELETE":
		return true
	}
	return false
}
