package runner

import (
	"context"
	"testing"
)

// BenchmarkRunTrue measures the runner's fixed cost per action: pipes,
// fork/exec, parameter feed, wait, group check and result building.
func BenchmarkRunTrue(b *testing.B) {
	s := Spec{Path: "/bin/true", Params: map[string]any{"a": 1}, Env: []string{"PATH=/usr/bin:/bin"}}
	for b.Loop() {
		res, err := Run(context.Background(), s)
		if err != nil || res.Status != StatusCompleted {
			b.Fatalf("run: %v %+v", err, res)
		}
	}
}

// BenchmarkRunTrueWithLogsAndSecrets adds log files and a redactor.
func BenchmarkRunTrueWithLogsAndSecrets(b *testing.B) {
	s := Spec{
		Path: "/bin/true", Params: map[string]any{"a": 1}, Env: []string{"PATH=/usr/bin:/bin"},
		LogDir: b.TempDir(), Secrets: trickySecrets,
	}
	for b.Loop() {
		res, err := Run(context.Background(), s)
		if err != nil || res.Status != StatusCompleted {
			b.Fatalf("run: %v %+v", err, res)
		}
	}
}
