package security

import (
	"testing"
	"time"
)

// BenchmarkTokenVerify measures Verify on a typical access token; the target
// is < 50 µs per call.
func BenchmarkTokenVerify(b *testing.B) {
	ti, err := NewTokenIssuer(testSecret, nil)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := ti.Issue(Claims{Subject: 42, Login: "alice", TokenType: TokenAccess,
		PermissionSetRefs: []string{"core.viewer"}}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ti.Verify(tok, TokenAccess); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenIssue measures signing for comparison.
func BenchmarkTokenIssue(b *testing.B) {
	ti, err := NewTokenIssuer(testSecret, nil)
	if err != nil {
		b.Fatal(err)
	}
	c := Claims{Subject: 42, Login: "alice", TokenType: TokenAccess}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ti.Issue(c, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}
