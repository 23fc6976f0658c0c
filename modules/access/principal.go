package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/security"
	"github.com/attune-system/attune/modules/security/rbac"
	"github.com/attune-system/attune/modules/store"
)

// CacheTTL is how long an identity's grants are cached. Short, because a
// changed assignment must take effect quickly; revocation checks (auth_token,
// execution status) are never cached.
const CacheTTL = 5 * time.Second

// ScopeIntegrationToken is the scope claim of access tokens minted by
// /auth/token-login.
const ScopeIntegrationToken = "integration_token"

// Principal is the authenticated caller of one request.
type Principal struct {
	IdentityID  int64
	Login       string
	DisplayName *string
	// PermissionSetRefs are the refs of the identity's assigned sets.
	PermissionSetRefs []string
	// Subject is what rbac.Allowed evaluates.
	Subject rbac.Subject
	// Claims are the verified token claims.
	Claims *security.Claims
}

// Can reports whether the principal may perform t.
func (p *Principal) Can(t rbac.Target) bool {
	if p == nil {
		return false
	}
	return rbac.Allowed(p.Subject, t)
}

// TokenType is the type of the token the principal authenticated with.
func (p *Principal) TokenType() security.TokenType { return p.Subject.TokenType }

type identityEntry struct {
	ident   store.Identity
	refs    []string
	grants  []rbac.Grant
	attrs   map[string]any
	expires time.Time
}

type cacheKey struct {
	st *store.Store
	id int64
}

var cache = struct {
	sync.Mutex
	m map[cacheKey]identityEntry
}{m: map[cacheKey]identityEntry{}}

// Invalidate drops the cached grants of identity id (call after changing its
// assignments, freezing or deleting it) so this process sees the change at
// once; other processes see it within CacheTTL.
func Invalidate(id int64) {
	cache.Lock()
	defer cache.Unlock()
	for k := range cache.m {
		if k.id == id {
			delete(cache.m, k)
		}
	}
}

// InvalidateAll drops every cached identity (e.g. after a permission set's
// grants changed).
func InvalidateAll() {
	cache.Lock()
	defer cache.Unlock()
	clear(cache.m)
}

func loadIdentity(ctx context.Context, st *store.Store, id int64) (identityEntry, error) {
	now := time.Now()
	k := cacheKey{st, id}
	cache.Lock()
	e, ok := cache.m[k]
	cache.Unlock()
	if ok && now.Before(e.expires) {
		return e, nil
	}
	ident, err := st.IdentityGet(ctx, id)
	if err != nil {
		return identityEntry{}, err
	}
	assigns, err := st.PermissionAssignmentListByIdentity(ctx, id)
	if err != nil {
		return identityEntry{}, err
	}
	e = identityEntry{ident: ident, expires: now.Add(CacheTTL)}
	for _, a := range assigns {
		e.refs = append(e.refs, a.PermSetRef)
		e.grants = append(e.grants, parseGrants(a.PermSetRef, a.Grants)...)
	}
	if len(ident.Attributes) > 0 {
		_ = json.Unmarshal(ident.Attributes, &e.attrs) // non-object attributes match no constraint
	}
	cache.Lock()
	if len(cache.m) > 10_000 { // bound memory; entries are cheap to rebuild
		clear(cache.m)
	}
	cache.m[k] = e
	cache.Unlock()
	return e, nil
}

// parseGrants decodes a set's grants; invalid JSON or grants that fail
// validation contribute nothing (fail closed). An empty built-in set falls
// back to rbac.BuiltinGrants.
func parseGrants(ref string, raw json.RawMessage) []rbac.Grant {
	var gs []rbac.Grant
	if err := json.Unmarshal(raw, &gs); err != nil || rbac.ValidateGrants(gs) != nil {
		return nil
	}
	if len(gs) == 0 {
		return rbac.BuiltinGrants(ref)
	}
	return gs
}

// Resolve builds the Principal for verified claims. Every failure that means
// "this token no longer authenticates anyone" wraps domain.ErrUnauthorized:
// unknown or frozen identity, revoked or unrecorded access token, an
// execution token whose execution has finished, an unusable integration
// token, or a token type that never authorises API calls.
func Resolve(ctx context.Context, st *store.Store, c *security.Claims) (*Principal, error) {
	if c == nil {
		return nil, unauthorized("no token")
	}
	switch c.TokenType {
	case security.TokenAccess, security.TokenIntegration, security.TokenExecution, security.TokenSensor:
	default:
		return nil, unauthorized("token type %q is not accepted here", c.TokenType)
	}
	if err := checkRevocation(ctx, st, c); err != nil {
		return nil, err
	}
	e, err := loadIdentity(ctx, st, c.Subject)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, unauthorized("identity %d no longer exists", c.Subject)
	}
	if err != nil {
		return nil, err
	}
	if e.ident.Frozen {
		return nil, unauthorized("identity is frozen")
	}
	p := &Principal{
		IdentityID: e.ident.ID, Login: e.ident.Login, DisplayName: e.ident.DisplayName,
		PermissionSetRefs: slices.Clone(e.refs), Claims: c,
		Subject: rbac.Subject{IdentityID: e.ident.ID, Login: e.ident.Login, Attributes: e.attrs, TokenType: c.TokenType},
	}
	switch c.TokenType {
	case security.TokenAccess, security.TokenIntegration:
		p.Subject.Grants = append(slices.Clone(e.grants), rbac.ImplicitGrants()...)
		if c.Scope == ScopeIntegrationToken {
			if err := checkIntegrationToken(ctx, st, c); err != nil {
				return nil, err
			}
		}
	case security.TokenExecution:
		ex, err := liveExecution(ctx, st, c)
		if err != nil {
			return nil, err
		}
		packRef, _ := c.MetadataString(security.MetaPackRef)
		if packRef == "" {
			packRef, _, _ = strings.Cut(ex.ActionRef, ".")
		}
		p.Subject.ExecutionID, p.Subject.PackRef = ex.ID, packRef
		p.Subject.Grants = append(slices.Clone(e.grants), rbac.StandardExecutionGrants(ex.ID, packRef, ex.ActionRef)...)
	case security.TokenSensor:
		packRef, _ := c.MetadataString(security.MetaPackRef)
		sensorRef, _ := c.MetadataString(security.MetaSensorRef)
		triggers, _ := c.MetadataStrings(security.MetaTriggerTypes)
		p.Subject.PackRef = packRef
		p.Subject.Grants = rbac.SensorGrants(packRef, sensorRef, triggers)
	}
	return p, nil
}

func checkRevocation(ctx context.Context, st *store.Store, c *security.Claims) error {
	rec, err := st.AuthTokenGet(ctx, c.JTI)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		// Access tokens are always recorded by the API that minted them, so
		// an unknown jti is a forgery with a leaked secret or a purged record.
		if c.TokenType == security.TokenAccess || c.TokenType == security.TokenIntegration {
			return unauthorized("token is not recognised")
		}
		return nil
	case err != nil:
		return err
	}
	if rec.RevokedAt != nil {
		return unauthorized("token has been revoked")
	}
	if rec.Identity != nil && *rec.Identity != c.Subject {
		return unauthorized("token does not belong to its subject")
	}
	return nil
}

func checkIntegrationToken(ctx context.Context, st *store.Store, c *security.Claims) error {
	id, ok := c.MetadataInt64(security.MetaIntegrationTokenID)
	if !ok {
		return unauthorized("integration token id missing")
	}
	it, err := st.IntegrationTokenGet(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return unauthorized("integration token no longer exists")
	}
	if err != nil {
		return err
	}
	if it.Identity != c.Subject || !it.Usable(time.Now()) {
		return unauthorized("integration token revoked or expired")
	}
	return nil
}

func liveExecution(ctx context.Context, st *store.Store, c *security.Claims) (store.Execution, error) {
	id, ok := c.MetadataInt64(security.MetaExecutionID)
	if !ok || id <= 0 {
		return store.Execution{}, unauthorized("execution token without execution_id")
	}
	ex, err := st.ExecutionGet(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return store.Execution{}, unauthorized("execution %d no longer exists", id)
	}
	if err != nil {
		return store.Execution{}, err
	}
	if domain.TerminalStatus(ex.Status) {
		return store.Execution{}, unauthorized("execution %d has finished", id)
	}
	return ex, nil
}

func unauthorized(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), domain.ErrUnauthorized)
}

// ExecutionLogin is the login claim of an execution token.
func ExecutionLogin(executionID int64) string {
	return "execution:" + strconv.FormatInt(executionID, 10)
}
