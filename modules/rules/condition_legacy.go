package rules

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// legacyCheck is one element of the legacy list form, compiled.
type legacyCheck struct {
	path  []pathSeg
	op    string
	value any
	re    *regexp.Regexp
}

// legacyOperators maps accepted operator spellings (spec names plus
// StackStorm-style criteria types) to a canonical name.
var legacyOperators = map[string]string{
	"equals": "equals", "eq": "equals",
	"not_equals": "not_equals", "nequals": "not_equals", "neq": "not_equals", "ne": "not_equals",
	"iequals":  "iequals",
	"contains": "contains", "not_contains": "not_contains", "ncontains": "not_contains",
	"regex": "regex",
	"gt":    "gt", "greaterthan": "gt", "gte": "gte",
	"lt": "lt", "lessthan": "lt", "lte": "lte",
	"exists": "exists", "nexists": "not_exists", "not_exists": "not_exists",
}

// legacyItem is the JSON shape of one legacy check. `type` and `pattern` are
// the StackStorm spellings of `operator` and `value`.
type legacyItem struct {
	Field    string          `json:"field"`
	Operator string          `json:"operator"`
	Type     string          `json:"type"`
	Value    json.RawMessage `json:"value"`
	Pattern  json.RawMessage `json:"pattern"`
}

func compileLegacy(items []json.RawMessage) ([]legacyCheck, error) {
	checks := make([]legacyCheck, 0, len(items))
	for i, raw := range items {
		name := fmt.Sprintf("conditions[%d]", i)
		var it legacyItem
		if err := json.Unmarshal(raw, &it); err != nil {
			return nil, fmt.Errorf("%s: must be an object {field, operator, value}: %w", name, err)
		}
		opName := it.Operator
		if opName == "" {
			opName = it.Type
		}
		op, ok := legacyOperators[strings.ToLower(opName)]
		if !ok {
			return nil, fmt.Errorf("%s.operator: unknown operator %q (want equals, not_equals, contains, iequals, regex, gt, gte, lt, lte, exists)", name, opName)
		}
		path, err := parseDotPath(stripPayloadPrefix(it.Field))
		if err != nil {
			return nil, fmt.Errorf("%s.field: %w", name, err)
		}
		chk := legacyCheck{path: path, op: op}
		rawValue := it.Value
		if rawValue == nil {
			rawValue = it.Pattern
		}
		if rawValue == nil && op != "exists" && op != "not_exists" {
			return nil, fmt.Errorf("%s.value: required for operator %q", name, opName)
		}
		if rawValue != nil {
			if err := json.Unmarshal(rawValue, &chk.value); err != nil {
				return nil, fmt.Errorf("%s.value: %w", name, err)
			}
		}
		switch op {
		case "regex":
			s, ok := chk.value.(string)
			if !ok {
				return nil, fmt.Errorf("%s.value: regex operator needs a string pattern", name)
			}
			if chk.re, err = compileRegexp(s); err != nil {
				return nil, fmt.Errorf("%s.value: %w", name, err)
			}
		case "iequals":
			if _, ok := chk.value.(string); !ok {
				return nil, fmt.Errorf("%s.value: iequals needs a string", name)
			}
		}
		checks = append(checks, chk)
	}
	return checks, nil
}

// stripPayloadPrefix makes `field` relative to the payload, accepting the
// `payload.`, `event.payload.` and StackStorm `trigger.` spellings.
func stripPayloadPrefix(field string) string {
	for _, p := range []string{"event.payload.", "payload.", "trigger.payload.", "trigger."} {
		if rest, ok := strings.CutPrefix(field, p); ok {
			return rest
		}
	}
	return field
}

// match evaluates one check. A missing field fails every operator except
// not_exists: "missing field → no match" (spec §2.7) also covers not_equals.
func (c legacyCheck) match(payload any) bool {
	v, found := lookup(payload, c.path)
	switch c.op {
	case "exists":
		return found
	case "not_exists":
		return !found
	}
	if !found {
		return false
	}
	switch c.op {
	case "equals":
		return looseEqual(v, c.value)
	case "not_equals":
		return !looseEqual(v, c.value)
	case "iequals":
		s, ok := v.(string)
		return ok && strings.EqualFold(s, c.value.(string))
	case "contains":
		return containsValue(v, c.value)
	case "not_contains":
		return !containsValue(v, c.value)
	case "regex":
		s, ok := v.(string)
		return ok && c.re.MatchString(s)
	case "gt", "gte", "lt", "lte":
		return compareOrdered(v, c.value, c.op)
	}
	return false
}

// compareOrdered compares two numbers or two strings; mixed types never match.
func compareOrdered(a, b any, op string) bool {
	var cmp int
	if fa, ok := toFloat(a); ok {
		fb, ok := toFloat(b)
		if !ok {
			return false
		}
		switch {
		case fa < fb:
			cmp = -1
		case fa > fb:
			cmp = 1
		}
	} else {
		sa, ok1 := a.(string)
		sb, ok2 := b.(string)
		if !ok1 || !ok2 {
			return false
		}
		cmp = strings.Compare(sa, sb)
	}
	switch op {
	case "gt":
		return cmp > 0
	case "gte":
		return cmp >= 0
	case "lt":
		return cmp < 0
	default:
		return cmp <= 0
	}
}
