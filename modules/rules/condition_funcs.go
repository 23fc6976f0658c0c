package rules

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// containsFunc is the internal name of contains(v, item). expr lexes the word
// `contains` as a binary operator, so call sites are rewritten to this
// same-length identifier, which keeps error positions exact.
const containsFunc = "Contains"

// Regexp limits for match(): RE2 is linear-time, so bounding the pattern
// bounds compile cost, and the cache bounds memory.
const (
	maxPatternLength  = 1024
	maxCachedPatterns = 512
)

var regexpCache sync.Map // pattern → *regexp.Regexp
var regexpCacheLen int64
var regexpCacheMu sync.Mutex

func compileRegexp(pattern string) (*regexp.Regexp, error) {
	if len(pattern) > maxPatternLength {
		return nil, fmt.Errorf("regular expression is %d bytes, the limit is %d", len(pattern), maxPatternLength)
	}
	if re, ok := regexpCache.Load(pattern); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression: %v", err)
	}
	regexpCacheMu.Lock()
	if regexpCacheLen < maxCachedPatterns {
		if _, loaded := regexpCache.LoadOrStore(pattern, re); !loaded {
			regexpCacheLen++
		}
	}
	regexpCacheMu.Unlock()
	return re, nil
}

func fnMatch(args ...any) (any, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("match(pattern, s) takes 2 arguments, got %d", len(args))
	}
	pattern, ok1 := args[0].(string)
	s, ok2 := args[1].(string)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("match(pattern, s) needs two strings, got %T and %T", args[0], args[1])
	}
	re, err := compileRegexp(pattern)
	if err != nil {
		return nil, err
	}
	return re.MatchString(s), nil
}

func fnContains(args ...any) (any, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("contains(v, item) takes 2 arguments, got %d", len(args))
	}
	return containsValue(args[0], args[1]), nil
}

// containsValue implements contains for strings (substring), arrays (an
// element equal to item) and objects (a key equal to item); anything else is
// false rather than an error, matching the legacy operator.
func containsValue(v, item any) bool {
	switch c := v.(type) {
	case string:
		s, ok := item.(string)
		return ok && strings.Contains(c, s)
	case []any:
		for _, e := range c {
			if looseEqual(e, item) {
				return true
			}
		}
	case map[string]any:
		s, ok := item.(string)
		if ok {
			_, found := c[s]
			return found
		}
	}
	return false
}

func fnLength(args ...any) (any, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("length(v) takes 1 argument, got %d", len(args))
	}
	switch c := args[0].(type) {
	case string:
		return utf8.RuneCountInString(c), nil
	case []any:
		return len(c), nil
	case map[string]any:
		return len(c), nil
	}
	return nil, fmt.Errorf("length() of %T is undefined", args[0])
}

// looseEqual compares decoded JSON values, treating all numeric types alike.
func looseEqual(a, b any) bool {
	if fa, ok := toFloat(a); ok {
		fb, ok := toFloat(b)
		return ok && fa == fb
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !looseEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !looseEqual(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

// exprKeywords are words after which `contains(` starts a function call
// rather than continuing a binary `x contains (y)`.
var exprKeywords = map[string]bool{
	"and": true, "or": true, "not": true, "in": true, "contains": true, "matches": true,
	"startsWith": true, "endsWith": true, "if": true, "else": true, "let": true,
}

// rewriteContainsCalls turns function-call uses of `contains(` into
// `Contains(` without touching string literals, member names or the binary
// operator form.
func rewriteContainsCalls(src string) string {
	b := []byte(src)
	// prev is the kind of the previous significant token: 'o' operand,
	// 'x' operator/opening punctuation/keyword (or start), '.' member access.
	prev := byte('x')
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == '"' || r == '\'' || r == '`':
			i = skipString(b, i)
			prev = 'o'
		case unicode.IsSpace(r):
			i += size
		case r == '_' || unicode.IsLetter(r):
			start := i
			for i < len(b) {
				r2, s2 := utf8.DecodeRune(b[i:])
				if r2 != '_' && !unicode.IsLetter(r2) && !unicode.IsDigit(r2) {
					break
				}
				i += s2
			}
			word := string(b[start:i])
			if word == "contains" && prev == 'x' && nextNonSpace(b, i) == '(' {
				b[start] = 'C'
				prev = 'o'
				continue
			}
			if exprKeywords[word] && prev != '.' {
				prev = 'x'
			} else {
				prev = 'o'
			}
		case unicode.IsDigit(r):
			for i < len(b) && (b[i] == '.' || b[i] == '_' || unicode.IsDigit(rune(b[i])) || unicode.IsLetter(rune(b[i]))) {
				i++
			}
			prev = 'o'
		case r == ')' || r == ']' || r == '}':
			i += size
			prev = 'o'
		case r == '.':
			i += size
			prev = '.'
		default:
			i += size
			prev = 'x'
		}
	}
	return string(b)
}

func skipString(b []byte, i int) int {
	quote := b[i]
	i++
	for i < len(b) {
		switch {
		case b[i] == '\\' && quote != '`':
			i += 2
		case b[i] == quote:
			return i + 1
		default:
			i++
		}
	}
	return len(b)
}

func nextNonSpace(b []byte, i int) byte {
	for i < len(b) {
		if b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			return b[i]
		}
		i++
	}
	return 0
}
