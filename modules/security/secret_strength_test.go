package security

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckSecretStrength(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, secret, want string // want "" = accepted
	}{
		{"generated", GenerateSecret(), ""},
		{"passphrase", "Gale-Tundra-Pivot-Crane-Mosaic-Ember-42", ""},
		{"too short", "k3J9-vQx7Lm2PzR8tWc4", "need at least 32"},
		{"changeme padded", "changeme-changeme-changeme-changeme", "placeholder"},
		{"upper CHANGEME", "XyZ-CHANGEME-4f7d9a2b1c3e5f6a8b0d1e2f", "placeholder"},
		{"your secret", "your-secret-key-goes-here-please-now", "placeholder"},
		{"repeated char", strings.Repeat("a", 40), "repeated"},
		{"repeated pattern", strings.Repeat("Ab3$", 10), "repeated"},
		{"ascending run", "abcdefghijklmnopqrstuvwxyz0123456789", "run"},
		{"hex run", "0123456789abcdef0123456789abcdef", "repeated"},
		{"few distinct", "acegikmkgecamikgaceimgkaecgimkaceg", "distinct"},
		{"low entropy", "aaaaaaaaaaaaaaaaaaaaaaaaaabcdefgh1", "entropy"},
	}
	for _, c := range cases {
		err := CheckSecretStrength(c.secret)
		if c.want == "" {
			require.NoError(t, err, c.name)
			continue
		}
		require.ErrorIs(t, err, ErrWeakSecret, c.name)
		require.ErrorContains(t, err, c.want, c.name)
	}
}

// Generated secrets of the weakest accepted form (32 random hex chars) and
// GenerateSecret output must always pass.
func TestCheckSecretStrengthAcceptsRandom(t *testing.T) {
	t.Parallel()
	for range 5000 {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		require.NoError(t, CheckSecretStrength(hex.EncodeToString(b)))
		require.NoError(t, CheckSecretStrength(GenerateSecret()))
	}
}
