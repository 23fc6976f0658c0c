package worker

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A NUL escape becomes U+FFFD wherever it stands, keys included; an escaped
// backslash followed by "u0000" is text and stays.
func TestWithoutNUL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"a":"x\u0000y"}`:        `{"a":"x\ufffdy"}`,
		`{"k\u0000":["\u0000"]}`:  `{"k\ufffd":["\ufffd"]}`,
		`{"a":"\\u0000"}`:         `{"a":"\\u0000"}`,
		`{"a":"\\\u0000\"\\"}`:    `{"a":"\\\ufffd\"\\"}`,
		`{"plain":"no nul here"}`: `{"plain":"no nul here"}`,
	} {
		require.Equal(t, want, string(withoutNUL([]byte(in))), "in: %s", in)
	}
}
