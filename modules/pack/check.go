package pack

import (
	"fmt"
	"io"
)

// Check loads the pack in dir and returns every problem (nil when clean).
// It backs `attune pack check DIR`.
func Check(dir string) Problems {
	_, probs := LoadDir(dir)
	return probs
}

// WriteReport prints problems for `attune pack check` and returns the
// process exit code: 0 when the pack is clean, 1 otherwise.
func WriteReport(w io.Writer, dir string, probs Problems) int {
	if len(probs) == 0 {
		fmt.Fprintf(w, "%s: ok\n", dir)
		return 0
	}
	fmt.Fprint(w, probs.Format())
	fmt.Fprintf(w, "%s: %d problem(s)\n", dir, len(probs))
	return 1
}
