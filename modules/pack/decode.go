package pack

import (
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// obj is a strict, position-aware reader over one YAML mapping. Every getter
// marks its key as known; finish reports the keys nobody asked for, which is
// how unknown fields become errors with their exact location.
type obj struct {
	d    *yamlDoc
	n    *yaml.Node
	path string
	idx  map[string]int
	used map[string]bool
}

// object wraps n (which must be a mapping) for strict decoding. A nil or
// non-mapping node reports a problem and yields an empty reader so callers
// never need nil checks.
func (d *yamlDoc) object(n *yaml.Node, path string) *obj {
	o := &obj{d: d, path: path, idx: map[string]int{}, used: map[string]bool{}}
	n = resolve(n)
	if n == nil {
		return o
	}
	if n.Kind != yaml.MappingNode {
		d.rep.at(n.Line, n.Column, path, "must be a mapping, got %s", kindName(n))
		return o
	}
	o.n = n
	for i := 0; i+1 < len(n.Content); i += 2 {
		o.idx[n.Content[i].Value] = i
	}
	return o
}

func kindName(n *yaml.Node) string {
	switch resolve(n).Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		if n.ShortTag() == "!!null" {
			return "null"
		}
		return strings.TrimPrefix(n.ShortTag(), "!!") + " " + quoteShort(n.Value)
	}
}

func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return `"` + s + `"`
}

func (o *obj) field(key string) string {
	if key == "" {
		return o.path
	}
	if o.path == "" {
		return key
	}
	return o.path + "." + key
}

// node returns the value node for key (aliases resolved) or nil.
func (o *obj) node(key string) *yaml.Node {
	o.used[key] = true
	i, ok := o.idx[key]
	if !ok || o.n == nil {
		return nil
	}
	return resolve(o.n.Content[i+1])
}

func (o *obj) has(key string) bool {
	_, ok := o.idx[key]
	return ok
}

// allow marks keys as known without reading them.
func (o *obj) allow(keys ...string) {
	for _, k := range keys {
		o.used[k] = true
	}
}

// errAt reports a problem at key's value (or at the mapping if key is absent).
func (o *obj) errAt(key, format string, args ...any) {
	line, col := o.pos(key)
	o.d.rep.at(line, col, o.field(key), format, args...)
}

func (o *obj) pos(key string) (int, int) {
	if i, ok := o.idx[key]; ok && o.n != nil {
		v := o.n.Content[i+1]
		return v.Line, v.Column
	}
	if o.n != nil {
		return o.n.Line, o.n.Column
	}
	return 0, 0
}

func (o *obj) isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// str reads a string field; required reports when it is missing or empty.
func (o *obj) str(key string, required bool) string {
	n := o.node(key)
	if o.isNull(n) {
		if required {
			o.errAt(key, "is required")
		}
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" && n.ShortTag() != "!!timestamp" {
		o.errAt(key, "must be a string, got %s", kindName(n))
		return ""
	}
	if required && n.Value == "" {
		o.errAt(key, "must not be empty")
	}
	return n.Value
}

// scalarText reads any scalar as its source text, so an unquoted
// `version: 1.0` is reported as bad semver rather than as a float.
func (o *obj) scalarText(key string, required bool) string {
	n := o.node(key)
	if !o.isNull(n) && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return o.str(key, required)
}

func (o *obj) boolean(key string, def bool) bool {
	n := o.node(key)
	if o.isNull(n) {
		return def
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		o.errAt(key, "must be true or false, got %s", kindName(n))
		return def
	}
	var b bool
	_ = n.Decode(&b)
	return b
}

// integer reads an integer field bounded by [lo, hi]; absent yields def.
func (o *obj) integer(key string, def, lo, hi int) int {
	n := o.node(key)
	if o.isNull(n) {
		return def
	}
	var i int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
		o.errAt(key, "must be an integer, got %s", kindName(n))
		return def
	}
	if i < lo || i > hi {
		o.errAt(key, "must be between %d and %d, got %d", lo, hi, i)
		return def
	}
	return i
}

// enum reads a string that must be one of allowed (compared lowercase) and
// returns it lowercased; absent yields def.
func (o *obj) enum(key, def string, allowed ...string) string {
	s := strings.ToLower(o.str(key, false))
	if s == "" {
		return def
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	o.errAt(key, "must be one of %s, got %q", strings.Join(allowed, "|"), s)
	return def
}

// strList reads a list of strings; a single string is not accepted so typos
// like `tags: demo` are caught.
func (o *obj) strList(key string) []string {
	n := o.node(key)
	if o.isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		o.errAt(key, "must be a list of strings, got %s", kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		c = resolve(c)
		if c.Kind != yaml.ScalarNode || c.ShortTag() != "!!str" {
			o.d.rep.at(c.Line, c.Column, o.field(key)+"["+strconv.Itoa(i)+"]", "must be a string, got %s", kindName(c))
			continue
		}
		out = append(out, c.Value)
	}
	return out
}

// value reads any JSON-compatible value.
func (o *obj) value(key string) any {
	n := o.node(key)
	if n == nil {
		return nil
	}
	v, err := toValue(n)
	if err != nil {
		o.errAt(key, "%v", err)
		return nil
	}
	return v
}

// mapValue reads a mapping as map[string]any; absent yields nil.
func (o *obj) mapValue(key string) map[string]any {
	n := o.node(key)
	if o.isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		o.errAt(key, "must be a mapping, got %s", kindName(n))
		return nil
	}
	v, err := toValue(n)
	if err != nil {
		o.errAt(key, "%v", err)
		return nil
	}
	return v.(map[string]any)
}

// sub returns a strict reader for a nested mapping, or nil when absent.
func (o *obj) sub(key string) *obj {
	n := o.node(key)
	if o.isNull(n) {
		return nil
	}
	return o.d.object(n, o.field(key))
}

// finish reports every key that no getter consumed.
func (o *obj) finish() {
	if o == nil || o.n == nil {
		return
	}
	var unknown []int
	for k, i := range o.idx {
		if !o.used[k] {
			unknown = append(unknown, i)
		}
	}
	sort.Ints(unknown)
	for _, i := range unknown {
		k := o.n.Content[i]
		o.d.rep.at(k.Line, k.Column, o.field(k.Value), "unknown field")
	}
}

func itoaS(i int) string { return strconv.Itoa(i) }
