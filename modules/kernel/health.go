package kernel

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Check is one line of a readiness report.
type Check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	Err  string `json:"error,omitempty"`
}

// ProbeFunc is an extra readiness check owned by the composition root, such
// as the database or bus connection shared by all modules.
type ProbeFunc func(ctx context.Context) error

// Readiness runs every check: module states, module HealthCheckers and the
// extra probes, concurrently, each bounded by timeout. It returns the checks
// sorted by name and whether all passed.
func (r *Runner) Readiness(ctx context.Context, timeout time.Duration, probes map[string]ProbeFunc) ([]Check, bool) {
	r.mu.Lock()
	draining := r.draining
	type named struct {
		name string
		fn   func(context.Context) error
	}
	var checks []named
	var out []Check
	for _, d := range r.defs {
		st := r.states[d.Name]
		if st != StateRunning {
			out = append(out, Check{Name: "module:" + d.Name, Err: "state " + string(st)})
			continue
		}
		out = append(out, Check{Name: "module:" + d.Name, OK: true})
		if hc, ok := r.modules[d.Name].(HealthChecker); ok {
			checks = append(checks, named{"health:" + d.Name, hc.CheckHealth})
		}
	}
	r.mu.Unlock()
	for name, p := range probes {
		checks = append(checks, named{name, p})
	}
	if draining {
		out = append(out, Check{Name: "process", Err: ErrDraining.Error()})
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			err := c.fn(cctx)
			res := Check{Name: c.name, OK: err == nil}
			if err != nil {
				res.Err = err.Error()
			}
			mu.Lock()
			out = append(out, res)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	ok := true
	for _, c := range out {
		ok = ok && c.OK
	}
	return out, ok
}

// Describe formats checks one per line, k8s-style, for /readyz?verbose.
func Describe(checks []Check) string {
	s := ""
	for _, c := range checks {
		if c.OK {
			s += fmt.Sprintf("[+]%s ok\n", c.Name)
		} else {
			s += fmt.Sprintf("[-]%s failed: %s\n", c.Name, c.Err)
		}
	}
	return s
}
