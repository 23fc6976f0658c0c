package runner

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/url"
	"slices"
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
	strs     []string // the same patterns, for scanning strings without a copy
	maxLen   int
}

// NewRedactor builds a Redactor for the given secret values; empty strings
// are ignored.
func NewRedactor(secrets []string) *Redactor {
	var pats []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		pats = append(pats, s)
		for _, v := range secretVariants(s) {
			if len(v) >= minEncodedLen {
				pats = append(pats, v)
			}
		}
	}
	slices.SortFunc(pats, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	// Sorted, duplicates are adjacent. The worker builds a redactor for
	// every execution, so this avoids a set and copies the byte patterns
	// into one array.
	pats = slices.Compact(pats)
	r := &Redactor{strs: pats, patterns: make([][]byte, len(pats))}
	size := 0
	for _, p := range pats {
		size += len(p)
		r.maxLen = max(r.maxLen, len(p))
	}
	arena := make([]byte, 0, size)
	for i, p := range pats {
		arena = append(arena, p...)
		r.patterns[i] = arena[len(arena)-len(p) : len(arena) : len(arena)]
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
	// One buffer serves every alignment: prefixed[2-k:] is s behind k zero
	// bytes.
	prefixed := append([]byte{0, 0}, s...)
	var b64 []byte
	for _, e := range [][2]*base64.Encoding{
		{base64.StdEncoding, base64.RawStdEncoding}, {base64.URLEncoding, base64.RawURLEncoding},
	} {
		out = append(out, e[0].EncodeToString(prefixed[2:]))
		for k := 0; k < 3; k++ {
			src := prefixed[2-k:]
			b64 = slices.Grow(b64[:0], e[1].EncodedLen(len(src)))[:e[1].EncodedLen(len(src))]
			e[1].Encode(b64, src)
			start := (8*k + 5) / 6 // first char not mixed with prefix bits
			end := 8 * (k + len(s)) / 6
			if end-start >= minEncodedLen {
				out = append(out, string(b64[start:end]))
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
	if !strings.Contains(u, "%") {
		return u
	}
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

// maskBytes is Mask for byte sinks; sinks copy it and never modify it.
var maskBytes = []byte(Mask)

// stackPatterns is how many patterns String and Bytes track without a heap
// allocation; one secret yields about a dozen.
const stackPatterns = 32

// String masks every secret occurrence in s. Without a match it returns s
// itself: the result of a run is scanned again after capture, and copying
// a megabyte of output only to find nothing was most of a run's garbage.
func (r *Redactor) String(s string) string {
	if r.Empty() || s == "" {
		return s
	}
	var cache [stackPatterns]int
	var b strings.Builder
	last, matched := 0, false
	r.scan(len(s), nextCache(cache[:0], len(r.patterns)), func(i, from int) int {
		j := strings.Index(s[from:], r.strs[i])
		if j < 0 {
			return -1
		}
		return from + j
	}, func(start, end int) {
		if !matched {
			matched = true
			b.Grow(len(s))
		}
		b.WriteString(s[last:start])
		b.WriteString(Mask)
		last = end
	})
	if !matched {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// Bytes masks every secret occurrence in b and returns a new slice.
func (r *Redactor) Bytes(b []byte) []byte {
	if r.Empty() {
		return append([]byte(nil), b...)
	}
	var cache [stackPatterns]int
	var out []byte
	last := 0
	r.scan(len(b), nextCache(cache[:0], len(r.patterns)), func(i, from int) int {
		return indexFrom(b, from, r.patterns[i])
	}, func(start, end int) {
		out = append(out, b[last:start]...)
		out = append(out, Mask...)
		last = end
	})
	return append(out, b[last:]...)
}

// nextCache returns a slice of n ints for scan, in buf when it fits.
func nextCache(buf []int, n int) []int {
	if n <= cap(buf) {
		return buf[:n]
	}
	return make([]int, n)
}

// indexFrom is the position of p's first occurrence in buf at or after
// from, or -1.
func indexFrom(buf []byte, from int, p []byte) int {
	j := bytes.Index(buf[from:], p)
	if j < 0 {
		return -1
	}
	return from + j
}

// scan finds, left to right, the matches that start before limit (the
// longest wins at a position; the next search starts after it) and calls
// match(start, end) for each. find(i, from) is the position of pattern i's
// first occurrence at or after from, or -1. scan returns how far the input
// is consumed: limit, or the end of a match that started before limit and
// runs past it. next (one int per pattern) caches each pattern's next
// occurrence, so the work per pattern stays linear in the input even when
// matches overlap. Matching over a callback lets callers scan strings and
// byte slices alike and write unmatched spans straight to their sink,
// without first copying the input into an output buffer.
func (r *Redactor) scan(limit int, next []int, find func(i, from int) int, match func(start, end int)) int {
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
				if next[i] = find(i, pos); next[i] == -1 {
					continue
				}
			}
			if next[i] < limit && (best == -1 || next[i] < best || (next[i] == best && len(p) > bestLen)) {
				best, bestLen = next[i], len(p)
			}
		}
		if best == -1 {
			break
		}
		match(best, best+bestLen)
		pos = best + bestLen
	}
	return max(pos, limit)
}

// redactWriter masks secrets in a byte stream. It holds back the last
// maxLen-1 bytes so a secret split across two writes is still caught; memory
// is bounded by that holdback plus one write (or one read, for a stream's
// pump, which reads straight into the space behind the holdback).
type redactWriter struct {
	r    *Redactor
	w    io.Writer
	held []byte  // bytes received but not yet safe to emit
	next []int   // scan's per-pattern cache
	bufp *[]byte // pooled backing array of held, nil when not pooled
}

func newRedactWriter(r *Redactor, w io.Writer) *redactWriter {
	rw := &redactWriter{r: r, w: w}
	if !r.Empty() {
		rw.next = make([]int, len(r.patterns))
	}
	return rw
}

// holdback is how many trailing bytes may still be the start of a match.
func (rw *redactWriter) holdback() int {
	if rw.r.Empty() {
		return 0
	}
	return rw.r.maxLen - 1
}

// attachReadBuffer gives the writer a pooled buffer with room for the
// holdback plus one chunk-sized read.
func (rw *redactWriter) attachReadBuffer() {
	need := rw.holdback() + chunkSize
	bp, _ := readBufPool.Get().(*[]byte)
	if bp == nil || cap(*bp) < need {
		b := make([]byte, 0, need)
		bp = &b
	}
	rw.bufp = bp
	rw.held = append((*bp)[:0], rw.held...)
}

// releaseReadBuffer returns the pooled buffer; the writer must not be used
// afterwards.
func (rw *redactWriter) releaseReadBuffer() {
	if rw.bufp == nil {
		return
	}
	if cap(rw.held) > cap(*rw.bufp) {
		*rw.bufp = rw.held[:0] // it grew; pool the larger array
	}
	readBufPool.Put(rw.bufp)
	rw.bufp, rw.held = nil, nil
}

// readSpace is where the next read goes: chunkSize bytes right after the
// held-back ones. commit(n) then takes the first n of them as written.
func (rw *redactWriter) readSpace() []byte {
	rw.held = slices.Grow(rw.held, chunkSize)
	return rw.held[len(rw.held) : len(rw.held)+chunkSize]
}

// commit takes n bytes read into readSpace as written.
func (rw *redactWriter) commit(n int) error {
	rw.held = rw.held[:len(rw.held)+n]
	return rw.emit(len(rw.held) - rw.holdback())
}

// Write never fails on the sink's behalf: sinks are capped buffers that
// count rather than reject, so the error is only the sink's own.
func (rw *redactWriter) Write(p []byte) (int, error) {
	if rw.r.Empty() && len(rw.held) == 0 {
		return rw.w.Write(p)
	}
	rw.held = append(rw.held, p...)
	if err := rw.emit(len(rw.held) - rw.holdback()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush masks and writes whatever is held back; call it once at EOF.
func (rw *redactWriter) Flush() error {
	return rw.emit(len(rw.held))
}

// emit writes held[:limit] with matches masked (any match starting before
// limit fits entirely in held, for every pattern) and keeps the rest.
// Unmatched spans go to the sink straight from held.
func (rw *redactWriter) emit(limit int) error {
	if limit <= 0 {
		return nil
	}
	buf := rw.held
	var err error
	write := func(p []byte) {
		if err == nil && len(p) > 0 {
			_, err = rw.w.Write(p)
		}
	}
	last, consumed := 0, limit
	if !rw.r.Empty() {
		consumed = rw.r.scan(limit, rw.next, func(i, from int) int {
			return indexFrom(buf, from, rw.r.patterns[i])
		}, func(start, end int) {
			write(buf[last:start])
			write(maskBytes)
			last = end
		})
	}
	if last < limit {
		write(buf[last:limit])
	}
	rw.held = buf[:copy(buf, buf[consumed:])]
	return err
}
