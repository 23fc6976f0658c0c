package pack

import (
	"testing"
	"testing/fstest"
	"time"
)

// FuzzLoadPackYAML feeds arbitrary bytes as pack.yaml and as an action file.
// Load must never panic, and must finish quickly whatever the input.
func FuzzLoadPackYAML(f *testing.F) {
	f.Add([]byte(goodPackYAML), []byte(goodActionYAML))
	f.Add([]byte("ref: a\nx: &a [1,2]\ny: *a\n"), []byte("parameters: {a: {type: [string, integer]}}"))
	f.Add([]byte("{ref: demo, label: l, description: d, version: 1.0.0, conf_schema: {type: object, properties: {a: {required: true}}}}"), []byte("- 1\n- 2\n"))
	f.Fuzz(func(t *testing.T, packYAML, actionYAML []byte) {
		fsys := fstest.MapFS{
			"pack.yaml":          {Data: packYAML},
			"actions/greet.yaml": {Data: actionYAML},
			"actions/greet.sh":   {Data: []byte("echo\n")},
		}
		start := time.Now()
		p, probs := Load(fsys)
		if p == nil && len(probs) == 0 {
			t.Fatal("nil pack without problems")
		}
		for _, pr := range probs {
			_ = pr.String()
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Load took %v", d)
		}
	})
}
