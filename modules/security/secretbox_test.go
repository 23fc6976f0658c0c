package security

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"
)

func newBox(t *testing.T, key string, prev ...string) *SecretBox {
	t.Helper()
	b, err := NewSecretBox(key, prev...)
	require.NoError(t, err)
	return b
}

func TestSecretBoxRoundTrip(t *testing.T) {
	t.Parallel()
	box := newBox(t, "server-key-0123456789-abcdefghijklmnop")
	values := []any{
		"s3cr3t",
		map[string]any{"user": "bob", "port": float64(22), "tags": []any{"a", "b"}},
		[]any{float64(1), "two", true},
		float64(3.5),
		true,
		"ünïcødé ✓ and \"quotes\"\n",
	}
	for _, v := range values {
		stored, err := box.Encrypt(v, "mypack.db_password")
		require.NoError(t, err)
		raw, err := base64.StdEncoding.DecodeString(stored)
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(raw), 12+16, "nonce‖ciphertext‖tag")

		var out any
		require.NoError(t, box.Decrypt(stored, "mypack.db_password", &out))
		require.Equal(t, v, out)
	}

	var s string
	stored, err := box.Encrypt("plain", "")
	require.NoError(t, err)
	require.NoError(t, box.Decrypt(stored, "", &s))
	require.Equal(t, "plain", s)
}

func TestSecretBoxNoncesDiffer(t *testing.T) {
	t.Parallel()
	box := newBox(t, "server-key-0123456789-abcdefghijklmnop")
	a, err := box.Encrypt("same", "ref")
	require.NoError(t, err)
	b, err := box.Encrypt("same", "ref")
	require.NoError(t, err)
	require.NotEqual(t, a, b)
}

func TestSecretBoxAssociatedDataBindsRow(t *testing.T) {
	t.Parallel()
	box := newBox(t, "server-key-0123456789-abcdefghijklmnop")
	stored, err := box.Encrypt("s3cr3t", "pack_a.token")
	require.NoError(t, err)
	var out string
	require.ErrorIs(t, box.Decrypt(stored, "pack_b.token", &out), ErrDecrypt)
	require.ErrorIs(t, box.Decrypt(stored, "", &out), ErrDecrypt)
	require.Empty(t, out)
}

func TestSecretBoxTamper(t *testing.T) {
	t.Parallel()
	box := newBox(t, "server-key-0123456789-abcdefghijklmnop")
	stored, err := box.Encrypt(map[string]any{"k": "v"}, "ref")
	require.NoError(t, err)
	raw, err := base64.StdEncoding.DecodeString(stored)
	require.NoError(t, err)
	// Flip one bit in the nonce, the ciphertext body and the tag.
	for _, i := range []int{0, 11, 12, len(raw) - 17, len(raw) - 1} {
		mut := append([]byte(nil), raw...)
		mut[i] ^= 0x01
		var out any
		require.ErrorIs(t, box.Decrypt(base64.StdEncoding.EncodeToString(mut), "ref", &out), ErrDecrypt, "byte %d", i)
	}
	var out any
	require.ErrorIs(t, box.Decrypt(base64.StdEncoding.EncodeToString(raw[:20]), "ref", &out), ErrDecrypt)
	require.ErrorIs(t, box.Decrypt("***not base64***", "ref", &out), ErrDecrypt)
}

func TestSecretBoxWrongKey(t *testing.T) {
	t.Parallel()
	a := newBox(t, "server-key-A-0123456789-abcdefghijklmn")
	b := newBox(t, "server-key-B-0123456789-abcdefghijklmn")
	require.NotEqual(t, a.KeyHash(), b.KeyHash())
	stored, err := a.Encrypt("s3cr3t", "ref")
	require.NoError(t, err)

	var out string
	require.ErrorIs(t, b.DecryptRow(stored, a.KeyHash(), "ref", &out), ErrWrongKey)
	require.ErrorIs(t, b.Decrypt(stored, "ref", &out), ErrDecrypt)
	require.NoError(t, a.DecryptRow(stored, a.KeyHash(), "ref", &out))
	require.Equal(t, "s3cr3t", out)
}

func TestSecretBoxRotation(t *testing.T) {
	t.Parallel()
	old := newBox(t, "old-key-0123456789-abcdefghijklmnopqrs")
	stored, err := old.Encrypt("s3cr3t", "ref")
	require.NoError(t, err)

	rotated := newBox(t, "new-key-0123456789-abcdefghijklmnopqrs", "old-key-0123456789-abcdefghijklmnopqrs")
	require.NotEqual(t, old.KeyHash(), rotated.KeyHash())
	var out string
	require.NoError(t, rotated.DecryptRow(stored, old.KeyHash(), "ref", &out))
	require.Equal(t, "s3cr3t", out)

	re, err := rotated.Encrypt(out, "ref")
	require.NoError(t, err)
	newOnly := newBox(t, "new-key-0123456789-abcdefghijklmnopqrs")
	require.NoError(t, newOnly.DecryptRow(re, rotated.KeyHash(), "ref", &out))
	require.ErrorIs(t, newOnly.DecryptRow(stored, old.KeyHash(), "ref", &out), ErrWrongKey)
}

// The stored key hash must not reveal the AES key (which is SHA-256 of the
// key string).
func TestSecretBoxKeyHashIsNotTheKey(t *testing.T) {
	t.Parallel()
	const k = "server-key-0123456789-abcdefghijklmnop"
	box := newBox(t, k)
	aesKey := sha256.Sum256([]byte(k))
	require.NotEqual(t, hex.EncodeToString(aesKey[:]), box.KeyHash())
	double := sha256.Sum256(aesKey[:])
	require.Equal(t, hex.EncodeToString(double[:]), box.KeyHash())
}

func TestSecretBoxErrors(t *testing.T) {
	t.Parallel()
	_, err := NewSecretBox("")
	require.ErrorContains(t, err, "empty")
	_, err = NewSecretBox("k", "")
	require.ErrorContains(t, err, "#1 is empty")

	box := newBox(t, "server-key-0123456789-abcdefghijklmnop")
	_, err = box.Encrypt(func() {}, "ref")
	require.ErrorContains(t, err, "encode value")

	stored, err := box.Encrypt("a string", "ref")
	require.NoError(t, err)
	var n int
	err = box.Decrypt(stored, "ref", &n)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "a string", "errors must not quote plaintext")
}
