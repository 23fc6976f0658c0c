package security

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const testPEM = "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n" +
	"QyNTUxOQAAACBh2Kx5ZpVq0y7nK3m4mJX1s4tA4E1n0mQ2cT0uZ8y4bwAAAJg=\n" +
	"-----END OPENSSH PRIVATE KEY-----\n"

// The hostile secret set from guarantees-and-security.md §3.2 item 6.
var hostileSecrets = []string{"a+++b", ".*", `$1\`, testPEM, "pässwörd✓<&>", "Z", "tab\there\"q"}

// encodings renders s the ways an action might echo it.
func encodings(s string) map[string]string {
	jsonGo, _ := json.Marshal(s)
	var pyASCII strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			pyASCII.WriteString(`\` + string(r))
		case r == '\n':
			pyASCII.WriteString(`\n`)
		case r == '\t':
			pyASCII.WriteString(`\t`)
		case r < 0x80:
			pyASCII.WriteRune(r)
		default:
			pyASCII.WriteString(`\u` + hex4(r))
		}
	}
	return map[string]string{
		"literal":      s,
		"b64 std":      base64.StdEncoding.EncodeToString([]byte(s)),
		"b64 raw std":  base64.RawStdEncoding.EncodeToString([]byte(s)),
		"b64 url":      base64.URLEncoding.EncodeToString([]byte(s)),
		"b64 raw url":  base64.RawURLEncoding.EncodeToString([]byte(s)),
		"query escape": url.QueryEscape(s),
		"path escape":  url.PathEscape(s),
		"json go":      string(jsonGo[1 : len(jsonGo)-1]),
		"json python":  pyASCII.String(),
	}
}

func hex4(r rune) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[r>>12&0xf], digits[r>>8&0xf], digits[r>>4&0xf], digits[r&0xf]})
}

func TestMaskerHostileSecretsEveryEncoding(t *testing.T) {
	t.Parallel()
	m := NewMasker(hostileSecrets...)
	for _, secret := range hostileSecrets {
		for enc, form := range encodings(secret) {
			out := m.Mask("before " + form + " after")
			require.NotContains(t, out, form, "secret %q leaked in %s form", secret, enc)
			require.Contains(t, out, MaskText)
		}
	}
	// Regex metacharacters are matched literally, not as patterns.
	require.Equal(t, "abc ********", NewMasker(".*").Mask("abc .*"))
	require.Equal(t, "xyz", NewMasker(".*").Mask("xyz"))
	require.Equal(t, "replace ******** now", NewMasker(`$1\`).Mask(`replace $1\ now`))
}

func TestMaskerPEMLines(t *testing.T) {
	t.Parallel()
	m := NewMasker(testPEM)
	// An action that prints the key with CRLF line endings still leaks no line.
	crlf := strings.ReplaceAll(testPEM, "\n", "\r\n")
	out := m.Mask(crlf)
	for _, line := range strings.Split(strings.TrimSpace(testPEM), "\n") {
		require.NotContains(t, out, line)
	}
}

func TestMaskerLongestWins(t *testing.T) {
	t.Parallel()
	m := NewMasker("abc", "abcdef")
	require.Equal(t, "x ******** y ******** z", m.Mask("x abcdef y abc z"))
}

func TestMaskerEmpty(t *testing.T) {
	t.Parallel()
	require.Equal(t, "unchanged", NewMasker().Mask("unchanged"))
	require.Equal(t, "unchanged", NewMasker("", "").Mask("unchanged"))
	var nilM *Masker
	require.Equal(t, "unchanged", nilM.Mask("unchanged"))
	require.Equal(t, map[string]any{"a": 1}, nilM.MaskJSON(map[string]any{"a": 1}))
}

func TestMaskJSON(t *testing.T) {
	t.Parallel()
	m := NewMasker("hunter2", "8675309", "true-secret")
	in := map[string]any{
		"password": "hunter2",
		"nested":   []any{"prefix hunter2 suffix", map[string]any{"hunter2": "key leak"}},
		"pin":      float64(8675309),
		"pin64":    int64(8675309),
		"numstr":   json.Number("8675309"),
		"other":    float64(42),
		"flag":     true,
		"nil":      nil,
		"list":     []string{base64.StdEncoding.EncodeToString([]byte("hunter2")), "ok"},
	}
	out := m.MaskJSON(in).(map[string]any)
	require.Equal(t, MaskText, out["password"])
	nested := out["nested"].([]any)
	require.Equal(t, "prefix ******** suffix", nested[0])
	require.Equal(t, map[string]any{MaskText: "key leak"}, nested[1])
	require.Equal(t, MaskText, out["pin"])
	require.Equal(t, MaskText, out["pin64"])
	require.Equal(t, MaskText, out["numstr"])
	require.Equal(t, float64(42), out["other"])
	require.Equal(t, true, out["flag"])
	require.Nil(t, out["nil"])
	require.Equal(t, []any{MaskText, "ok"}, out["list"])
	require.Equal(t, "hunter2", in["password"], "input must not be mutated")

	type result struct {
		Stdout string `json:"stdout"`
		Code   int    `json:"code"`
	}
	require.Equal(t, map[string]any{"stdout": "pw=********", "code": float64(0)}, m.MaskJSON(result{Stdout: "pw=hunter2"}))
	require.Equal(t, MaskText, m.MaskJSON(make(chan int)), "unencodable values are masked, not passed through")

	raw, err := json.Marshal(m.MaskJSON(in))
	require.NoError(t, err)
	require.NotContains(t, string(raw), "hunter2")
	require.NotContains(t, string(raw), "8675309")
}

func TestMaskerConcurrent(t *testing.T) {
	t.Parallel()
	m := NewMasker("s3cr3t")
	done := make(chan string, 8)
	for range 8 {
		go func() { done <- m.Mask("x s3cr3t y") }()
	}
	for range 8 {
		require.Equal(t, "x ******** y", <-done)
	}
}
