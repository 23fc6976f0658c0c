package notifier

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/coder/websocket"

	"github.com/attune-system/attune/modules/access"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/security"
)

// Subprotocols (spec §7): browsers cannot set headers on a WebSocket, so
// they send ["attune.v1", "attune.jwt.<jwt>"]; the server selects attune.v1
// and never echoes the token.
const (
	Subprotocol    = "attune.v1"
	jwtSubprotocol = "attune.jwt."
)

// acceptedTokens may open a stream; refresh and worker tokens may not.
var acceptedTokens = []security.TokenType{
	security.TokenAccess, security.TokenIntegration, security.TokenExecution, security.TokenSensor,
}

// queryTokenParams are query parameters that look like a token: refused
// outright, because URLs end up in logs, history and Referer headers.
var queryTokenParams = []string{"token", "access_token", "jwt", "auth", "authorization", "bearer"}

// serveWS is GET /ws: check origin, authenticate, upgrade, serve.
func (m *Module) serveWS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/ws" {
		httpError(w, http.StatusNotFound, "NOT_FOUND", "no route for "+r.URL.Path)
		return
	}
	q := r.URL.Query()
	for _, k := range queryTokenParams {
		if q.Has(k) {
			httpError(w, http.StatusUnauthorized, "UNAUTHORIZED",
				"query-string tokens are not accepted; send Authorization: Bearer <jwt> or the attune.jwt.<jwt> subprotocol")
			return
		}
	}
	if !m.originAllowed(r) {
		httpError(w, http.StatusForbidden, "FORBIDDEN", "origin not allowed")
		return
	}
	token, fromProtocol := bearerToken(r)
	if token == "" {
		httpError(w, http.StatusUnauthorized, "UNAUTHORIZED", "missing token: send Authorization: Bearer <jwt> or the attune.jwt.<jwt> subprotocol")
		return
	}
	claims, err := m.issuer.Verify(token, acceptedTokens...)
	if err != nil {
		msg := "invalid token"
		switch {
		case errors.Is(err, security.ErrTokenExpired):
			msg = "token expired"
		case errors.Is(err, security.ErrWrongTokenType):
			msg = "this token type cannot open a notification stream"
		}
		httpError(w, http.StatusUnauthorized, "UNAUTHORIZED", msg)
		return
	}
	p, err := access.Resolve(r.Context(), m.d.Store, claims)
	if errors.Is(err, domain.ErrUnauthorized) {
		httpError(w, http.StatusUnauthorized, "UNAUTHORIZED", "token no longer valid")
		return
	}
	if err != nil {
		m.log.Error("resolve principal", "err", err)
		httpError(w, http.StatusServiceUnavailable, "UNAVAILABLE", "cannot check permissions right now")
		return
	}
	if fromProtocol && !offersSubprotocol(r, Subprotocol) {
		httpError(w, http.StatusBadRequest, "BAD_REQUEST", "the attune.jwt.<jwt> subprotocol needs attune.v1 offered too")
		return
	}
	if err := m.pres.join(r.Context()); err != nil {
		m.log.Error("notifier: record listener presence", "err", err)
		httpError(w, http.StatusServiceUnavailable, "UNAVAILABLE", "cannot start notifications right now")
		return
	}
	defer m.pres.leave()
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{Subprotocol},
		// The origin was checked above against our own rules (same host or
		// the CORS allow-list); coder/websocket's check would reject the
		// configured cross-origin UI.
		InsecureSkipVerify: true,
	})
	if err != nil {
		return // Accept has written the error response
	}
	m.hub.wg.Add(1)
	defer m.hub.wg.Done()
	c := newClient(conn, p, m.d.Config.ClientBuffer, m.d.Store, m.auth, m.metrics, m.log)
	m.hub.add(c)
	defer m.hub.remove(c)
	c.run(m.ctx, m.d.Config.TokenCheckInterval)
}

// originAllowed implements the Origin check on upgrade (threat #11): no
// Origin (a non-browser client), the server's own host, or an exact entry of
// server.cors_origins.
func (m *Module) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if slices.Contains(m.d.AllowedOrigins, origin) {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// bearerToken returns the token from the Authorization header or, failing
// that, from an attune.jwt.<jwt> subprotocol.
func bearerToken(r *http.Request) (token string, fromProtocol bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok), false
		}
		return "", false
	}
	for _, p := range subprotocols(r) {
		if tok, ok := strings.CutPrefix(p, jwtSubprotocol); ok && tok != "" {
			return tok, true
		}
	}
	return "", false
}

func subprotocols(r *http.Request) []string {
	var out []string
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func offersSubprotocol(r *http.Request, want string) bool {
	return slices.Contains(subprotocols(r), want)
}

func httpError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg, "code": code})
}
