package pack

import (
	"fmt"
	"testing"
)

// BenchmarkCheck500Actions measures Check on a generated 500-action pack
// with one rule per action (target: well under 1 s per Check).
func BenchmarkCheck500Actions(b *testing.B) {
	files := map[string]string{"pack.yaml": goodPackYAML}
	for i := 0; i < 500; i++ {
		files[fmt.Sprintf("actions/a%d.yaml", i)] = fmt.Sprintf(`ref: a%d
runner_type: shell
entry_point: a%d.sh
parameters:
  name: {type: string, required: true}
  count: {type: integer, default: 3, minimum: 1, maximum: 10}
  mode: {type: string, enum: [fast, slow], default: fast}
`, i, i)
		files[fmt.Sprintf("actions/a%d.sh", i)] = "echo\n"
		files[fmt.Sprintf("rules/r%d.yaml", i)] = fmt.Sprintf("ref: r%d\ntrigger_ref: core.intervaltimer\ntrigger_params: {interval: 5}\naction_ref: a%d\naction_params: {name: x}\n", i, i)
	}
	dir := writePack(b, files)
	if probs := Check(dir); len(probs) > 0 {
		b.Fatal(probs.Format())
	}
	b.ResetTimer()
	for b.Loop() {
		if probs := Check(dir); len(probs) > 0 {
			b.Fatal(probs.Format())
		}
	}
}
