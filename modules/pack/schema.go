package pack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v4"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// ParamSchema is a compiled parameter (or output / config) schema. Both the
// flat StackStorm form and the JSON Schema form normalise to the same
// document, so validation behaves identically whichever form a pack uses.
type ParamSchema struct {
	doc      map[string]any
	raw      json.RawMessage
	compiled *jsonschema.Schema
}

const schemaURL = "attune:///params.json"

// noLoader refuses every $ref that is not inside the schema itself, so a
// pack cannot make the loader read files or the network.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external schema references are not allowed: %s", url)
}

// compileSchema compiles a normalised document.
func compileSchema(doc map[string]any) (*ParamSchema, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	if err := c.AddResource(schemaURL, inst); err != nil {
		return nil, err
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		return nil, err
	}
	return &ParamSchema{doc: doc, raw: raw, compiled: sch}, nil
}

// ParseParamSchema parses a schema in either form from YAML or JSON text
// (for example the normalised JSON stored in the DB, or an API payload).
func ParseParamSchema(data []byte) (*ParamSchema, error) {
	var probs Problems
	d := parseYAML(reporter{file: "schema", probs: &probs}, data)
	if d == nil {
		return nil, probs.Err()
	}
	s := d.paramSchema(d.root, "")
	if len(probs) > 0 {
		return nil, probs.Err()
	}
	return s, nil
}

// paramSchema normalises and compiles the schema at n, reporting problems
// (including defaults that violate their own schema). It returns nil if the
// schema is unusable.
func (d *yamlDoc) paramSchema(n *yaml.Node, path string) *ParamSchema {
	before := len(*d.rep.probs)
	doc := d.normaliseSchema(n, path)
	if doc == nil || len(*d.rep.probs) > before {
		return nil
	}
	s, err := compileSchema(doc)
	if err != nil {
		d.rep.at(n.Line, n.Column, path, "invalid schema: %s", oneLine(err.Error()))
		return nil
	}
	// Defaults must satisfy their own schema; otherwise every execution
	// relying on them would fail at run time instead of at install time.
	if err := s.validate(s.ApplyDefaults(nil), false); err != nil {
		d.rep.at(n.Line, n.Column, path, "default value invalid: %v", err)
		return nil
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// JSON returns the normalised JSON Schema document, suitable for storing in
// the DB (action.param_schema etc.).
func (s *ParamSchema) JSON() json.RawMessage {
	if s == nil {
		return json.RawMessage(`{"type":"object","properties":{}}`)
	}
	return append(json.RawMessage(nil), s.raw...)
}

// MarshalJSON encodes the normalised schema.
func (s *ParamSchema) MarshalJSON() ([]byte, error) { return s.JSON(), nil }

// UnmarshalJSON accepts either schema form.
func (s *ParamSchema) UnmarshalJSON(data []byte) error {
	p, err := ParseParamSchema(data)
	if err != nil {
		return err
	}
	*s = *p
	return nil
}

// ValidationError lists every field that failed validation.
type ValidationError struct {
	Fields []FieldError
}

// FieldError is one failed field; Path is dotted ("headers.Accept"), empty
// for the parameter object itself.
type FieldError struct {
	Path string `json:"path"`
	Msg  string `json:"msg"`
}

// Error joins the field errors; a lone missing parameter reads exactly
// "Missing required parameter: NAME".
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		if f.Path == "" || strings.HasPrefix(f.Msg, "Missing required parameter") {
			parts[i] = f.Msg
		} else {
			parts[i] = f.Path + ": " + f.Msg
		}
	}
	return strings.Join(parts, "; ")
}

// Validate checks params against the schema. The error is a
// *ValidationError naming each offending field path.
func (s *ParamSchema) Validate(params map[string]any) error {
	return s.validate(params, true)
}

func (s *ParamSchema) validate(params map[string]any, withRequired bool) error {
	if s == nil {
		return nil
	}
	if params == nil {
		params = map[string]any{}
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return &ValidationError{Fields: []FieldError{{Msg: "parameters are not JSON-encodable: " + err.Error()}}}
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	err = s.compiled.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	var out ValidationError
	collectLeaves(ve, withRequired, &out.Fields)
	if len(out.Fields) == 0 {
		return nil
	}
	sort.SliceStable(out.Fields, func(i, j int) bool { return out.Fields[i].Path < out.Fields[j].Path })
	return &out
}

var printer = message.NewPrinter(language.English)

func collectLeaves(ve *jsonschema.ValidationError, withRequired bool, out *[]FieldError) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			collectLeaves(c, withRequired, out)
		}
		return
	}
	path := strings.Join(ve.InstanceLocation, ".")
	if req, ok := ve.ErrorKind.(*kind.Required); ok {
		if !withRequired {
			return
		}
		for _, m := range req.Missing {
			*out = append(*out, FieldError{Path: joinPath(path, m), Msg: "Missing required parameter: " + joinPath(path, m)})
		}
		return
	}
	*out = append(*out, FieldError{Path: path, Msg: ve.ErrorKind.LocalizedString(printer)})
}

// ApplyDefaults returns a copy of params with schema defaults filled in for
// absent keys, recursing into nested objects that are present or defaulted.
// The input map is not modified.
func (s *ParamSchema) ApplyDefaults(params map[string]any) map[string]any {
	if s == nil {
		return copyMap(params)
	}
	return applyDefaults(s.doc, params)
}

func applyDefaults(schema map[string]any, params map[string]any) map[string]any {
	out := copyMap(params)
	props, _ := schema["properties"].(map[string]any)
	for name, p := range props {
		ps, _ := p.(map[string]any)
		if ps == nil {
			continue
		}
		if _, present := out[name]; !present {
			if def, ok := ps["default"]; ok {
				out[name] = deepCopy(def)
			}
		}
		if nested, ok := out[name].(map[string]any); ok && ps["properties"] != nil {
			out[name] = applyDefaults(ps, nested)
		}
	}
	return out
}

// SecretFields lists the dotted paths of properties marked `secret: true`,
// sorted, so the caller can redact them.
func (s *ParamSchema) SecretFields() []string {
	if s == nil {
		return nil
	}
	var out []string
	collectSecrets(s.doc, "", &out)
	sort.Strings(out)
	return out
}

func collectSecrets(schema map[string]any, prefix string, out *[]string) {
	props, _ := schema["properties"].(map[string]any)
	for name, p := range props {
		ps, _ := p.(map[string]any)
		if ps == nil {
			continue
		}
		path := joinPath(prefix, name)
		if ps["secret"] == true {
			*out = append(*out, path)
		}
		collectSecrets(ps, path, out)
	}
}

// Properties returns the top-level parameter names, sorted.
func (s *ParamSchema) Properties() []string {
	if s == nil {
		return nil
	}
	props, _ := s.doc["properties"].(map[string]any)
	out := make([]string, 0, len(props))
	for k := range props {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Required returns the top-level required parameter names.
func (s *ParamSchema) Required() []string {
	if s == nil {
		return nil
	}
	req, _ := s.doc["required"].([]any)
	out := make([]string, 0, len(req))
	for _, r := range req {
		if str, ok := r.(string); ok {
			out = append(out, str)
		}
	}
	return out
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = deepCopy(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = deepCopy(x)
		}
		return out
	}
	return v
}
