package security

import "time"

// Settings are the process-wide security parameters handed to modules by the
// composition root (from the `security` config section).
type Settings struct {
	// JWTSecret signs and verifies every token (HS256).
	JWTSecret string
	// EncryptionKey encrypts stored secrets (AES-256-GCM over its SHA-256).
	EncryptionKey string
	// AccessTTL and RefreshTTL are token lifetimes.
	AccessTTL  time.Duration
	RefreshTTL time.Duration
	// AdminLogin and AdminPassword seed the first-run admin; an empty
	// password means generate one and print it once.
	AdminLogin    string
	AdminPassword string
	// Dev relaxes nothing security-relevant at request time; it only lets
	// start-up generate the secrets above.
	Dev bool
}
