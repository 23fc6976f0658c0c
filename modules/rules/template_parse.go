package rules

import (
	"fmt"
	"strconv"
	"strings"
)

// Template limits. They bound parsing and rendering work for any input, which
// together with the data-only grammar is the SSTI control of
// guarantees-and-security §3.1 item 2.
const (
	maxTemplateString = 64 << 10 // bytes in one string value
	maxFilters        = 8        // filters chained in one tag
)

// tmplPart is one piece of a parsed template string: literal text, or a tag.
type tmplPart struct {
	text string
	tag  *tmplTag
}

// tmplTag is the parsed body of `{{ … }}`: a path or a literal, then filters.
type tmplTag struct {
	path    []pathSeg // resolved from the root namespace map; nil for a literal
	literal any
	filters []tmplFilter
}

type tmplFilter struct {
	name   string
	arg    any
	hasArg bool
}

// allowedFilters is the whole filter set; there is no way to register more.
var allowedFilters = map[string]bool{"default": true, "tojson": true, "upper": true, "lower": true}

// parseTemplate splits s into literal and tag parts. A string without `{{`
// returns a single literal part without allocation-heavy work.
func parseTemplate(s string) ([]tmplPart, error) {
	if len(s) > maxTemplateString {
		return nil, &tmplSyntaxError{0, fmt.Sprintf("string is %d bytes, the limit is %d", len(s), maxTemplateString)}
	}
	var parts []tmplPart
	i := 0
	for i < len(s) {
		open := strings.Index(s[i:], "{")
		if open < 0 {
			break
		}
		open += i
		if open+1 >= len(s) || (s[open+1] != '{' && s[open+1] != '%') {
			// A lone "{" is text; keep scanning after it.
			parts = appendText(parts, s[i:open+1])
			i = open + 1
			continue
		}
		if s[open+1] == '%' {
			return nil, &tmplSyntaxError{open, "{% %} blocks are not supported"}
		}
		parts = appendText(parts, s[i:open])
		end, err := findTagEnd(s, open+2)
		if err != nil {
			return nil, err
		}
		tag, err := parseTag(s, open+2, end)
		if err != nil {
			return nil, err
		}
		parts = append(parts, tmplPart{tag: tag})
		i = end + 2
	}
	return appendText(parts, s[i:]), nil
}

func appendText(parts []tmplPart, text string) []tmplPart {
	if text == "" {
		return parts
	}
	if n := len(parts); n > 0 && parts[n-1].tag == nil {
		parts[n-1].text += text
		return parts
	}
	return append(parts, tmplPart{text: text})
}

// tmplSyntaxError is a parse error at a byte offset in the template string.
type tmplSyntaxError struct {
	offset int
	msg    string
}

func (e *tmplSyntaxError) Error() string { return e.msg }

// findTagEnd returns the offset of the "}}" closing a tag opened before
// start, skipping quoted literals so `{{ "}}" }}` works.
func findTagEnd(s string, start int) (int, error) {
	for i := start; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'':
			j := i + 1
			for j < len(s) && s[j] != c {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			i = j
		case '}':
			if i+1 < len(s) && s[i+1] == '}' {
				return i, nil
			}
		}
	}
	return 0, &tmplSyntaxError{start - 2, "unclosed {{"}
}

// tagLexer reads the body of one tag, reporting offsets in the full string.
type tagLexer struct {
	s   string
	pos int
	end int
}

func (l *tagLexer) skipSpace() {
	for l.pos < l.end && (l.s[l.pos] == ' ' || l.s[l.pos] == '\t' || l.s[l.pos] == '\n' || l.s[l.pos] == '\r') {
		l.pos++
	}
}

func (l *tagLexer) errf(format string, args ...any) error {
	return &tmplSyntaxError{l.pos, fmt.Sprintf(format, args...)}
}

func (l *tagLexer) peek() byte {
	if l.pos < l.end {
		return l.s[l.pos]
	}
	return 0
}

func isIdentByte(c byte, first bool) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

func (l *tagLexer) ident(allowDigitsFirst bool) string {
	start := l.pos
	for l.pos < l.end && isIdentByte(l.s[l.pos], l.pos == start && !allowDigitsFirst) {
		l.pos++
	}
	return l.s[start:l.pos]
}

func parseTag(s string, start, end int) (*tmplTag, error) {
	l := &tagLexer{s: s, pos: start, end: end}
	l.skipSpace()
	tag := &tmplTag{}
	switch c := l.peek(); {
	case c == 0:
		return nil, l.errf("empty {{ }}")
	case isIdentByte(c, true) && !startsLiteralWord(l):
		path, err := parsePath(l)
		if err != nil {
			return nil, err
		}
		tag.path = path
	default:
		v, err := parseLiteral(l)
		if err != nil {
			return nil, err
		}
		tag.literal = v
	}
	for {
		l.skipSpace()
		if l.pos >= l.end {
			return tag, nil
		}
		if l.peek() != '|' {
			return nil, l.errf("unexpected %q: only a path, a literal and | filters are allowed", l.s[l.pos])
		}
		l.pos++
		l.skipSpace()
		if len(tag.filters) == maxFilters {
			return nil, l.errf("more than %d filters", maxFilters)
		}
		f, err := parseFilter(l)
		if err != nil {
			return nil, err
		}
		tag.filters = append(tag.filters, f)
	}
}

// startsLiteralWord reports a true/false/null/none keyword at the cursor.
func startsLiteralWord(l *tagLexer) bool {
	save := l.pos
	w := l.ident(false)
	l.pos = save
	switch w {
	case "true", "false", "null", "none", "None", "True", "False":
		return true
	}
	return false
}

func parsePath(l *tagLexer) ([]pathSeg, error) {
	rootPos := l.pos
	var segs []pathSeg
	segs = append(segs, pathSeg{key: l.ident(false)})
	for {
		switch l.peek() {
		case '.':
			l.pos++
			name := l.ident(true)
			if name == "" {
				return nil, l.errf("expected a name after '.'")
			}
			segs = append(segs, pathSeg{key: name})
		case '[':
			l.pos++
			l.skipSpace()
			v, err := parseLiteral(l)
			if err != nil {
				return nil, err
			}
			l.skipSpace()
			if l.peek() != ']' {
				return nil, l.errf("expected ']'")
			}
			l.pos++
			switch k := v.(type) {
			case string:
				segs = append(segs, pathSeg{key: k})
			case float64:
				if k < 0 || k != float64(int(k)) {
					return nil, l.errf("index must be a non-negative integer")
				}
				segs = append(segs, pathSeg{index: int(k), isIndex: true})
			default:
				return nil, l.errf("index must be an integer or a quoted key")
			}
		case '(':
			return nil, l.errf("function and method calls are not allowed")
		default:
			if len(segs) > maxPathSegments {
				return nil, l.errf("path has more than %d segments", maxPathSegments)
			}
			if err := checkNamespace(segs); err != nil {
				return nil, &tmplSyntaxError{rootPos, err.Error()}
			}
			return segs, nil
		}
		if len(segs) > maxPathSegments {
			return nil, l.errf("path has more than %d segments", maxPathSegments)
		}
	}
}

// checkNamespace accepts only the names of spec §2.7, so typos and probing
// such as `env.HOME` fail at save time instead of silently rendering "".
func checkNamespace(segs []pathSeg) error {
	name := func(i int) string {
		if i < len(segs) && !segs[i].isIndex {
			return segs[i].key
		}
		return ""
	}
	leaf := func(n int) error {
		if len(segs) != n {
			return fmt.Errorf("%s has no fields", pathString(segs[:n]))
		}
		return nil
	}
	switch name(0) {
	case "event":
		switch name(1) {
		case "payload":
			return nil
		case "id", "trigger", "trigger_ref", "created":
			return leaf(2)
		}
		return fmt.Errorf("unknown name %q: event has payload, id, trigger and created", pathString(segs))
	case "trigger": // legacy spelling of event.payload
		if name(1) == "payload" {
			return nil
		}
	case "pack":
		if name(1) == "config" {
			return nil
		}
		return fmt.Errorf("unknown name %q: pack has only config", pathString(segs))
	case "system":
		switch {
		case name(1) == "timestamp":
			return leaf(2)
		case name(1) == "rule" && (name(2) == "id" || name(2) == "ref"):
			return leaf(3)
		}
		return fmt.Errorf("unknown name %q: system has timestamp, rule.id and rule.ref", pathString(segs))
	}
	return fmt.Errorf("unknown name %q: templates may use event.*, pack.config.* and system.*", pathString(segs))
}

func pathString(segs []pathSeg) string {
	var b strings.Builder
	for i, s := range segs {
		switch {
		case s.isIndex:
			fmt.Fprintf(&b, "[%d]", s.index)
		case i > 0:
			b.WriteString("." + s.key)
		default:
			b.WriteString(s.key)
		}
	}
	return b.String()
}

func parseFilter(l *tagLexer) (tmplFilter, error) {
	namePos := l.pos
	f := tmplFilter{name: l.ident(false)}
	if !allowedFilters[f.name] {
		l.pos = namePos
		return f, l.errf("unknown filter %q (allowed: default, tojson, upper, lower)", f.name)
	}
	l.skipSpace()
	if l.peek() == '(' {
		l.pos++
		l.skipSpace()
		if l.peek() != ')' {
			v, err := parseLiteral(l)
			if err != nil {
				return f, err
			}
			f.arg, f.hasArg = v, true
			l.skipSpace()
		}
		if l.peek() != ')' {
			return f, l.errf("expected ')': filters take at most one literal argument")
		}
		l.pos++
	}
	if f.name == "default" && !f.hasArg {
		return f, &tmplSyntaxError{namePos, "default needs an argument, e.g. default(\"x\")"}
	}
	if f.name != "default" && f.hasArg {
		return f, &tmplSyntaxError{namePos, fmt.Sprintf("filter %s takes no argument", f.name)}
	}
	return f, nil
}

// parseLiteral reads a quoted string, a number, or true/false/null/none.
func parseLiteral(l *tagLexer) (any, error) {
	c := l.peek()
	switch {
	case c == '"' || c == '\'':
		return parseQuoted(l)
	case c == '-' || (c >= '0' && c <= '9'):
		start := l.pos
		l.pos++
		for l.pos < l.end && strings.IndexByte("0123456789.eE+-", l.s[l.pos]) >= 0 {
			l.pos++
		}
		f, err := strconv.ParseFloat(l.s[start:l.pos], 64)
		if err != nil {
			l.pos = start
			return nil, l.errf("invalid number %q", l.s[start:l.pos])
		}
		return f, nil
	case isIdentByte(c, true):
		start := l.pos
		switch w := l.ident(false); w {
		case "true", "True":
			return true, nil
		case "false", "False":
			return false, nil
		case "null", "none", "None":
			return nil, nil
		default:
			l.pos = start
			return nil, l.errf("expected a literal, found %q", w)
		}
	}
	return nil, l.errf("expected a literal")
}

func parseQuoted(l *tagLexer) (string, error) {
	quote := l.s[l.pos]
	start := l.pos
	l.pos++
	var b strings.Builder
	for l.pos < l.end {
		c := l.s[l.pos]
		switch {
		case c == quote:
			l.pos++
			return b.String(), nil
		case c == '\\' && l.pos+1 < l.end:
			l.pos++
			switch e := l.s[l.pos]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
		l.pos++
	}
	l.pos = start
	return "", l.errf("unterminated string")
}
