package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// bigOutputRSS starts 20 core.local executions that each print 100 MB to
// stdout through the API of a --roles=all process, samples that attune
// process's RSS (not its action children) until all are terminal, and returns
// the peak in MiB. Output capture is bounded, so the worker's memory must not
// grow with what actions print.
func bigOutputRSS(api string, treePID int) (float64, error) {
	pid := attuneChild(treePID)
	if pid == 0 {
		return 0, fmt.Errorf("no attune process under %d", treePID)
	}
	token, err := loginAdmin(api)
	if err != nil {
		return 0, err
	}
	// The login's Argon2 hash (64 MiB) is paid by the same process just
	// before the actions start; printing the starting point shows how much
	// of the peak the actions themselves added.
	fmt.Fprintf(os.Stderr, "w1: big output: attune RSS %.1f MiB after login, before the executions\n", rssMiB(pid))
	var ids []int64
	for range 20 {
		var out struct {
			Data struct {
				ID int64 `json:"id"`
			} `json:"data"`
		}
		err := postJSON(api+"/api/v1/executions/execute", token, map[string]any{
			"action_ref": "core.local",
			"parameters": map[string]any{"cmd": "head -c 104857600 /dev/zero | tr '\\0' x", "timeout": 300},
		}, &out)
		if err != nil {
			return 0, fmt.Errorf("execute: %w", err)
		}
		ids = append(ids, out.Data.ID)
	}
	peak := 0.0
	deadline := time.Now().Add(5 * time.Minute)
	for pending := ids; len(pending) > 0; {
		if time.Now().After(deadline) {
			return peak, fmt.Errorf("%d executions not terminal after 5m", len(pending))
		}
		peak = max(peak, rssMiB(pid))
		var still []int64
		for _, id := range pending {
			if !terminal(api, token, id) {
				still = append(still, id)
			}
		}
		pending = still
		time.Sleep(50 * time.Millisecond)
	}
	return peak, nil
}

func terminal(api, token string, id int64) bool {
	req, _ := http.NewRequest(http.MethodGet, api+"/api/v1/executions/"+strconv.FormatInt(id, 10), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			Status string `json:"status"`
		} `json:"data"`
	}
	if err := jsonDecode(resp, &out); err != nil {
		return false
	}
	switch out.Data.Status {
	case "completed", "failed", "timeout", "cancelled", "abandoned":
		return true
	}
	return false
}

// attuneChild finds the `attune serve` process started by the bench's
// shell. It goes by the command line, not the executable's name, so a
// binary built under another name (-attune /tmp/attune-before) is found too.
func attuneChild(parent int) int {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", parent))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(field)
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if args := strings.Split(string(cmdline), "\x00"); len(args) > 1 && args[1] == "serve" {
				return pid
			}
		}
	}
	return 0
}

func rssMiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
