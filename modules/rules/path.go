package rules

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// maxPathSegments bounds how deep a dot path may reach; payloads deeper than
// this are not addressable, which keeps lookups cheap and predictable.
const maxPathSegments = 64

// pathSeg is one step of a path: a map key, or an array index when isIndex.
type pathSeg struct {
	key     string
	index   int
	isIndex bool
}

// parseDotPath parses a legacy-condition field such as `a.b.0.c` or
// `a.b[0].c`. Numeric dot segments are tried as map keys first and as array
// indexes second (see lookup), so `{"0": …}` objects keep working.
func parseDotPath(field string) ([]pathSeg, error) {
	if field == "" {
		return nil, fmt.Errorf("empty path")
	}
	var segs []pathSeg
	for _, part := range strings.Split(field, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name == "" && rest == "" {
			return nil, fmt.Errorf("empty segment in path %q", field)
		}
		if name != "" {
			segs = append(segs, pathSeg{key: name})
		}
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			if !ok {
				return nil, fmt.Errorf("unclosed [ in path %q", field)
			}
			n, err := strconv.Atoi(idx)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("index %q in path %q is not a non-negative integer", idx, field)
			}
			segs = append(segs, pathSeg{index: n, isIndex: true})
			if after == "" {
				break
			}
			if !strings.HasPrefix(after, "[") {
				return nil, fmt.Errorf("unexpected %q after ] in path %q", after, field)
			}
			rest = after[1:]
		}
		if len(segs) > maxPathSegments {
			return nil, fmt.Errorf("path %q has more than %d segments", field, maxPathSegments)
		}
	}
	return segs, nil
}

// lookup walks decoded JSON (map[string]any / []any only, never reflection,
// so no Go method or field of an arbitrary value is reachable).
func lookup(v any, segs []pathSeg) (any, bool) {
	for _, s := range segs {
		switch c := v.(type) {
		case map[string]any:
			key := s.key
			if s.isIndex {
				key = strconv.Itoa(s.index)
			}
			next, ok := c[key]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i := s.index
			if !s.isIndex {
				n, err := strconv.Atoi(s.key)
				if err != nil {
					return nil, false
				}
				i = n
			}
			if i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// toFloat reports the numeric value of decoded-JSON numbers and Go numeric
// types that callers may place in payloads.
func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}
