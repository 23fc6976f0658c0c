package runner

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const testPEM = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIBmT0uY3Ck3P1Rk1JwQk5v3Hn9nq5d7m0r8vJm1Xz0aB
qZ9sT2xw8yLk4Jb7Qe1Rt5Uo3Ip6As2Df0Gh9Jk8Lz1Xc4Vb7Nm0Qw3Er6Ty9Ui
-----END PRIVATE KEY-----`

// trickySecrets are the §3.2 item 6 set: regex metacharacters, a regex
// back-reference with a backslash, a multi-line PEM, UTF-8 and a secret of
// a single character.
var trickySecrets = []string{"a+++b", ".*", `$1\`, testPEM, "pässwörd-秘密", "§"}

func TestRedactLiteralSecrets(t *testing.T) {
	t.Parallel()
	r := NewRedactor(trickySecrets)
	for _, s := range trickySecrets {
		in := "before " + s + " middle " + s + s + " after"
		out := r.String(in)
		require.NotContains(t, out, s)
		require.True(t, strings.HasPrefix(out, "before ***"), out)
		require.True(t, strings.HasSuffix(out, " after"), out)
	}
	// Regex syntax in a secret is inert: `.*` only matches the two bytes.
	require.Equal(t, "xyz", r.String("xyz"))
	require.Equal(t, "a++b", r.String("a++b"))
	require.Equal(t, "$1 and \\", r.String("$1 and \\"))
}

func TestRedactLongestAndLeftmost(t *testing.T) {
	t.Parallel()
	r := NewRedactor([]string{"abc", "abcdef", "cde"})
	require.Equal(t, "x***x", r.String("xabcdefx"))
	require.Equal(t, "***dx", r.String("abcdx"), "leftmost match wins over an overlapping later one")
	require.Equal(t, "******", r.String("abcabc"))
	require.Equal(t, "***de", r.String("abcde"), "at the same start the match found first by position wins, not a later longer one")
	require.True(t, NewRedactor(nil).Empty())
	require.True(t, NewRedactor([]string{""}).Empty())
}

func TestRedactEncodedForms(t *testing.T) {
	t.Parallel()
	for _, s := range trickySecrets {
		r := NewRedactor([]string{s})
		jsonBody, err := json.Marshal(s)
		require.NoError(t, err)
		forms := map[string]string{
			"base64":          base64.StdEncoding.EncodeToString([]byte(s)),
			"base64url":       base64.URLEncoding.EncodeToString([]byte(s)),
			"base64 raw":      base64.RawStdEncoding.EncodeToString([]byte(s)),
			"query escape":    url.QueryEscape(s),
			"path escape":     url.PathEscape(s),
			"json string":     string(jsonBody[1 : len(jsonBody)-1]),
			"lower-hex query": regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(url.QueryEscape(s), strings.ToLower),
		}
		for name, f := range forms {
			if f == s || len(f) < minEncodedLen {
				continue
			}
			out := r.String("<" + f + ">")
			require.NotContains(t, out, f, "%s of %q", name, s)
			require.Contains(t, out, Mask, "%s of %q", name, s)
		}
		if len(s) < 4 {
			continue
		}
		// Embedded in a longer base64 blob, at each byte alignment, the way
		// `echo user:$S | base64` prints it.
		for _, prefix := range []string{"", "u", "us", "user:"} {
			blob := base64.StdEncoding.EncodeToString([]byte(prefix + s + "\n"))
			out := r.String(blob)
			require.Contains(t, out, Mask, "base64 of %q+secret %q", prefix, s)
			if enc := base64.RawStdEncoding.EncodeToString([]byte(s)); len(enc) >= 12 {
				require.NotContains(t, out, enc[4:len(enc)-4], "middle of the encoded secret survived, prefix %q", prefix)
			}
		}
	}
	// Each PEM body line alone (as a YAML block scalar or indented log
	// would show it) is masked too.
	r := NewRedactor([]string{testPEM})
	for _, line := range strings.Split(testPEM, "\n")[1:3] {
		require.Equal(t, "  ***\n", r.String("  "+line+"\n"))
	}
}

// The streaming writer must produce exactly what whole-buffer redaction
// produces, however the input is split into writes.
func TestRedactWriterMatchesWholeBuffer(t *testing.T) {
	t.Parallel()
	r := NewRedactor(trickySecrets)
	var in strings.Builder
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		if rng.IntN(4) == 0 {
			in.WriteString(trickySecrets[rng.IntN(len(trickySecrets))])
		} else {
			in.WriteString(strings.Repeat("x.", rng.IntN(5)) + "$1 a++ \n")
		}
	}
	want := r.String(in.String())
	for _, chunk := range []int{1, 2, 3, 7, 64, 4096, 1 << 20} {
		var got bytes.Buffer
		w := newRedactWriter(r, &got)
		data := []byte(in.String())
		for len(data) > 0 {
			n := min(chunk, len(data))
			_, err := w.Write(data[:n])
			require.NoError(t, err)
			data = data[n:]
		}
		require.NoError(t, w.Flush())
		require.Equal(t, want, got.String(), "chunk size %d", chunk)
	}
	for _, s := range trickySecrets {
		require.NotContains(t, want, s)
	}
}

// FuzzRedact checks two properties for arbitrary secrets and input: the
// streaming writer equals whole-buffer redaction for any split, and no
// secret that does not overlap the mask alphabet survives.
func FuzzRedact(f *testing.F) {
	f.Add("a+++b", ".*", "xx a+++b yy .* zz", uint8(3))
	f.Add(`$1\`, "§", `$1\$1\§§`, uint8(1))
	f.Fuzz(func(t *testing.T, s1, s2, in string, split uint8) {
		r := NewRedactor([]string{s1, s2})
		want := r.String(in)
		var got bytes.Buffer
		w := newRedactWriter(r, &got)
		chunk := int(split%32) + 1
		data := []byte(in)
		for len(data) > 0 {
			n := min(chunk, len(data))
			_, _ = w.Write(data[:n])
			data = data[n:]
		}
		_ = w.Flush()
		if got.String() != want {
			t.Fatalf("stream %q != whole %q", got.String(), want)
		}
		for _, s := range []string{s1, s2} {
			if s != "" && !strings.Contains(s, "*") && strings.Contains(want, s) {
				t.Fatalf("secret %q survived in %q", s, want)
			}
		}
	})
}

func BenchmarkRedactWriter(b *testing.B) {
	r := NewRedactor(trickySecrets)
	chunk := bytes.Repeat([]byte("some ordinary log line with no secret in it at all\n"), 1300)
	b.SetBytes(int64(len(chunk)))
	w := newRedactWriter(r, discard{})
	for b.Loop() {
		_, _ = w.Write(chunk)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
