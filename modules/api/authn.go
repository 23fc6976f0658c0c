package api

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/httpserver"
	"github.com/attune-system/attune/modules/store"
)

const principalKey = "attune.principal"

// principalOf returns the authenticated caller, or nil on public routes.
func principalOf(c echo.Context) *access.Principal {
	p, _ := c.Get(principalKey).(*access.Principal)
	return p
}

// mustPrincipal returns the caller of an authenticated route.
func mustPrincipal(c echo.Context) (*access.Principal, error) {
	if p := principalOf(c); p != nil {
		return p, nil
	}
	return nil, errUnauthorized
}

// bearer extracts the token from "Authorization: Bearer <jwt>". Tokens in
// query strings are never accepted (they leak into access logs).
func bearer(c echo.Context) string {
	h := c.Request().Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// authenticate enforces the route's Auth: a valid, unrevoked token of an
// accepted type resolving to a live identity, else 401.
func (m *Module) authenticate(rt Route) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if rt.Auth.IsPublic() {
			return next
		}
		return func(c echo.Context) error {
			tok := bearer(c)
			if tok == "" {
				return errUnauthorized
			}
			claims, err := m.tokens.Verify(tok)
			if err != nil || !rt.Auth.Accepts(claims.TokenType) {
				return errUnauthorized
			}
			p, err := access.Resolve(c.Request().Context(), m.d.Store, claims)
			if err != nil {
				if errors.Is(err, domain.ErrUnauthorized) {
					return errUnauthorized
				}
				return err
			}
			c.Set(principalKey, p)
			return next(c)
		}
	}
}

// audit appends one audit_log row per mutating request after the handler
// ran: who, which operation, the target (path parameter), outcome status,
// source address and request id. Bodies are never recorded (they may hold
// passwords or key values).
func (m *Module) audit(rt Route) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if !mutating(rt.Method) {
			return next
		}
		resource := rt.Resource
		if resource == "" {
			resource = groupOf(rt.Path)
		}
		return func(c echo.Context) error {
			err := next(c)
			status := c.Response().Status
			if err != nil {
				status, _, _ = m.mapError(err, c)
			}
			e := store.AuditEntry{Action: rt.OperationID, Resource: resource}
			if p := principalOf(c); p != nil {
				id, login := p.IdentityID, p.Login
				e.Identity, e.Login = &id, &login
			} else if l, ok := c.Get(auditLoginKey).(string); ok && l != "" {
				e.Login = &l
			}
			if ref := targetRef(c); ref != "" {
				e.ResourceRef = &ref
			}
			ip := sourceIP(c)
			e.SourceIP = &ip
			details := map[string]any{
				"request_id": httpserver.RequestID(c.Request().Context()),
				"method":     rt.Method, "path": rt.Path, "status": status,
			}
			if p := principalOf(c); p != nil {
				details["token_type"] = string(p.TokenType())
			}
			e.Details, _ = json.Marshal(details)
			// A detached context: the request may have timed out, the audit
			// row must still be written.
			actx, cancel := detach(c)
			defer cancel()
			if aerr := m.d.Store.AuditLogInsert(actx, e); aerr != nil {
				m.d.Log.Error("audit log write failed", "request_id", details["request_id"], "err", aerr)
			}
			return err
		}
	}
}

// auditLoginKey lets public auth routes name the login they acted on.
const auditLoginKey = "attune.audit_login"

func targetRef(c echo.Context) string {
	var parts []string
	for i, n := range c.ParamNames() {
		parts = append(parts, n+"="+c.ParamValues()[i])
	}
	if len(parts) == 1 {
		_, v, _ := strings.Cut(parts[0], "=")
		return v
	}
	return strings.Join(parts, ",")
}

// pathID parses an integer path parameter; junk is 404 (no such object).
func pathID(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, domain.NotFoundf("%s %q", name, c.Param(name))
	}
	return id, nil
}

// detach returns a context that survives the request's cancellation (audit
// rows must be written even for timed-out requests) but is still bounded.
func detach(c echo.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(c.Request().Context()), 5*time.Second)
}
