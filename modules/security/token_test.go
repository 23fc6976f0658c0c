package security

import (
	"encoding/base64"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/require"
)

var testSecret = []byte("k3J9-vQx7Lm2PzR8tWc4YnB6dHs1FgA5uEo0iKj")

type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newIssuer(t testing.TB) (*TokenIssuer, *fakeClock) {
	clk := newFakeClock()
	ti, err := NewTokenIssuer(testSecret, clk.Now)
	require.NoError(t, err)
	return ti, clk
}

func TestTokenRoundTrip(t *testing.T) {
	t.Parallel()
	ti, clk := newIssuer(t)
	in := Claims{
		Subject: 42, Login: "execution:7", TokenType: TokenExecution, Scope: "execution",
		Metadata: map[string]any{
			MetaExecutionID: int64(7), MetaTriggerTypes: []string{"core.timer", "core.webhook"},
			MetaPackRef: "mypack",
		},
		PermissionSetRefs: []string{"standard", "core.viewer"},
	}
	tok, err := ti.Issue(in, 6*time.Minute)
	require.NoError(t, err)

	got, err := ti.Verify(tok, TokenExecution)
	require.NoError(t, err)
	require.Equal(t, int64(42), got.Subject)
	require.Equal(t, "execution:7", got.Login)
	require.Equal(t, TokenExecution, got.TokenType)
	require.Equal(t, "execution", got.Scope)
	require.Equal(t, []string{"standard", "core.viewer"}, got.PermissionSetRefs)
	require.Len(t, got.JTI, 22)
	require.Equal(t, clk.Now(), got.IssuedAt.UTC())
	require.Equal(t, clk.Now().Add(6*time.Minute), got.ExpiresAt.UTC())
	id, ok := got.MetadataInt64(MetaExecutionID)
	require.True(t, ok)
	require.Equal(t, int64(7), id)
	tts, ok := got.MetadataStrings(MetaTriggerTypes)
	require.True(t, ok)
	require.Equal(t, []string{"core.timer", "core.webhook"}, tts)
	pack, ok := got.MetadataString(MetaPackRef)
	require.True(t, ok)
	require.Equal(t, "mypack", pack)
	_, ok = got.MetadataInt64(MetaIntegrationTokenID)
	require.False(t, ok)

	// No expectation: any known type passes.
	_, err = ti.Verify(tok)
	require.NoError(t, err)

	// Preset JTI is kept (callers record it for revocation).
	tok2, err := ti.Issue(Claims{Subject: 1, TokenType: TokenAccess, JTI: "fixed-jti"}, time.Hour)
	require.NoError(t, err)
	got2, err := ti.Verify(tok2, TokenAccess)
	require.NoError(t, err)
	require.Equal(t, "fixed-jti", got2.JTI)
	require.Empty(t, got2.Login)
	require.Nil(t, got2.Metadata)
}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	ti, clk := newIssuer(t)
	tok, err := ti.Issue(Claims{Subject: 5, TokenType: TokenAccess}, time.Hour)
	require.NoError(t, err)

	clk.Advance(time.Hour + Leeway/2) // inside leeway
	_, err = ti.Verify(tok, TokenAccess)
	require.NoError(t, err)

	clk.Advance(Leeway)
	_, err = ti.Verify(tok, TokenAccess)
	require.ErrorIs(t, err, ErrTokenExpired)
	require.NotErrorIs(t, err, ErrTokenInvalid)
}

func TestTokenIssuedInFutureRejected(t *testing.T) {
	t.Parallel()
	ti, clk := newIssuer(t)
	tok, err := ti.Issue(Claims{Subject: 5, TokenType: TokenAccess}, time.Hour)
	require.NoError(t, err)
	clk.Advance(-(Leeway + time.Minute))
	_, err = ti.Verify(tok, TokenAccess)
	require.ErrorIs(t, err, ErrTokenInvalid)
}

func TestTokenWrongType(t *testing.T) {
	t.Parallel()
	ti, _ := newIssuer(t)
	tok, err := ti.Issue(Claims{Subject: 5, TokenType: TokenRefresh}, time.Hour)
	require.NoError(t, err)
	_, err = ti.Verify(tok, TokenAccess, TokenIntegration)
	require.ErrorIs(t, err, ErrWrongTokenType)
	_, err = ti.Verify(tok, TokenRefresh)
	require.NoError(t, err)
}

func TestTokenRejectsForgeries(t *testing.T) {
	t.Parallel()
	ti, clk := newIssuer(t)
	good, err := ti.Issue(Claims{Subject: 5, TokenType: TokenAccess}, time.Hour)
	require.NoError(t, err)
	parts := strings.Split(good, ".")
	require.Len(t, parts, 3)
	b64 := base64.RawURLEncoding

	payload := func(claims string) string { return b64.EncodeToString([]byte(claims)) }
	exp := clk.Now().Add(time.Hour).Unix()
	adminClaims := `{"iss":"attune","sub":"1","iat":` + strconv.FormatInt(clk.Now().Unix(), 10) + `,"exp":` + strconv.FormatInt(exp, 10) + `,"token_type":"access"}`

	signWith := func(alg jwa.SignatureAlgorithm, key []byte, mutate func(jwt.Token)) string {
		tk := jwt.New()
		require.NoError(t, tk.Set(jwt.IssuerKey, Issuer))
		require.NoError(t, tk.Set(jwt.SubjectKey, "1"))
		require.NoError(t, tk.Set(jwt.IssuedAtKey, clk.Now()))
		require.NoError(t, tk.Set(jwt.ExpirationKey, clk.Now().Add(time.Hour)))
		require.NoError(t, tk.Set("token_type", "access"))
		if mutate != nil {
			mutate(tk)
		}
		s, err := jwt.Sign(tk, jwt.WithKey(alg, key))
		require.NoError(t, err)
		return string(s)
	}
	// Sanity: the helper produces tokens Verify accepts when nothing is wrong.
	_, err = ti.Verify(signWith(jwa.HS256, testSecret, nil), TokenAccess)
	require.NoError(t, err)

	otherKeyHS256 := signWith(jwa.HS256, []byte("another-secret-of-sufficient-length-123456"), nil)
	hs512 := signWith(jwa.HS512, testSecret, nil)
	wrongIss := signWith(jwa.HS256, testSecret, func(tk jwt.Token) { _ = tk.Set(jwt.IssuerKey, "other") })
	noExp := signWith(jwa.HS256, testSecret, func(tk jwt.Token) { _ = tk.Remove(jwt.ExpirationKey) })
	badSub := signWith(jwa.HS256, testSecret, func(tk jwt.Token) { _ = tk.Set(jwt.SubjectKey, "admin") })
	badType := signWith(jwa.HS256, testSecret, func(tk jwt.Token) { _ = tk.Set("token_type", "root") })
	badMeta := signWith(jwa.HS256, testSecret, func(tk jwt.Token) { _ = tk.Set("metadata", "x") })
	critHdr := func() string {
		h := jws.NewHeaders()
		require.NoError(t, h.Set("crit", []string{"exp"}))
		s, err := jws.Sign([]byte(adminClaims), jws.WithKey(jwa.HS256, testSecret, jws.WithProtectedHeaders(h)))
		require.NoError(t, err)
		return string(s)
	}()

	cases := map[string]string{
		"alg none":          payload(`{"alg":"none","typ":"JWT"}`) + "." + payload(adminClaims) + ".",
		"alg none no sig":   payload(`{"alg":"none"}`) + "." + payload(adminClaims),
		"alg NONE":          payload(`{"alg":"NONE"}`) + "." + payload(adminClaims) + "." + parts[2],
		"alg HS512":         hs512,
		"tampered payload":  parts[0] + "." + payload(adminClaims) + "." + parts[2],
		"truncated sig":     parts[0] + "." + parts[1] + "." + parts[2][:10],
		"other key":         otherKeyHS256,
		"wrong issuer":      wrongIss,
		"missing exp":       noExp,
		"non-numeric sub":   badSub,
		"unknown type":      badType,
		"metadata string":   badMeta,
		"crit header":       critHdr,
		"garbage":           "not.a.jwt",
		"empty":             "",
		"header not base64": "%%%." + parts[1] + "." + parts[2],
		"oversized header":  strings.Repeat("A", 2000) + "." + parts[1] + "." + parts[2],
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := ti.Verify(tok)
			require.ErrorIs(t, err, ErrTokenInvalid)
			require.Nil(t, c)
		})
	}
}

func TestTokenIssueValidation(t *testing.T) {
	t.Parallel()
	ti, _ := newIssuer(t)
	_, err := ti.Issue(Claims{Subject: 1, TokenType: TokenAccess}, 0)
	require.ErrorContains(t, err, "ttl")
	_, err = ti.Issue(Claims{Subject: 0, TokenType: TokenAccess}, time.Hour)
	require.ErrorContains(t, err, "subject")
	_, err = ti.Issue(Claims{Subject: 1, TokenType: "admin"}, time.Hour)
	require.ErrorContains(t, err, "token_type")

	_, err = NewTokenIssuer([]byte("too-short"), nil)
	require.ErrorContains(t, err, "at least 32")
}

func TestTokenJTIUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		j := NewJTI()
		require.False(t, seen[j])
		seen[j] = true
	}
}
