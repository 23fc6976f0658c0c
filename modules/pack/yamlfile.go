package pack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v4"
)

// Limits applied to every YAML file in a pack. They bound the memory and time
// a hostile pack can cost before it is rejected (guarantees §3.1 item 3).
const (
	// MaxYAMLBytes caps the size of one YAML file.
	MaxYAMLBytes = 1 << 20
	// MaxYAMLNodes caps the number of parsed nodes in one file.
	MaxYAMLNodes = 100_000
	// MaxYAMLExpandedNodes caps the node count once aliases are expanded,
	// which is what defeats "billion laughs" documents.
	MaxYAMLExpandedNodes = 200_000
	// MaxYAMLDepth caps nesting depth so recursive walks stay shallow.
	MaxYAMLDepth = 64
)

// yamlDoc is one parsed, vetted YAML file.
type yamlDoc struct {
	rep  reporter
	root *yaml.Node // the document's content node (never a DocumentNode)
	raw  []byte
}

var yamlLineRe = regexp.MustCompile(`line (\d+)(?:, column (\d+))?`)

// readYAML reads and parses one file, enforcing the size, node, alias and
// depth limits, duplicate-key and tag rules. It returns nil after reporting a
// problem when the file is unusable.
func readYAML(fsys fs.FS, name string, probs *Problems) *yamlDoc {
	rep := reporter{file: name, probs: probs}
	f, err := fsys.Open(name)
	if err != nil {
		rep.at(0, 0, "", "cannot open: %v", err)
		return nil
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxYAMLBytes+1))
	if err != nil {
		rep.at(0, 0, "", "cannot read: %v", err)
		return nil
	}
	if len(data) > MaxYAMLBytes {
		rep.at(0, 0, "", "file is larger than %d bytes", MaxYAMLBytes)
		return nil
	}
	return parseYAML(rep, data)
}

func parseYAML(rep reporter, data []byte) *yamlDoc {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			rep.at(0, 0, "", "file is empty")
			return nil
		}
		line, col := 0, 0
		if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
			col, _ = strconv.Atoi(m[2])
		}
		rep.at(line, col, "", "invalid YAML: %v", err)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		rep.at(line, 0, "", "a pack file must hold exactly one YAML document")
		return nil
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) != 1 {
			rep.at(root.Line, root.Column, "", "file is empty")
			return nil
		}
		root = root.Content[0]
	}
	v := &vetter{rep: rep, sizes: map[*yaml.Node]int{}}
	if !v.vet(root, 0) {
		return nil
	}
	if v.expanded(root) > MaxYAMLExpandedNodes {
		if v.cycle {
			rep.at(root.Line, root.Column, "", "an alias refers to its own anchor (recursive YAML is not allowed)")
			return nil
		}
		rep.at(root.Line, root.Column, "", "aliases expand to more than %d nodes", MaxYAMLExpandedNodes)
		return nil
	}
	return &yamlDoc{rep: rep, root: root, raw: data}
}

// vetter walks the raw node tree once (aliases are not followed, so the walk
// is linear in file size) checking structural rules.
type vetter struct {
	rep   reporter
	nodes int
	sizes map[*yaml.Node]int
	cycle bool
}

var allowedTags = map[string]bool{
	"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true,
	"!!map": true, "!!seq": true, "!!timestamp": true, "!!binary": true,
}

func (v *vetter) vet(n *yaml.Node, depth int) bool {
	v.nodes++
	if v.nodes > MaxYAMLNodes {
		v.rep.at(n.Line, n.Column, "", "file has more than %d YAML nodes", MaxYAMLNodes)
		return false
	}
	if depth > MaxYAMLDepth {
		v.rep.at(n.Line, n.Column, "", "nesting is deeper than %d levels", MaxYAMLDepth)
		return false
	}
	if n.Kind != yaml.AliasNode && !allowedTags[n.ShortTag()] {
		v.rep.at(n.Line, n.Column, "", "unsupported YAML tag %q", n.Tag)
		return false
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			v.rep.at(n.Line, n.Column, "", "unknown alias %q", n.Value)
			return false
		}
	case yaml.MappingNode:
		seen := make(map[string]*yaml.Node, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" || k.Value == "<<" && k.Style == 0 {
				v.rep.at(k.Line, k.Column, "", "mapping keys must be plain strings (merge keys are not supported)")
				return false
			}
			if prev, dup := seen[k.Value]; dup {
				v.rep.at(k.Line, k.Column, "", "duplicate key %q (first defined at line %d)", k.Value, prev.Line)
				return false
			}
			seen[k.Value] = k
			if !v.vet(n.Content[i+1], depth+1) {
				return false
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if !v.vet(c, depth+1) {
				return false
			}
		}
	}
	return true
}

// expanded returns the node count of n with aliases expanded, memoised per
// node so a bomb is measured in linear time without being built.
func (v *vetter) expanded(n *yaml.Node) int {
	if s, ok := v.sizes[n]; ok {
		if s < 0 { // still being measured: the alias points into itself
			v.cycle = true
			return MaxYAMLExpandedNodes + 1
		}
		return s
	}
	v.sizes[n] = -1
	s := 1
	if n.Kind == yaml.AliasNode {
		s = v.expanded(n.Alias)
	}
	for _, c := range n.Content {
		s += v.expanded(c)
		if s > MaxYAMLExpandedNodes {
			break
		}
	}
	v.sizes[n] = s
	return s
}

// resolve follows an alias to its anchored node.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// toValue converts a vetted node into JSON-compatible Go values
// (map[string]any, []any, string, int64, float64, bool, nil).
func toValue(n *yaml.Node) (any, error) {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			val, err := toValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := toValue(c)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		return s, nil
	case yaml.ScalarNode:
		return scalarValue(n)
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

func scalarValue(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, err
		}
		return b, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err != nil {
			return nil, fmt.Errorf("integer %q out of range", n.Value)
		}
		return i, nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, err
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%q is not a finite number", n.Value)
		}
		return f, nil
	default: // !!str, !!timestamp, !!binary are kept as their text
		return n.Value, nil
	}
}
