package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v4"
)

// FormatParams renders the parameter map the way the action reads it on
// stdin or from its parameter file (spec §4.2 step 5). The output always ends
// in a newline unless it is an empty dotenv document.
func FormatParams(params map[string]any, format string) ([]byte, error) {
	norm, err := normalizeParams(params)
	if err != nil {
		return nil, err
	}
	switch format {
	case FormatJSON, "":
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		// Parameters are data for a program, not HTML: keep <, > and & as-is.
		enc.SetEscapeHTML(false)
		if err := enc.Encode(norm); err != nil { // Encode appends the "\n".
			return nil, fmt.Errorf("runner: encode parameters as json: %w", err)
		}
		return buf.Bytes(), nil
	case FormatDotenv:
		return formatDotenv(norm)
	case FormatYAML:
		out, err := yaml.Marshal(yamlValue(norm))
		if err != nil {
			return nil, fmt.Errorf("runner: encode parameters as yaml: %w", err)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("runner: parameter format %q: want json, dotenv or yaml", format)
	}
}

// normalizeParams turns arbitrary Go values into the generic JSON shapes
// (map[string]any, []any, string, bool, nil, json.Number) so each formatter
// handles one closed set of types, and numbers keep their exact text.
func normalizeParams(params map[string]any) (map[string]any, error) {
	if params == nil {
		return map[string]any{}, nil
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("runner: parameters are not JSON-encodable: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("runner: normalize parameters: %w", err)
	}
	return out, nil
}

// yamlValue converts json.Number (which the YAML encoder would quote as a
// string) into int64 or float64 so numbers stay numbers in YAML.
func yamlValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = yamlValue(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = yamlValue(e)
		}
		return s
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		if f, err := t.Float64(); err == nil {
			return f
		}
		return t.String()
	default:
		return v
	}
}

// formatDotenv writes sorted key='value' lines. Values are single-quoted so
// a shell `source` or `. file` never expands $(...), backticks or ';'. An
// embedded single quote is written as quote, backslash, quote, quote: it
// closes the quoted run, adds an escaped quote and reopens.
func formatDotenv(params map[string]any) ([]byte, error) {
	flat := map[string]string{}
	if err := flattenDotenv("", params, flat); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	for _, k := range keys {
		buf.WriteString(k)
		buf.WriteString("='")
		buf.WriteString(strings.ReplaceAll(flat[k], "'", `'\''`))
		buf.WriteString("'\n")
	}
	return buf.Bytes(), nil
}

func flattenDotenv(prefix string, m map[string]any, out map[string]string) error {
	for k, v := range m {
		if err := checkDotenvKey(k); err != nil {
			return err
		}
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if t, ok := v.(map[string]any); ok {
			if err := flattenDotenv(key, t, out); err != nil {
				return err
			}
			continue
		}
		var val string
		switch t := v.(type) {
		case nil:
			val = ""
		case string:
			val = t
		case bool:
			val = fmt.Sprint(t)
		case json.Number:
			val = t.String()
		default: // arrays
			raw, err := json.Marshal(t)
			if err != nil {
				return fmt.Errorf("runner: dotenv parameter %q: %w", key, err)
			}
			val = string(raw)
		}
		// {"a.b": 1, "a": {"b": 2}} flattens both to a.b; refuse rather than
		// silently drop one of them.
		if _, dup := out[key]; dup {
			return fmt.Errorf("runner: dotenv parameter %q is defined twice after flattening nested objects", key)
		}
		out[key] = val
	}
	return nil
}

// checkDotenvKey rejects key characters that would break the key='value'
// line format or be interpreted by a shell that sources the file.
func checkDotenvKey(k string) error {
	if k == "" {
		return fmt.Errorf("runner: dotenv parameter key is empty")
	}
	for _, r := range k {
		ok := r == '_' || r == '-' || r == '.' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return fmt.Errorf("runner: dotenv parameter key %q contains %q: only letters, digits, '_', '-' and '.' are allowed", k, r)
		}
	}
	return nil
}
