package security

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// Secret-encryption errors.
var (
	// ErrWrongKey means the row's encryption_key_hash is not one this server
	// holds: decrypting would fail anyway, and saying why helps operators
	// who restored a DB without its key.
	ErrWrongKey = errors.New("secret encrypted with a different key")
	// ErrDecrypt means authentication failed: tampered ciphertext, wrong
	// associated data (ciphertext moved to another row) or wrong key.
	ErrDecrypt = errors.New("secret decryption failed")
)

const nonceSize = 12 // 96-bit GCM nonce, spec §9.5

// SecretBox encrypts key values with AES-256-GCM (spec §9.5). Encryption uses
// the current key; decryption also accepts previous keys, selected by their
// encryption_key_hash, so keys can be rotated by re-encrypting rows.
type SecretBox struct {
	current string                 // hash of the key used for Encrypt
	keys    map[string]cipher.AEAD // key hash → AEAD
}

// NewSecretBox derives AES-256 keys as SHA-256(key string) for current and
// any previous keys. Empty keys are refused: the server must not start
// without one.
func NewSecretBox(current string, previous ...string) (*SecretBox, error) {
	b := &SecretBox{keys: map[string]cipher.AEAD{}}
	for i, k := range append([]string{current}, previous...) {
		if k == "" {
			return nil, fmt.Errorf("secret box: encryption key #%d is empty", i)
		}
		sum := sha256.Sum256([]byte(k))
		block, err := aes.NewCipher(sum[:])
		if err != nil {
			return nil, fmt.Errorf("secret box: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secret box: %w", err)
		}
		h := keyHash(k)
		if i == 0 {
			b.current = h
		}
		b.keys[h] = aead
	}
	return b, nil
}

// keyHash is the encryption_key_hash: SHA-256 hex of the derived AES key,
// i.e. SHA-256(SHA-256(key string)). Hashing the key string only once would
// make the stored hash equal to the AES key itself, so anyone reading the
// table could decrypt every row; the second hash keeps it a pure identifier.
func keyHash(k string) string {
	aesKey := sha256.Sum256([]byte(k))
	sum := sha256.Sum256(aesKey[:])
	return hex.EncodeToString(sum[:])
}

// KeyHash returns the encryption_key_hash to store next to new ciphertexts.
func (b *SecretBox) KeyHash() string { return b.current }

// Encrypt JSON-serialises value and seals it with the current key. aad binds
// the ciphertext to its row (pass the key ref); "" means no binding, which
// only legacy rows should use. The result is base64(nonce‖ciphertext‖tag).
func (b *SecretBox) Encrypt(value any, aad string) (string, error) {
	plain, err := json.Marshal(value)
	if err != nil {
		return "", fmt.Errorf("secret box: encode value: %w", err)
	}
	nonce := make([]byte, nonceSize, nonceSize+len(plain)+16)
	_, _ = rand.Read(nonce) // never fails since Go 1.24
	sealed := b.keys[b.current].Seal(nonce, nonce, plain, adBytes(aad))
	return base64.StdEncoding.EncodeToString(sealed), nil
}

// Decrypt opens stored with the current key and JSON-decodes it into out.
func (b *SecretBox) Decrypt(stored, aad string, out any) error {
	return b.DecryptRow(stored, b.current, aad, out)
}

// DecryptRow checks the row's encryption_key_hash first (ErrWrongKey when the
// server holds no such key), then opens stored with that key.
func (b *SecretBox) DecryptRow(stored, keyHash, aad string, out any) error {
	aead, ok := b.keys[keyHash]
	if !ok {
		return ErrWrongKey
	}
	raw, err := base64.StdEncoding.DecodeString(stored)
	if err != nil {
		return fmt.Errorf("%w: not base64", ErrDecrypt)
	}
	if len(raw) < nonceSize+aead.Overhead() {
		return fmt.Errorf("%w: ciphertext too short", ErrDecrypt)
	}
	plain, err := aead.Open(nil, raw[:nonceSize], raw[nonceSize:], adBytes(aad))
	if err != nil {
		return ErrDecrypt
	}
	if err := json.Unmarshal(plain, out); err != nil {
		// Do not wrap the JSON error: its message can quote plaintext bytes.
		return errors.New("secret box: decrypted value is not valid JSON for the target type")
	}
	return nil
}

func adBytes(aad string) []byte {
	if aad == "" {
		return nil
	}
	return []byte(aad)
}
