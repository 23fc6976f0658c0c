package runtimeenv

import (
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/attune-system/attune/modules/store"
)

// alwaysAvailable names runtimes every worker has: shell and the worker's
// own native execution.
var alwaysAvailable = []string{"core.shell", "core.native"}

type verification struct {
	AlwaysAvailable bool        `json:"always_available"`
	Commands        []verifyCmd `json:"commands"`
}

type verifyCmd struct {
	Binary   string   `json:"binary"`
	Args     []string `json:"args"`
	ExitCode int      `json:"exit_code"`
	Pattern  string   `json:"pattern"`
	Priority int      `json:"priority"`
}

// DetectRuntimes returns the lowercased names of the runtimes in rts this
// machine can run, in rts order. With Override set it returns the runtimes
// whose name or an alias is listed there, without running anything.
// Otherwise each runtime's distributions.verification commands run in
// priority order (5 s each) until one exits with exit_code and its output
// matches pattern; core.shell, core.native and always_available runtimes
// are always included.
func (m *Manager) DetectRuntimes(ctx context.Context, rts []store.Runtime) []string {
	var out []string
	for _, rt := range rts {
		name := strings.ToLower(rt.Name)
		if len(m.Override) > 0 {
			if overridden(m.Override, rt) {
				out = append(out, name)
			}
			continue
		}
		if slices.Contains(alwaysAvailable, rt.Ref) || verify(ctx, rt) {
			out = append(out, name)
		}
	}
	return out
}

func overridden(list []string, rt store.Runtime) bool {
	for _, want := range list {
		w := strings.ToLower(strings.TrimSpace(want))
		if w == strings.ToLower(rt.Name) || w == rt.Ref || slices.Contains(rt.Aliases, w) {
			return true
		}
	}
	return false
}

func verify(ctx context.Context, rt store.Runtime) bool {
	var d struct {
		Verification verification `json:"verification"`
	}
	if err := json.Unmarshal(rt.Distributions, &d); err != nil {
		return false
	}
	v := d.Verification
	if v.AlwaysAvailable {
		return true
	}
	cmds := slices.Clone(v.Commands)
	slices.SortStableFunc(cmds, func(a, b verifyCmd) int {
		return a.Priority - b.Priority
	})
	for _, c := range cmds {
		if c.Binary == "" {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		out, err := exec.CommandContext(cctx, c.Binary, c.Args...).CombinedOutput()
		cancel()
		code := 0
		if err != nil {
			ee, ok := err.(*exec.ExitError)
			if !ok {
				continue // not installed, or timed out
			}
			code = ee.ExitCode()
		}
		if code != c.ExitCode {
			continue
		}
		if c.Pattern != "" {
			re, err := regexp.Compile(c.Pattern)
			if err != nil || !re.Match(out) {
				continue
			}
		}
		return true
	}
	return false
}
