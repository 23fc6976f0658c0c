package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/expr-lang/expr/vm"
)

// EventContext is the part of an event a condition can see.
type EventContext struct {
	ID         int64
	TriggerRef string
	Created    time.Time
	// Payload is decoded JSON: map[string]any, []any, string, float64 or
	// json.Number, bool or nil. Other Go types are not traversed.
	Payload any
}

// Condition is a compiled rule condition. It is immutable and safe for
// concurrent use.
type Condition struct {
	always  bool
	source  string
	program *vm.Program
	checks  []legacyCheck
}

// Compile compiles a rule's `conditions` column. Accepted forms:
//   - empty, `null`, `{}` or `[]`: always match;
//   - `{"expression": "<expr>"}`: an expr-lang expression over `event.*`;
//   - `[{"field", "operator", "value"}, …]`: legacy checks, ANDed.
//
// Errors in an expression are *PositionError values; errors in the legacy
// form name the offending element, e.g. `conditions[1].operator`.
func Compile(conditions json.RawMessage) (*Condition, error) {
	trimmed := bytes.TrimSpace(conditions)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return &Condition{always: true}, nil
	}
	switch trimmed[0] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return nil, fmt.Errorf("conditions: %w", err)
		}
		if len(items) == 0 {
			return &Condition{always: true}, nil
		}
		checks, err := compileLegacy(items)
		if err != nil {
			return nil, err
		}
		return &Condition{checks: checks}, nil
	case '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &obj); err != nil {
			return nil, fmt.Errorf("conditions: %w", err)
		}
		if len(obj) == 0 {
			return &Condition{always: true}, nil
		}
		raw, ok := obj["expression"]
		if !ok || len(obj) != 1 {
			return nil, fmt.Errorf("conditions: object form must be exactly {\"expression\": \"...\"} (JSON-Logic is not supported)")
		}
		var src string
		if err := json.Unmarshal(raw, &src); err != nil {
			return nil, fmt.Errorf("conditions.expression: must be a string")
		}
		program, err := compileExpr(src)
		if err != nil {
			return nil, err
		}
		return &Condition{source: src, program: program}, nil
	default:
		return nil, fmt.Errorf("conditions: must be an object, an array or null")
	}
}

// Source returns the expression text, or "" for the always and legacy forms.
func (c *Condition) Source() string { return c.source }

// Match reports whether ev satisfies the condition. Missing fields, type
// errors, oversized payloads and evaluation errors all mean "no match"; use
// MatchErr to learn why. An event without a payload matches (spec §2.7).
func (c *Condition) Match(ev EventContext) bool {
	ok, _ := c.MatchErr(ev)
	return ok
}

// MatchErr is Match that also returns the reason a non-matching evaluation
// failed (nil when the condition simply evaluated to false). It never panics.
func (c *Condition) MatchErr(ev EventContext) (matched bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			matched, err = false, fmt.Errorf("condition evaluation panicked: %v", r)
		}
	}()
	if c == nil || c.always || ev.Payload == nil {
		return true, nil
	}
	payload, err := normalizePayload(ev.Payload)
	if err != nil {
		return false, err
	}
	if c.program != nil {
		return runExpr(c.program, ev, payload)
	}
	for _, chk := range c.checks {
		if !chk.match(payload) {
			return false, nil
		}
	}
	return true, nil
}
