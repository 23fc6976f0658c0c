package runner

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/url"
	"sort"
	"strings"
)

// Mask replaces every redacted secret occurrence.
const Mask = "***"

// minEncodedLen is the shortest derived (encoded, per-line) pattern worth
// masking: shorter derived fragments would mask unrelated output. The
// literal secret itself is always masked, whatever its length.
const minEncodedLen = 4

// Redactor masks literal secret values and their common encodings (JSON
// string escaping, base64 in both alphabets with and without padding and at
// every 3-byte alignment, URL/query escaping, and each line of a multi-line
// secret). Matching is literal byte comparison: a secret is never compiled
// into a regular expression, so `.*` or `a+++b` are just bytes.
type Redactor struct {
	patterns [][]byte // longest first, so the longest match at a position wins
	maxLen   int
}

// NewRedactor builds a Redactor for the given secret values; empty strings
// are ignored.
func NewRedactor(secrets []string) *Redactor {
	seen := map[string]bool{}
	var pats []string
	add := func(p string, min int) {
		if len(p) < min || seen[p] {
			return
		}
		seen[p] = true
		pats = append(pats, p)
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		add(s, 1)
		for _, v := range secretVariants(s) {
			add(v, minEncodedLen)
		}
	}
	sort.Slice(pats, func(i, j int) bool {
		if len(pats[i]) != len(pats[j]) {
			return len(pats[i]) > len(pats[j])
		}
		return pats[i] < pats[j]
	})
	r := &Redactor{}
	for _, p := range pats {
		r.patterns = append(r.patterns, []byte(p))
		r.maxLen = max(r.maxLen, len(p))
	}
	return r
}

// secretVariants lists the encoded forms of s that an action is likely to
// print: what `echo $S | base64`, a JSON encoder or a URL builder produce.
func secretVariants(s string) []string {
	var out []string
	// JSON string bodies, with and without HTML escaping.
	if raw, err := json.Marshal(s); err == nil {
		out = append(out, string(raw[1:len(raw)-1]))
	}
	var hb bytes.Buffer
	enc := json.NewEncoder(&hb)
	enc.SetEscapeHTML(false)
	if enc.Encode(s) == nil {
		b := bytes.TrimSuffix(hb.Bytes(), []byte("\n"))
		out = append(out, string(b[1:len(b)-1]))
	}
	// Each line of a multi-line secret (PEM keys): a YAML block scalar or an
	// indented log re-flows the lines, so the whole value never matches.
	if strings.ContainsAny(s, "\r\n") {
		for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
			out = append(out, strings.TrimSpace(line))
		}
	}
	// base64: whole-value encodings, plus the alignment-independent core of
	// the secret inside a longer encoded blob ("user:secret", "secret\n").
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		out = append(out, e.EncodeToString([]byte(s)))
		raw := e.WithPadding(base64.NoPadding)
		for k := 0; k < 3; k++ {
			enc := raw.EncodeToString(append(make([]byte, k), s...))
			start := (8*k + 5) / 6 // first char not mixed with prefix bits
			end := 8 * (k + len(s)) / 6
			if end-start >= minEncodedLen {
				out = append(out, enc[start:end])
			}
		}
	}
	// URL forms, upper- and lower-case hex.
	for _, u := range []string{url.QueryEscape(s), url.PathEscape(s)} {
		out = append(out, u, lowerHexEscapes(u))
	}
	return out
}

// lowerHexEscapes rewrites %AB escapes as %ab.
func lowerHexEscapes(u string) string {
	b := []byte(u)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1] = lowerHex(b[i+1])
			b[i+2] = lowerHex(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func lowerHex(c byte) byte {
	if c >= 'A' && c <= 'F' {
		return c + ('a' - 'A')
	}
	return c
}

// Empty reports whether the redactor has nothing to mask.
func (r *Redactor) Empty() bool { return r == nil || len(r.patterns) == 0 }

// String masks every secret occurrence in s.
func (r *Redactor) String(s string) string {
	if r.Empty() || s == "" {
		return s
	}
	out, _ := r.scan(nil, []byte(s), len(s))
	return string(out)
}

// Bytes masks every secret occurrence in b and returns a new slice.
func (r *Redactor) Bytes(b []byte) []byte {
	if r.Empty() {
		return append([]byte(nil), b...)
	}
	out, _ := r.scan(nil, b, len(b))
	return out
}

// scan appends to out buf with every match that starts before limit masked.
// It returns out and the number of bytes of buf consumed: limit, or the end
// of a match that started before limit and runs past it. A pattern's next
// occurrence is cached, so the work per pattern stays linear in len(buf)
// even when matches overlap.
func (r *Redactor) scan(out, buf []byte, limit int) ([]byte, int) {
	next := make([]int, len(r.patterns))
	for i := range next {
		next[i] = -2 // not searched yet
	}
	pos := 0
	for pos < limit {
		best, bestLen := -1, 0
		for i, p := range r.patterns {
			if next[i] == -1 {
				continue
			}
			if next[i] < pos {
				j := bytes.Index(buf[pos:], p)
				if j < 0 {
					next[i] = -1
					continue
				}
				next[i] = pos + j
			}
			if next[i] < limit && (best == -1 || next[i] < best || (next[i] == best && len(p) > bestLen)) {
				best, bestLen = next[i], len(p)
			}
		}
		if best == -1 {
			break
		}
		out = append(out, buf[pos:best]...)
		out = append(out, Mask...)
		pos = best + bestLen
	}
	if pos < limit {
		out = append(out, buf[pos:limit]...)
		pos = limit
	}
	return out, pos
}

// redactWriter masks secrets in a byte stream. It holds back the last
// maxLen-1 bytes so a secret split across two writes is still caught; memory
// is bounded by that holdback plus one write.
type redactWriter struct {
	r    *Redactor
	w    io.Writer
	held []byte
	out  []byte
}

func newRedactWriter(r *Redactor, w io.Writer) *redactWriter {
	return &redactWriter{r: r, w: w}
}

// Write never fails on the sink's behalf: sinks are capped buffers that
// count rather than reject, so the error is only the sink's own.
func (rw *redactWriter) Write(p []byte) (int, error) {
	if rw.r.Empty() {
		return rw.w.Write(p)
	}
	rw.held = append(rw.held, p...)
	// Any match starting before safe fits entirely in held, for every pattern.
	safe := len(rw.held) - (rw.r.maxLen - 1)
	if safe <= 0 {
		return len(p), nil
	}
	var consumed int
	rw.out, consumed = rw.r.scan(rw.out[:0], rw.held, safe)
	rest := copy(rw.held, rw.held[consumed:])
	rw.held = rw.held[:rest]
	if _, err := rw.w.Write(rw.out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush masks and writes whatever is held back; call it once at EOF.
func (rw *redactWriter) Flush() error {
	if len(rw.held) == 0 {
		return nil
	}
	rw.out, _ = rw.r.scan(rw.out[:0], rw.held, len(rw.held))
	rw.held = rw.held[:0]
	_, err := rw.w.Write(rw.out)
	return err
}
