package pack

import (
	"sort"
	"strings"

	"go.yaml.in/yaml/v4"
)

var jsonTypes = map[string]bool{
	"string": true, "integer": true, "number": true, "boolean": true,
	"object": true, "array": true, "null": true,
}

// passThroughKeywords are JSON Schema keywords copied verbatim into the
// normalised schema; the compiler's meta-schema check validates their shape.
var passThroughKeywords = []string{
	"description", "title", "default", "enum", "const", "examples", "format", "pattern",
	"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
	"minLength", "maxLength", "minItems", "maxItems", "uniqueItems",
	"minProperties", "maxProperties", "oneOf", "anyOf", "allOf", "not",
	// Attune/StackStorm annotations, kept for UIs and the registrar.
	"immutable", "position", "label", "placeholder",
}

// isJSONSchemaForm tells the wrapped form (`type: object` + `properties`)
// from the flat StackStorm form, where `type` would be a parameter whose
// value is a mapping.
func isJSONSchemaForm(n *yaml.Node) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	var typ, props bool
	for i := 0; i+1 < len(n.Content); i += 2 {
		v := resolve(n.Content[i+1])
		switch n.Content[i].Value {
		case "type":
			typ = v.Kind == yaml.ScalarNode && v.Value == "object"
		case "properties":
			props = v.Kind == yaml.MappingNode
		}
	}
	return typ && props
}

// normaliseSchema turns either parameter-schema form into one JSON Schema
// object document, reporting shape errors at their positions.
func (d *yamlDoc) normaliseSchema(n *yaml.Node, path string) map[string]any {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return map[string]any{"type": "object", "properties": map[string]any{}}
	}
	if n.Kind != yaml.MappingNode {
		d.rep.at(n.Line, n.Column, path, "must be a mapping of parameters, got %s", kindName(n))
		return nil
	}
	if isJSONSchemaForm(n) {
		s, _ := d.normaliseProp(n, path, true)
		return s
	}
	props, required := d.normaliseProps(n, path)
	out := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

// normaliseProps converts a `name: {schema}` mapping, lifting per-property
// `required: true` into the parent's required list.
func (d *yamlDoc) normaliseProps(n *yaml.Node, path string) (map[string]any, []any) {
	props := map[string]any{}
	var required []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		name := n.Content[i].Value
		s, req := d.normaliseProp(n.Content[i+1], joinPath(path, name), false)
		if s != nil {
			props[name] = s
		}
		if req {
			required = append(required, name)
		}
	}
	sort.Strings(required)
	reqAny := make([]any, len(required))
	for i, r := range required {
		reqAny[i] = r
	}
	return props, reqAny
}

// normaliseProp converts one property schema. It returns whether the
// property carried a StackStorm-style `required: true`.
func (d *yamlDoc) normaliseProp(n *yaml.Node, path string, top bool) (map[string]any, bool) {
	o := d.object(n, path)
	if o.n == nil {
		return nil, false
	}
	out := map[string]any{}
	lifted := false
	if tn := o.node("type"); tn != nil {
		d.schemaType(o, tn, out)
	}
	for _, k := range passThroughKeywords {
		if o.has(k) {
			out[k] = o.value(k)
		}
	}
	if o.has("secret") {
		if o.boolean("secret", false) {
			out["secret"] = true
		}
	}
	if rn := o.node("required"); rn != nil {
		switch {
		case rn.Kind == yaml.ScalarNode && rn.ShortTag() == "!!bool":
			if top {
				o.errAt("required", "must be a list of parameter names at the top level")
			}
			lifted = o.boolean("required", false)
		case rn.Kind == yaml.SequenceNode:
			list := o.strList("required")
			req := make([]any, len(list))
			for i, r := range list {
				req[i] = r
			}
			out["required"] = req
		default:
			o.errAt("required", "must be true/false or a list of names, got %s", kindName(rn))
		}
	}
	if pn := o.node("properties"); pn != nil {
		if pn.Kind != yaml.MappingNode {
			o.errAt("properties", "must be a mapping, got %s", kindName(pn))
		} else {
			props, req := d.normaliseProps(pn, o.field("properties"))
			out["properties"] = props
			if len(req) > 0 {
				existing, _ := out["required"].([]any)
				out["required"] = mergeRequired(existing, req)
			}
		}
	}
	if in := o.node("items"); in != nil {
		if in.Kind == yaml.MappingNode {
			s, _ := d.normaliseProp(in, o.field("items"), false)
			out["items"] = s
		} else {
			o.errAt("items", "must be a schema mapping, got %s", kindName(in))
		}
	}
	if an := o.node("additionalProperties"); an != nil {
		if an.Kind == yaml.MappingNode {
			s, _ := d.normaliseProp(an, o.field("additionalProperties"), false)
			out["additionalProperties"] = s
		} else {
			out["additionalProperties"] = o.boolean("additionalProperties", true)
		}
	}
	if top {
		o.allow("$schema")
	}
	o.finish()
	return out, lifted
}

func (d *yamlDoc) schemaType(o *obj, tn *yaml.Node, out map[string]any) {
	check := func(n *yaml.Node) (string, bool) {
		n = resolve(n)
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			d.rep.at(n.Line, n.Column, o.field("type"), "must be a type name, got %s", kindName(n))
			return "", false
		}
		t := strings.ToLower(n.Value)
		if !jsonTypes[t] {
			d.rep.at(n.Line, n.Column, o.field("type"), "unknown type %q", n.Value)
			return "", false
		}
		return t, true
	}
	if tn.Kind == yaml.SequenceNode {
		var ts []any
		for _, c := range tn.Content {
			if t, ok := check(c); ok {
				ts = append(ts, t)
			}
		}
		out["type"] = ts
		return
	}
	if t, ok := check(tn); ok {
		out["type"] = t
	}
}

func mergeRequired(a, b []any) []any {
	seen := map[any]bool{}
	var out []any
	for _, x := range append(append([]any{}, a...), b...) {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
