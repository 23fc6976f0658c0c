package security

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// TokenType is the token_type claim; it decides where a token is accepted.
type TokenType string

// Token types from spec §9.3 (integration added for token-login tokens).
const (
	TokenAccess      TokenType = "access"
	TokenRefresh     TokenType = "refresh"
	TokenSensor      TokenType = "sensor"
	TokenExecution   TokenType = "execution"
	TokenWorker      TokenType = "worker"
	TokenIntegration TokenType = "integration"
)

// Valid reports whether t is one of the known token types.
func (t TokenType) Valid() bool {
	switch t {
	case TokenAccess, TokenRefresh, TokenSensor, TokenExecution, TokenWorker, TokenIntegration:
		return true
	}
	return false
}

// Metadata keys used in Claims.Metadata.
const (
	MetaExecutionID        = "execution_id"
	MetaTriggerTypes       = "trigger_types"
	MetaSensorRef          = "sensor_ref"
	MetaPackRef            = "pack_ref"
	MetaIntegrationTokenID = "integration_token_id"
)

// Token verification errors. Every failure of Verify wraps exactly one.
var (
	ErrTokenExpired   = errors.New("token expired")
	ErrTokenInvalid   = errors.New("token invalid")
	ErrWrongTokenType = errors.New("wrong token type")
)

// Issuer is the fixed iss claim; checking it keeps tokens minted by other
// HS256 systems that happen to share a secret from being accepted.
const Issuer = "attune"

// Leeway is the clock skew tolerated on exp/iat/nbf.
const Leeway = 30 * time.Second

// Claims are attune's JWT claims (spec §9.3).
type Claims struct {
	Subject           int64 // identity id (sub)
	Login             string
	TokenType         TokenType
	JTI               string // random if empty at Issue
	IssuedAt          time.Time
	ExpiresAt         time.Time
	Scope             string
	Metadata          map[string]any
	PermissionSetRefs []string
}

// MetadataInt64 returns an integer metadata value. JSON decoding turns
// numbers into float64, so this accepts any integral numeric form.
func (c *Claims) MetadataInt64(key string) (int64, bool) {
	switch v := c.Metadata[key].(type) {
	case int64:
		return v, true
	case int:
		return int64(v), true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v), true
		}
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	}
	return 0, false
}

// MetadataString returns a string metadata value.
func (c *Claims) MetadataString(key string) (string, bool) {
	s, ok := c.Metadata[key].(string)
	return s, ok
}

// MetadataStrings returns a string-list metadata value (e.g. trigger_types).
func (c *Claims) MetadataStrings(key string) ([]string, bool) {
	switch v := c.Metadata[key].(type) {
	case []string:
		return v, true
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// Private claim names.
const (
	claimLogin     = "login"
	claimTokenType = "token_type"
	claimScope     = "scope"
	claimMetadata  = "metadata"
	claimPermSets  = "permission_sets"
)

// TokenIssuer signs and verifies HS256 JWTs with one secret.
type TokenIssuer struct {
	key   []byte
	clock func() time.Time
}

// NewTokenIssuer returns an issuer for secret (at least MinSecretBytes bytes;
// call CheckSecretStrength at config load for the full policy). clock may be
// nil for time.Now.
func NewTokenIssuer(secret []byte, clock func() time.Time) (*TokenIssuer, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("jwt secret: %d bytes, need at least %d", len(secret), MinSecretBytes)
	}
	if clock == nil {
		clock = time.Now
	}
	return &TokenIssuer{key: append([]byte(nil), secret...), clock: clock}, nil
}

// NewJTI returns a random 128-bit token id (base64url, unpadded).
func NewJTI() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b)
}

// Issue signs c with lifetime ttl. IssuedAt and ExpiresAt are set from the
// issuer's clock (values in c are ignored); JTI is generated if empty so the
// caller can pre-set it to record it for revocation.
func (ti *TokenIssuer) Issue(c Claims, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", fmt.Errorf("issue token: ttl must be positive, got %s", ttl)
	}
	if c.Subject <= 0 {
		return "", fmt.Errorf("issue token: subject must be a positive identity id, got %d", c.Subject)
	}
	if !c.TokenType.Valid() {
		return "", fmt.Errorf("issue token: unknown token_type %q", c.TokenType)
	}
	if c.JTI == "" {
		c.JTI = NewJTI()
	}
	now := ti.clock().Truncate(time.Second)
	tok := jwt.New()
	set := func(k string, v any) {
		if err := tok.Set(k, v); err != nil {
			panic(fmt.Sprintf("jwt set %s: %v", k, err)) // only fails on wrong types for standard claims: a programming error
		}
	}
	set(jwt.IssuerKey, Issuer)
	set(jwt.SubjectKey, strconv.FormatInt(c.Subject, 10))
	set(jwt.JwtIDKey, c.JTI)
	set(jwt.IssuedAtKey, now)
	set(jwt.ExpirationKey, now.Add(ttl))
	set(claimTokenType, string(c.TokenType))
	if c.Login != "" {
		set(claimLogin, c.Login)
	}
	if c.Scope != "" {
		set(claimScope, c.Scope)
	}
	if len(c.Metadata) > 0 {
		set(claimMetadata, c.Metadata)
	}
	if len(c.PermissionSetRefs) > 0 {
		set(claimPermSets, c.PermissionSetRefs)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256, ti.key))
	if err != nil {
		return "", fmt.Errorf("issue token: sign: %w", err)
	}
	return string(signed), nil
}

// Verify checks the signature (HS256 only: "none" and every other alg are
// rejected before any crypto), issuer, expiry with Leeway, and, when expect is
// non-empty, that token_type is one of expect. With no expect, any known type
// passes; callers on ordinary API routes should pass TokenAccess etc. so a
// refresh token is never accepted there.
func (ti *TokenIssuer) Verify(token string, expect ...TokenType) (*Claims, error) {
	if err := checkHeader(token); err != nil {
		return nil, err
	}
	tok, err := jwt.ParseString(token,
		jwt.WithKey(jwa.HS256, ti.key),
		jwt.WithValidate(true),
		jwt.WithClock(jwt.ClockFunc(ti.clock)),
		jwt.WithAcceptableSkew(Leeway),
		jwt.WithIssuer(Issuer),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.IssuedAtKey),
		jwt.WithRequiredClaim(jwt.SubjectKey),
	)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired()) {
			return nil, fmt.Errorf("%w: %v", ErrTokenExpired, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	c, err := claimsFromToken(tok)
	if err != nil {
		return nil, err
	}
	if len(expect) > 0 {
		ok := false
		for _, e := range expect {
			ok = ok || e == c.TokenType
		}
		if !ok {
			return nil, fmt.Errorf("%w: got %q, want one of %v", ErrWrongTokenType, c.TokenType, expect)
		}
	}
	return c, nil
}

// checkHeader pins the JOSE header: alg must be HS256 and no "crit"
// extensions. jwx would verify with HS256 regardless of the header, but
// rejecting other algs outright makes alg-confusion attempts fail loudly.
func checkHeader(token string) error {
	h, _, ok := strings.Cut(token, ".")
	if !ok || len(h) > 1024 {
		return fmt.Errorf("%w: not a compact JWS", ErrTokenInvalid)
	}
	raw, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return fmt.Errorf("%w: header: %v", ErrTokenInvalid, err)
	}
	var hdr struct {
		Alg  string          `json:"alg"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := json.Unmarshal(raw, &hdr); err != nil {
		return fmt.Errorf("%w: header: %v", ErrTokenInvalid, err)
	}
	if hdr.Alg != string(jwa.HS256) {
		return fmt.Errorf("%w: alg %q not accepted", ErrTokenInvalid, hdr.Alg)
	}
	if hdr.Crit != nil {
		return fmt.Errorf("%w: crit header not supported", ErrTokenInvalid)
	}
	return nil
}

func claimsFromToken(tok jwt.Token) (*Claims, error) {
	bad := func(format string, args ...any) (*Claims, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrTokenInvalid}, args...)...)
	}
	sub, err := strconv.ParseInt(tok.Subject(), 10, 64)
	if err != nil || sub <= 0 {
		return bad("sub %q is not a positive identity id", tok.Subject())
	}
	c := &Claims{Subject: sub, JTI: tok.JwtID(), IssuedAt: tok.IssuedAt(), ExpiresAt: tok.Expiration()}
	pc := tok.PrivateClaims()
	tt, _ := pc[claimTokenType].(string)
	c.TokenType = TokenType(tt)
	if !c.TokenType.Valid() {
		return bad("unknown token_type %q", tt)
	}
	if v, ok := pc[claimLogin]; ok {
		if c.Login, ok = v.(string); !ok {
			return bad("login is not a string")
		}
	}
	if v, ok := pc[claimScope]; ok {
		if c.Scope, ok = v.(string); !ok {
			return bad("scope is not a string")
		}
	}
	if v, ok := pc[claimMetadata]; ok {
		if c.Metadata, ok = v.(map[string]any); !ok {
			return bad("metadata is not an object")
		}
	}
	if v, ok := pc[claimPermSets]; ok {
		list, ok := v.([]any)
		if !ok {
			return bad("permission_sets is not an array")
		}
		for i, e := range list {
			s, ok := e.(string)
			if !ok {
				return bad("permission_sets[%d] is not a string", i)
			}
			c.PermissionSetRefs = append(c.PermissionSetRefs, s)
		}
	}
	return c, nil
}
