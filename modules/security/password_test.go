package security

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var phcRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$`)

func TestHashPasswordRoundTrip(t *testing.T) {
	t.Parallel()
	enc, err := HashPassword("correct horse battery", TestParams)
	require.NoError(t, err)
	require.Regexp(t, phcRE, enc)
	require.True(t, strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$"), enc)

	ok, rehash, err := VerifyPasswordParams("correct horse battery", enc, TestParams)
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, rehash)

	ok, rehash, err = VerifyPassword("correct horse battery", enc)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, rehash, "test params differ from DefaultParams, so an upgrade is due")

	ok, rehash, err = VerifyPasswordParams("correct horse batterY", enc, TestParams)
	require.NoError(t, err)
	require.False(t, ok)
	require.False(t, rehash)

	enc2, err := HashPassword("correct horse battery", TestParams)
	require.NoError(t, err)
	require.NotEqual(t, enc, enc2, "salts must be random")
}

func TestHashPasswordDefaultParams(t *testing.T) {
	t.Parallel()
	start := time.Now()
	enc, err := HashPassword("a-Real-password-1", DefaultParams)
	elapsed := time.Since(start)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(enc, "$argon2id$v=19$m=65536,t=3,p=2$"), enc)
	t.Logf("argon2id default params (t=3 m=64MiB p=2) hash took %s", elapsed)

	ok, rehash, err := VerifyPassword("a-Real-password-1", enc)
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, rehash)
}

func TestPasswordInputLimits(t *testing.T) {
	t.Parallel()
	_, err := HashPassword("", TestParams)
	require.ErrorIs(t, err, ErrPasswordEmpty)
	_, err = HashPassword(strings.Repeat("a", MaxPasswordBytes+1), TestParams)
	require.ErrorIs(t, err, ErrPasswordTooLong)
	_, err = HashPassword(strings.Repeat("a", MaxPasswordBytes), TestParams)
	require.NoError(t, err)

	enc, err := HashPassword("x", TestParams)
	require.NoError(t, err)
	_, _, err = VerifyPassword("", enc)
	require.ErrorIs(t, err, ErrPasswordEmpty)
	_, _, err = VerifyPassword(strings.Repeat("a", MaxPasswordBytes+1), enc)
	require.ErrorIs(t, err, ErrPasswordTooLong)

	_, err = HashPassword("x", Params{Time: 0, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32})
	require.ErrorContains(t, err, "time")
}

func TestVerifyPasswordMalformed(t *testing.T) {
	t.Parallel()
	const salt, hash = "c29tZXNhbHRzb21lc2FsdA", "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	cases := map[string]string{
		"empty":          "",
		"bcrypt":         "$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
		"argon2i":        "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + hash,
		"old version":    "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + hash,
		"missing p":      "$argon2id$v=19$m=64,t=1$" + salt + "$" + hash,
		"dup param":      "$argon2id$v=19$m=64,m=64,t=1,p=1$" + salt + "$" + hash,
		"unknown param":  "$argon2id$v=19$m=64,t=1,p=1,x=1$" + salt + "$" + hash,
		"bad number":     "$argon2id$v=19$m=abc,t=1,p=1$" + salt + "$" + hash,
		"bad salt":       "$argon2id$v=19$m=64,t=1,p=1$!!!$" + hash,
		"padded hash":    "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + hash + "=",
		"short hash":     "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$aGFzaA",
		"huge memory":    "$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + hash,
		"huge time":      "$argon2id$v=19$m=64,t=100000,p=1$" + salt + "$" + hash,
		"zero threads":   "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + hash,
		"p out of range": "$argon2id$v=19$m=64,t=1,p=300$" + salt + "$" + hash,
		"extra field":    "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + hash + "$x",
	}
	for name, enc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ok, _, err := VerifyPassword("whatever", enc)
			require.ErrorIs(t, err, ErrMalformedHash)
			require.False(t, ok)
		})
	}
}

func TestCheckPasswordStrength(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pw   string
		want string // "" = accepted; else substring of the error
	}{
		{"Tr0ub4dor&3xyz", ""},
		{"correct horse battery staple", ""}, // lower + space
		{"pässwörd-längé", ""},
		{"short1A!", "need at least 12"},
		{"alllowercaseletters", "one character class"},
		{"123456789012345", "one character class"},
		{"aaaaaaaaaaaa1", "distinct"},
		{"", "empty"},
		{strings.Repeat("aB1", 400), "longer than"},
		{"abcdefghij\xffk1", "UTF-8"},
	}
	for _, c := range cases {
		err := CheckPasswordStrength(c.pw)
		if c.want == "" {
			require.NoError(t, err, c.pw)
			continue
		}
		require.ErrorIs(t, err, ErrWeakPassword, c.pw)
		require.ErrorContains(t, err, c.want, c.pw)
	}
}

func BenchmarkHashPasswordDefault(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword("a-Real-password-1", DefaultParams); err != nil {
			b.Fatal(err)
		}
	}
}

// A dummy hash parses like a real one with the same parameters (so it costs
// the same to verify) and matches no password.
func TestDummyHashMatchesNothing(t *testing.T) {
	t.Parallel()
	d := DummyHash(TestParams)
	require.Regexp(t, phcRE, d)
	real, err := HashPassword("x-password-1", TestParams)
	require.NoError(t, err)
	require.Equal(t, real[:strings.LastIndex(real[:strings.LastIndex(real, "$")], "$")],
		d[:strings.LastIndex(d[:strings.LastIndex(d, "$")], "$")], "same algorithm, version and cost parameters")
	for _, pw := range []string{"x-password-1", "", "a"} {
		ok, _, err := VerifyPasswordParams(pw, d, TestParams)
		if pw == "" {
			require.Error(t, err)
			continue
		}
		require.NoError(t, err)
		require.False(t, ok)
	}
	require.NotEqual(t, d, DummyHash(TestParams), "random salt and key")
}
