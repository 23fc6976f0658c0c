package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// securityHeaders sets headers every API response carries. The docs page
// overrides Content-Security-Policy with one that lets its bundled script run.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		return next(c)
	}
}

// cors implements an exact-match origin allowlist (threat #10,
// CVE-2019-9580): the Origin header is echoed only when it equals a
// configured origin byte for byte — never "*", never "null", no suffix or
// scheme/port leniency — and Vary: Origin is always sent so caches do not
// serve one origin's answer to another.
func cors(allowed []string) echo.MiddlewareFunc {
	allow := make(map[string]bool, len(allowed))
	for _, o := range allowed {
		if o != "" && o != "*" && o != "null" {
			allow[o] = true
		}
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Add("Vary", "Origin")
			origin := c.Request().Header.Get("Origin")
			ok := origin != "" && allow[origin]
			if ok {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Credentials", "true")
				h.Set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After")
			}
			if c.Request().Method == http.MethodOptions && c.Request().Header.Get("Access-Control-Request-Method") != "" {
				h.Add("Vary", "Access-Control-Request-Method")
				h.Add("Vary", "Access-Control-Request-Headers")
				if ok {
					h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
					h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id")
					h.Set("Access-Control-Max-Age", "600")
				}
				return c.NoContent(http.StatusNoContent)
			}
			return next(c)
		}
	}
}

// limits caps the body size (413) and bounds each request's duration.
func (m *Module) limits(next echo.HandlerFunc) echo.HandlerFunc {
	maxBody := m.d.Server.MaxBodySize
	if maxBody <= 0 {
		maxBody = 10 << 20
	}
	timeout := m.d.Server.RequestTimeout
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength > maxBody {
			return &http.MaxBytesError{Limit: maxBody}
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, maxBody)
		if timeout > 0 {
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			defer cancel()
			c.SetRequest(r.WithContext(ctx))
		}
		return next(c)
	}
}

// rateLimit enforces Config.RateLimit per identity (per source address for
// anonymous callers) after authentication. 429 carries Retry-After.
func (m *Module) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := "ip:" + c.RealIP()
		if p := principalOf(c); p != nil {
			key = "id:" + strconv.FormatInt(p.IdentityID, 10)
		}
		if ok, retry := m.reqLimiter.Allow(key); !ok {
			return tooManyRequests(retry)
		}
		return next(c)
	}
}

// sourceIP is the peer address; X-Forwarded-For is not trusted (the echo
// instance uses ExtractIPDirect) so it cannot be spoofed to dodge limits.
func sourceIP(c echo.Context) string { return c.RealIP() }

// groupOf derives the audited resource from the path: /api/v1/keys/{ref} →
// keys, /auth/login → auth.
func groupOf(path string) string {
	p := strings.TrimPrefix(strings.TrimPrefix(path, "/api/v1/"), "/")
	seg, _, _ := strings.Cut(p, "/")
	return seg
}
