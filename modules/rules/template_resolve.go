package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Resolution limits (see ResolveParams).
const (
	maxParamsBytes   = 256 << 10 // raw action_params JSON: decoding more costs more than a template is worth
	maxOutputBytes   = 1 << 20   // approximate JSON size of the resolved params
	maxSubstitutions = 1000      // {{ }} tags rendered per call
	maxParamsDepth   = 64        // nesting of action_params objects/arrays
	maxReportedErrs  = 20        // position errors returned by ValidateTemplates
)

// TemplateContext is everything a rule's action_params template can read.
type TemplateContext struct {
	Event      EventContext
	PackConfig map[string]any
	RuleID     int64
	RuleRef    string
	// Now is system.timestamp; the zero value means time.Now().
	Now time.Time
}

// ResolveParams renders every string in a rule's action_params (recursively
// through objects and arrays; keys are not templated). A string that is
// exactly one `{{ path }}` keeps the JSON type of the value and is null when
// the path is missing; mixed text renders to a string with missing parts as
// "". Tags contain a path or a literal plus optional filters default(x),
// tojson, upper and lower — nothing else, so there is nothing to call or
// reflect on. Params over 1 MiB, output over 1 MiB, more than 1000 tags or
// nesting beyond 64 levels are errors.
func ResolveParams(params json.RawMessage, ctx TemplateContext) (map[string]any, error) {
	obj, err := decodeParams(params)
	if err != nil {
		return nil, err
	}
	r := &resolver{root: ctx.root(), budget: maxOutputBytes}
	out := make(map[string]any, len(obj))
	for _, k := range sortedKeys(obj) {
		v, err := r.value(obj[k], "action_params."+k, 1)
		if err != nil {
			return nil, err
		}
		if err := r.spend(len(k) + 4); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// ValidateTemplates parses every template in action_params without resolving
// it, for save-time checks. It returns nil, or an error joining up to 20
// *PositionError values (or a single structural error).
func ValidateTemplates(params json.RawMessage) error {
	obj, err := decodeParams(params)
	if err != nil {
		return err
	}
	var errs []error
	var walk func(v any, field string, depth int)
	walk = func(v any, field string, depth int) {
		if len(errs) >= maxReportedErrs {
			return
		}
		if depth > maxParamsDepth {
			errs = append(errs, fmt.Errorf("%s: nested deeper than %d levels", field, maxParamsDepth))
			return
		}
		switch c := v.(type) {
		case string:
			if _, err := parseTemplate(c); err != nil {
				errs = append(errs, positionErr(field, c, err))
			}
		case map[string]any:
			for _, k := range sortedKeys(c) {
				walk(c[k], field+"."+k, depth+1)
			}
		case []any:
			for i, e := range c {
				walk(e, fmt.Sprintf("%s[%d]", field, i), depth+1)
			}
		}
	}
	for _, k := range sortedKeys(obj) {
		walk(obj[k], "action_params."+k, 1)
	}
	return errors.Join(errs...)
}

func decodeParams(params json.RawMessage) (map[string]any, error) {
	trimmed := bytes.TrimSpace(params)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return map[string]any{}, nil
	}
	if len(trimmed) > maxParamsBytes {
		return nil, fmt.Errorf("action_params: %d bytes, the limit is %d", len(trimmed), maxParamsBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber() // keep integers exact through the round trip
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("action_params: must be a JSON object: %w", err)
	}
	return obj, nil
}

func positionErr(field, src string, err error) error {
	var se *tmplSyntaxError
	if errors.As(err, &se) {
		line, col := positionOf(src, se.offset)
		return &PositionError{Field: field, Line: line, Column: col, Message: se.msg}
	}
	return fmt.Errorf("%s: %w", field, err)
}

// root builds the namespace tree that tag paths are looked up in.
func (ctx TemplateContext) root() map[string]any {
	now := ctx.Now
	if now.IsZero() {
		now = time.Now()
	}
	var created any
	if !ctx.Event.Created.IsZero() {
		created = ctx.Event.Created.UTC().Format(time.RFC3339Nano)
	}
	config := map[string]any{}
	if ctx.PackConfig != nil {
		config = ctx.PackConfig
	}
	event := map[string]any{
		"id": ctx.Event.ID, "trigger": ctx.Event.TriggerRef, "trigger_ref": ctx.Event.TriggerRef,
		"created": created, "payload": ctx.Event.Payload,
	}
	return map[string]any{
		"event":   event,
		"trigger": map[string]any{"payload": ctx.Event.Payload},
		"pack":    map[string]any{"config": config},
		"system": map[string]any{
			"timestamp": now.UTC().Format(time.RFC3339Nano),
			"rule":      map[string]any{"id": ctx.RuleID, "ref": ctx.RuleRef},
		},
	}
}

// resolver carries the limits shared by one ResolveParams call.
type resolver struct {
	root   map[string]any
	budget int
	subs   int
}

func (r *resolver) spend(n int) error {
	r.budget -= n
	if r.budget < 0 {
		return fmt.Errorf("action_params: resolved output exceeds %d bytes", maxOutputBytes)
	}
	return nil
}

func (r *resolver) value(v any, field string, depth int) (any, error) {
	if depth > maxParamsDepth {
		return nil, fmt.Errorf("%s: nested deeper than %d levels", field, maxParamsDepth)
	}
	switch c := v.(type) {
	case string:
		return r.render(c, field)
	case map[string]any:
		out := make(map[string]any, len(c))
		for _, k := range sortedKeys(c) {
			res, err := r.value(c[k], field+"."+k, depth+1)
			if err != nil {
				return nil, err
			}
			if err := r.spend(len(k) + 4); err != nil {
				return nil, err
			}
			out[k] = res
		}
		return out, nil
	case []any:
		out := make([]any, len(c))
		for i, e := range c {
			res, err := r.value(e, fmt.Sprintf("%s[%d]", field, i), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = res
		}
		return out, r.spend(len(c) + 2)
	default:
		return v, r.spend(8)
	}
}

// render resolves one string value.
func (r *resolver) render(s, field string) (any, error) {
	if !strings.Contains(s, "{") {
		return s, r.spend(len(s) + 2)
	}
	parts, err := parseTemplate(s)
	if err != nil {
		return nil, positionErr(field, s, err)
	}
	if len(parts) == 1 && parts[0].tag != nil {
		v, err := r.evalTag(parts[0].tag, field)
		if err != nil {
			return nil, err
		}
		return v, r.spend(sizeOf(v, r.budget+1))
	}
	var b strings.Builder
	for _, p := range parts {
		text := p.text
		if p.tag != nil {
			v, err := r.evalTag(p.tag, field)
			if err != nil {
				return nil, err
			}
			if text, err = stringify(v, r.budget); err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
		}
		if err := r.spend(len(text)); err != nil {
			return nil, err
		}
		b.WriteString(text)
	}
	return b.String(), nil
}

// evalTag looks the path up and applies filters. A missing path yields nil.
func (r *resolver) evalTag(t *tmplTag, field string) (any, error) {
	r.subs++
	if r.subs > maxSubstitutions {
		return nil, fmt.Errorf("%s: more than %d template substitutions", field, maxSubstitutions)
	}
	v := t.literal
	if t.path != nil {
		found := false
		v, found = lookup(r.root, t.path)
		switch {
		case !found:
			v = nil
		case sizeOf(v, r.budget+1) > r.budget:
			return nil, fmt.Errorf("%s: resolved output exceeds %d bytes", field, maxOutputBytes)
		default:
			v = copyJSON(v)
		}
	}
	for _, f := range t.filters {
		switch f.name {
		case "default":
			if v == nil {
				v = f.arg
			}
		case "tojson":
			if sizeOf(v, r.budget+1) > r.budget {
				return nil, fmt.Errorf("%s: resolved output exceeds %d bytes", field, maxOutputBytes)
			}
			buf, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("%s: tojson: %w", field, err)
			}
			v = string(buf)
		case "upper", "lower":
			s, err := stringify(v, r.budget)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			if f.name == "upper" {
				v = strings.ToUpper(s)
			} else {
				v = strings.ToLower(s)
			}
		}
	}
	return v, nil
}

// stringify renders a value inside mixed text: nil is "", strings are
// verbatim, numbers use their shortest form, objects and arrays are JSON.
func stringify(v any, budget int) (string, error) {
	switch c := v.(type) {
	case nil:
		return "", nil
	case string:
		return c, nil
	case bool:
		return strconv.FormatBool(c), nil
	case float64:
		return strconv.FormatFloat(c, 'f', -1, 64), nil
	case int64:
		return strconv.FormatInt(c, 10), nil
	case int:
		return strconv.Itoa(c), nil
	case json.Number:
		return c.String(), nil
	}
	if sizeOf(v, budget+1) > budget {
		return "", fmt.Errorf("resolved output exceeds %d bytes", maxOutputBytes)
	}
	buf, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(buf), nil
}

// sizeOf estimates the JSON size of v, stopping early once it passes limit
// so a huge payload is never fully walked.
func sizeOf(v any, limit int) int {
	n := 0
	var walk func(v any)
	walk = func(v any) {
		if n > limit {
			return
		}
		switch c := v.(type) {
		case string:
			n += len(c) + 2
		case map[string]any:
			n += 2
			for k, e := range c {
				n += len(k) + 4
				walk(e)
			}
		case []any:
			n += 2
			for _, e := range c {
				n++
				walk(e)
			}
		default:
			n += 8
		}
	}
	walk(v)
	return n
}

// copyJSON deep-copies maps and slices so resolved params never alias the
// event payload or pack config the caller still holds.
func copyJSON(v any) any {
	switch c := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(c))
		for k, e := range c {
			out[k] = copyJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(c))
		for i, e := range c {
			out[i] = copyJSON(e)
		}
		return out
	}
	return v
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
