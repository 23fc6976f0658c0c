package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// script writes an executable /bin/sh script into a fresh temp dir.
func script(t testing.TB, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "action.sh")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o700))
	return p
}

// run runs s with a generous safety timeout and requires no error.
func run(t testing.TB, s Spec) *Result {
	t.Helper()
	if s.Timeout == 0 {
		s.Timeout = 20 * time.Second
	}
	res, err := Run(context.Background(), s)
	require.NoError(t, err)
	require.NotNil(t, res)
	return res
}

// requireGroupGone checks, independently of the runner's own bookkeeping,
// that nothing in the process group is still running right now, and that
// the group disappears once init has reaped the orphaned zombies (which it
// does on its own schedule in some containers).
func requireGroupGone(t *testing.T, pgid int) {
	t.Helper()
	require.NotZero(t, pgid)
	require.Empty(t, liveGroupMembers(pgid), "live processes left in group %d", pgid)
	require.Eventually(t, func() bool {
		return syscall.Kill(-pgid, 0) == syscall.ESRCH
	}, 15*time.Second, 20*time.Millisecond, "process group %d still exists", pgid)
}

// liveGroupMembers lists "pid state comm" for non-zombie members of pgid.
func liveGroupMembers(pgid int) []string {
	var live []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			live = append(live, e.Name()+" "+f[0]+" "+string(b[:i+1]))
		}
	}
	return live
}

// resultStrings returns every string (keys included) of the result as it
// would be stored, after a JSON round trip.
func resultStrings(t *testing.T, j map[string]any) string {
	t.Helper()
	raw, err := json.Marshal(j)
	require.NoError(t, err)
	var v any
	require.NoError(t, json.Unmarshal(raw, &v))
	var sb strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				sb.WriteString(k + "\x00")
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case string:
			sb.WriteString(x + "\x00")
		}
	}
	walk(v)
	return sb.String() + string(raw)
}
