package security

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOpaqueToken(t *testing.T) {
	t.Parallel()
	plain, h := NewOpaqueToken(IntegrationTokenPrefix)
	require.Regexp(t, regexp.MustCompile(`^atn_[A-Za-z0-9_-]{43}$`), plain)
	sum := sha256.Sum256([]byte(plain))
	require.Equal(t, hex.EncodeToString(sum[:]), h)
	require.Equal(t, h, HashToken(plain))

	plain2, h2 := NewOpaqueToken(IntegrationTokenPrefix)
	require.NotEqual(t, plain, plain2)
	require.NotEqual(t, h, h2)
}

func TestWebhookKey(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^wh_[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for range 100 {
		k := NewWebhookKey()
		require.Regexp(t, re, k)
		require.False(t, seen[k])
		seen[k] = true
	}
}

func TestHashTokenKnownVector(t *testing.T) {
	t.Parallel()
	require.Equal(t, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", HashToken(""))
	require.Equal(t, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", HashToken("hello"))
}
