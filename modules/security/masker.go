package security

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// MaskText replaces every secret occurrence.
const MaskText = "********"

// minLineMask is the shortest line of a multi-line secret (a PEM, say) that
// is masked on its own. Shorter lines ("-----", "") would mask unrelated text.
const minLineMask = 8

// Masker replaces registered secret values in text and JSON. It matches
// literally (strings.Replacer), never by a regex built from the secret, so
// secrets like `a+++b` or `.*` neither break it nor match more than
// themselves. A Masker is immutable and safe for concurrent use; the zero
// value and a nil *Masker mask nothing.
type Masker struct {
	r       *strings.Replacer
	secrets map[string]struct{}
}

// NewMasker builds a masker for secrets. Besides each literal value it masks
// the standard and URL-safe base64 encodings (padded and unpadded), the
// query- and path-escaped URL forms, the JSON-string-escaped form and, for
// multi-line secrets, each line of at least minLineMask bytes. Empty secrets
// are ignored.
func NewMasker(secrets ...string) *Masker {
	set := map[string]struct{}{}
	exact := map[string]struct{}{}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		exact[s] = struct{}{}
		for _, v := range variants(s) {
			if v != "" {
				set[v] = struct{}{}
			}
		}
	}
	if len(set) == 0 {
		return &Masker{}
	}
	olds := make([]string, 0, len(set))
	for v := range set {
		olds = append(olds, v)
	}
	// strings.Replacer tries olds in argument order at each position; longest
	// first makes a secret win over any shorter secret it contains.
	sort.Slice(olds, func(i, j int) bool {
		if len(olds[i]) != len(olds[j]) {
			return len(olds[i]) > len(olds[j])
		}
		return olds[i] < olds[j]
	})
	pairs := make([]string, 0, 2*len(olds))
	for _, o := range olds {
		pairs = append(pairs, o, MaskText)
	}
	return &Masker{r: strings.NewReplacer(pairs...), secrets: exact}
}

func variants(s string) []string {
	b := []byte(s)
	out := []string{
		s,
		base64.StdEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
		url.QueryEscape(s),
		url.PathEscape(s),
	}
	out = append(out, jsonEscapedForms(s)...)
	if strings.ContainsAny(s, "\r\n") {
		for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if len(line) >= minLineMask {
				out = append(out, line)
			}
		}
	}
	return out
}

// Mask returns s with every registered form of every secret replaced by
// MaskText.
func (m *Masker) Mask(s string) string {
	if m == nil || m.r == nil {
		return s
	}
	return m.r.Replace(s)
}

// MaskJSON returns a masked deep copy of a decoded-JSON value (maps, slices,
// strings, numbers, bools, nil). Strings and object keys are masked with
// Mask; a number or bool whose text equals a secret becomes MaskText. Any
// other Go value is round-tripped through encoding/json first, so structs are
// masked by their JSON form; values that cannot be encoded become MaskText
// rather than passing through unmasked.
func (m *Masker) MaskJSON(v any) any {
	if m == nil || m.r == nil {
		return v
	}
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return m.Mask(x)
	case bool:
		return m.maskScalar(v, strconv.FormatBool(x))
	case float64:
		return m.maskScalar(v, strconv.FormatFloat(x, 'f', -1, 64))
	case json.Number:
		return m.maskScalar(v, x.String())
	case int:
		return m.maskScalar(v, strconv.Itoa(x))
	case int64:
		return m.maskScalar(v, strconv.FormatInt(x, 10))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[m.Mask(k)] = m.MaskJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = m.MaskJSON(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = m.Mask(e)
		}
		return out
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return MaskText
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return MaskText
	}
	return m.MaskJSON(generic)
}

func (m *Masker) maskScalar(v any, text string) any {
	if _, ok := m.secrets[text]; ok {
		return MaskText
	}
	return v
}

// jsonEscapedForms returns s as it appears inside JSON strings written by
// common encoders: Go's default (HTML-escaped), Go without HTML escaping, and
// Python's default ensure_ascii (non-ASCII as \uXXXX, lowercase hex).
func jsonEscapedForms(s string) []string {
	var out []string
	if j, err := json.Marshal(s); err == nil {
		out = append(out, string(j[1:len(j)-1]))
	}
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err == nil {
		j := strings.TrimSuffix(buf.String(), "\n")
		plain := j[1 : len(j)-1]
		out = append(out, plain)
		var ascii strings.Builder
		for _, r := range plain {
			switch {
			case r < 0x80:
				ascii.WriteRune(r)
			case r > 0xFFFF:
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(&ascii, "\\u%04x\\u%04x", r1, r2)
			default:
				fmt.Fprintf(&ascii, "\\u%04x", r)
			}
		}
		out = append(out, ascii.String())
	}
	return out
}
