package security

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// MaxPasswordBytes bounds the password length: Argon2 accepts any length, but
// hashing megabyte-sized inputs on every login attempt is a cheap DoS lever.
const MaxPasswordBytes = 1024

// Errors returned by the password functions.
var (
	ErrPasswordEmpty   = errors.New("password: must not be empty")
	ErrPasswordTooLong = fmt.Errorf("password: longer than %d bytes", MaxPasswordBytes)
	ErrMalformedHash   = errors.New("password: malformed argon2id PHC string")
)

// Params are the Argon2id cost parameters. Memory is in KiB, as in the PHC
// string's m= field.
type Params struct {
	Time      uint32 // iterations (t)
	MemoryKiB uint32 // memory (m), KiB
	Threads   uint8  // lanes (p)
	SaltLen   uint32 // random salt bytes
	KeyLen    uint32 // derived hash bytes
}

// DefaultParams follows RFC 9106's second recommended option (t=3, m=64 MiB)
// but with p=2 instead of 4: the reference deployment has 2 cores, and lanes
// beyond the core count add no wall-clock speed-up for us while an attacker
// with more cores gains from them. 64 MiB per hash also caps memory per
// concurrent login, so the API should bound concurrent hashing.
var DefaultParams = Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 2, SaltLen: 16, KeyLen: 32}

// TestParams are deliberately cheap parameters for unit tests only; never use
// them for stored credentials.
var TestParams = Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

// Upper bounds applied when parsing a stored hash so that a corrupted or
// hostile row cannot make verification allocate gigabytes or spin for minutes.
const (
	maxParseMemoryKiB = 1024 * 1024 // 1 GiB
	maxParseTime      = 64
	maxParseKeyLen    = 1024
)

// Validate reports parameter sets argon2 would reject or that are unsafe.
func (p Params) Validate() error {
	switch {
	case p.Time < 1:
		return errors.New("argon2 params: time must be >= 1")
	case p.Threads < 1:
		return errors.New("argon2 params: threads must be >= 1")
	case p.MemoryKiB < 8*uint32(p.Threads):
		return errors.New("argon2 params: memory_kib must be >= 8*threads")
	case p.SaltLen < 8:
		return errors.New("argon2 params: salt_len must be >= 8")
	case p.KeyLen < 16:
		return errors.New("argon2 params: key_len must be >= 16")
	}
	return nil
}

func checkPasswordInput(pw string) error {
	if pw == "" {
		return ErrPasswordEmpty
	}
	if len(pw) > MaxPasswordBytes {
		return ErrPasswordTooLong
	}
	return nil
}

// HashPassword hashes pw with Argon2id and returns a PHC string:
// $argon2id$v=19$m=65536,t=3,p=2$<salt b64>$<hash b64> (unpadded std base64).
func HashPassword(pw string, p Params) (string, error) {
	if err := checkPasswordInput(pw); err != nil {
		return "", err
	}
	if err := p.Validate(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: read salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// DummyHash is a well-formed hash with parameters p that no password
// matches (its key is random, not derived): verifying against it costs what
// verifying a real hash costs, without spending a hash to make it.
func DummyHash(p Params) string {
	salt, key := make([]byte, max(p.SaltLen, 16)), make([]byte, max(p.KeyLen, 32))
	_, _ = rand.Read(salt)
	_, _ = rand.Read(key)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// VerifyPassword checks pw against a PHC string produced by HashPassword.
// needsRehash is true (only when ok) if the stored parameters differ from
// DefaultParams, so the caller can transparently upgrade the hash on login.
// A wrong password is ok=false with a nil error; err is reserved for
// unusable input (empty/oversized password, malformed hash).
func VerifyPassword(pw, encoded string) (ok bool, needsRehash bool, err error) {
	return VerifyPasswordParams(pw, encoded, DefaultParams)
}

// VerifyPasswordParams is VerifyPassword with an explicit target parameter set
// for the needsRehash decision.
func VerifyPasswordParams(pw, encoded string, want Params) (ok bool, needsRehash bool, err error) {
	if err := checkPasswordInput(pw); err != nil {
		return false, false, err
	}
	got, salt, hash, err := decodePHC(encoded)
	if err != nil {
		return false, false, err
	}
	key := argon2.IDKey([]byte(pw), salt, got.Time, got.MemoryKiB, got.Threads, uint32(len(hash)))
	if subtle.ConstantTimeCompare(key, hash) != 1 {
		return false, false, nil
	}
	rehash := got.Time != want.Time || got.MemoryKiB != want.MemoryKiB ||
		got.Threads != want.Threads || got.KeyLen != want.KeyLen || got.SaltLen < want.SaltLen
	return true, rehash, nil
}

func decodePHC(encoded string) (Params, []byte, []byte, error) {
	// "$argon2id$v=19$m=..,t=..,p=..$salt$hash" splits into 6 parts, first empty.
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return Params{}, nil, nil, fmt.Errorf("%w: want 5 '$'-separated fields", ErrMalformedHash)
	}
	if parts[1] != "argon2id" {
		return Params{}, nil, nil, fmt.Errorf("%w: algorithm %q is not argon2id", ErrMalformedHash, parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, fmt.Errorf("%w: unsupported version %q", ErrMalformedHash, parts[2])
	}
	var p Params
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, found := strings.Cut(kv, "=")
		if !found || seen[k] {
			return Params{}, nil, nil, fmt.Errorf("%w: bad parameter %q", ErrMalformedHash, kv)
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return Params{}, nil, nil, fmt.Errorf("%w: parameter %q: %v", ErrMalformedHash, k, err)
		}
		switch k {
		case "m":
			p.MemoryKiB = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return Params{}, nil, nil, fmt.Errorf("%w: p=%d out of range", ErrMalformedHash, n)
			}
			p.Threads = uint8(n)
		default:
			return Params{}, nil, nil, fmt.Errorf("%w: unknown parameter %q", ErrMalformedHash, k)
		}
	}
	if !seen["m"] || !seen["t"] || !seen["p"] {
		return Params{}, nil, nil, fmt.Errorf("%w: m, t and p are all required", ErrMalformedHash)
	}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(parts[4])
	if err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: salt: %v", ErrMalformedHash, err)
	}
	hash, err := base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: hash: %v", ErrMalformedHash, err)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(hash))
	if err := p.Validate(); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	if p.MemoryKiB > maxParseMemoryKiB || p.Time > maxParseTime || p.KeyLen > maxParseKeyLen {
		return Params{}, nil, nil, fmt.Errorf("%w: cost parameters exceed safety bounds", ErrMalformedHash)
	}
	return p, salt, hash, nil
}
