package security

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// IntegrationTokenPrefix marks attune integration tokens so secret scanners
// and humans can recognise a leaked one.
const IntegrationTokenPrefix = "atn_"

// WebhookKeyPrefix prefixes webhook keys.
const WebhookKeyPrefix = "wh_"

// NewOpaqueToken returns a new random token prefix+<256 bits base64url> and the
// SHA-256 hex of the full plaintext. Only the hash is stored; the plaintext is
// shown once. A fast hash is fine here (unlike passwords) because the token
// carries 256 bits of entropy, so there is nothing to brute-force.
func NewOpaqueToken(prefix string) (plaintext, sha256hex string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails since Go 1.24
	plaintext = prefix + base64.RawURLEncoding.EncodeToString(b)
	return plaintext, HashToken(plaintext)
}

// NewWebhookKey returns "wh_" followed by 32 hex characters (16 random bytes).
func NewWebhookKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return WebhookKeyPrefix + hex.EncodeToString(b)
}

// HashToken returns the lowercase SHA-256 hex of s, the form opaque tokens
// are stored and looked up by.
func HashToken(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
