package security

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MinPasswordChars is the minimum length, in characters, for passwords set by
// an administrator or at first boot (CheckPasswordStrength).
const MinPasswordChars = 12

// ErrWeakPassword wraps every CheckPasswordStrength failure so callers can map
// it to a 400 with the specific reason from the message.
var ErrWeakPassword = errors.New("weak password")

// CheckPasswordStrength enforces the policy for admin-set passwords: valid
// UTF-8, at most MaxPasswordBytes bytes, at least MinPasswordChars characters,
// characters from at least two classes (lower, upper, digit, other) and at
// least four distinct characters.
func CheckPasswordStrength(pw string) error {
	if err := checkPasswordInput(pw); err != nil {
		return fmt.Errorf("%w: %w", ErrWeakPassword, err)
	}
	if !utf8.ValidString(pw) {
		return fmt.Errorf("%w: not valid UTF-8", ErrWeakPassword)
	}
	if n := utf8.RuneCountInString(pw); n < MinPasswordChars {
		return fmt.Errorf("%w: %d characters, need at least %d", ErrWeakPassword, n, MinPasswordChars)
	}
	var lower, upper, digit, other bool
	distinct := map[rune]struct{}{}
	for _, r := range pw {
		distinct[r] = struct{}{}
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	classes := 0
	for _, b := range []bool{lower, upper, digit, other} {
		if b {
			classes++
		}
	}
	if classes < 2 {
		return fmt.Errorf("%w: uses only one character class; mix letters, digits or symbols", ErrWeakPassword)
	}
	if len(distinct) < 4 {
		return fmt.Errorf("%w: too few distinct characters", ErrWeakPassword)
	}
	return nil
}
