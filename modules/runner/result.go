package runner

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"
)

// Execution statuses reported in Result.Status.
const (
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusTimeout   = "timeout"
	StatusCancelled = "cancelled"
)

// Error texts fixed by the spec (§4.2 steps 8-9).
const (
	errCancelled    = "Execution cancelled by user"
	errTimeoutFmt   = "Execution timed out after %s seconds"
	errExitFmt      = "Command exited with code %d"
	errSignalFmt    = "Command terminated by signal %s"
	stderrLineLimit = 5
)

// Result is the outcome of one action process.
type Result struct {
	// Status is completed, failed, timeout or cancelled.
	Status string
	// ExitCode is the process exit code, or -1 for timeout, cancel or death
	// by a signal.
	ExitCode int
	// DurationMS is the wall time from start to the main process exit
	// (including any kill sequence).
	DurationMS int64
	// JSON is exactly what is stored in execution.result (spec §4.2 step
	// 11), already redacted and valid UTF-8.
	JSON map[string]any
	// PID is the main process id, which is also its process group id; 0 if
	// the process was never started (cancelled before launch).
	PID int
	// StdoutLog and StderrLog are the log file paths; empty without LogDir
	// or when the stream printed nothing (no file is created for it).
	StdoutLog, StderrLog string
}

// outcome gathers what Run observed, for buildResult.
type outcome struct {
	status   string
	exitCode int
	signal   string // set when the process died of a signal we did not send
	duration time.Duration
	timeout  time.Duration
	stdout   *stream
	stderr   *stream
}

// buildResult turns an outcome into the stored result JSON.
func buildResult(s Spec, red *Redactor, o outcome) *Result {
	res := &Result{Status: o.status, ExitCode: o.exitCode, DurationMS: o.duration.Milliseconds()}
	j := map[string]any{
		"exit_code":   o.exitCode,
		"duration_ms": res.DurationMS,
	}
	stdout, stderr := "", ""
	if o.stdout != nil {
		// The stream was redacted as it flowed; this second pass is cheap
		// (bounded by the cap) and catches matches that only appear after
		// UTF-8 repair.
		stdout = red.String(o.stdout.text())
		addTruncation(j, "stdout", o.stdout)
	}
	if o.stderr != nil {
		stderr = red.String(o.stderr.text())
		addTruncation(j, "stderr", o.stderr)
		if o.stderr.log != nil && o.stderr.log.created() {
			j["stderr_log"] = o.stderr.log.path
		}
	}
	switch o.status {
	case StatusCompleted:
		j["succeeded"] = true
		if data, ok := parseOutput(s.OutputFormat, stdout); ok {
			j["data"] = redactData(red, maskFields(data, s.SecretOutputFields))
		} else if stdout != "" {
			j["stdout"] = stdout
		}
	default:
		j["succeeded"] = false
		j["error"] = red.String(failureText(o, stderr))
		if stdout != "" {
			j["stdout"] = stdout
		}
		if o.status == StatusCancelled {
			j["cancelled"] = true
		}
	}
	res.JSON = j
	return res
}

func addTruncation(j map[string]any, name string, st *stream) {
	if d := st.head.dropped(); d > 0 {
		j[name+"_truncated"] = true
		j[name+"_bytes_truncated"] = d
	}
}

// failureText is the result's error string (spec §4.2 steps 8, 9, 11).
func failureText(o outcome, stderr string) string {
	switch o.status {
	case StatusTimeout:
		return fmt.Sprintf(errTimeoutFmt, strconv.FormatFloat(o.timeout.Seconds(), 'f', -1, 64))
	case StatusCancelled:
		return errCancelled
	}
	if e := strings.TrimRight(stderr, "\r\n"); strings.TrimSpace(e) != "" {
		lines := strings.Split(e, "\n")
		if len(lines) > stderrLineLimit {
			return strings.TrimRight(lines[len(lines)-1], "\r")
		}
		return e
	}
	if o.signal != "" {
		return fmt.Sprintf(errSignalFmt, o.signal)
	}
	return fmt.Sprintf(errExitFmt, o.exitCode)
}

// parseOutput parses stdout per output_format (spec §4.2 step 10). ok is
// false when the format is text, stdout is blank, or nothing parsed.
func parseOutput(format, stdout string) (any, bool) {
	if strings.TrimSpace(stdout) == "" {
		return nil, false
	}
	switch format {
	case OutputJSON:
		if v, err := decodeJSON(stdout); err == nil {
			return v, true
		}
		lines := strings.Split(strings.TrimRight(stdout, "\r\n \t"), "\n")
		if v, err := decodeJSON(lines[len(lines)-1]); err == nil {
			return v, true
		}
	case OutputYAML:
		var v any
		if err := yaml.Unmarshal([]byte(stdout), &v); err == nil && v != nil {
			return jsonCompatible(v), true
		}
	case OutputJSONL:
		var items []any
		sc := bufio.NewScanner(strings.NewReader(stdout))
		sc.Buffer(nil, len(stdout)+1)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			if v, err := decodeJSON(line); err == nil {
				items = append(items, v)
			}
		}
		if len(items) > 0 {
			return items, true
		}
	}
	return nil, false
}

// decodeJSON decodes exactly one JSON value, keeping numbers exact.
func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

// jsonCompatible converts YAML-decoded values (which may use non-string map
// keys) into shapes encoding/json can store.
func jsonCompatible(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = jsonCompatible(e)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = jsonCompatible(e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = jsonCompatible(e)
		}
		return t
	case string:
		return validUTF8([]byte(t))
	default:
		return v
	}
}

// maskFields replaces the values of the named output fields (top-level
// names or dotted paths into nested objects) with Mask.
func maskFields(data any, fields []string) any {
	for _, f := range fields {
		if f == "" {
			continue
		}
		path := strings.Split(f, ".")
		m, ok := data.(map[string]any)
		for i := 0; ok && i < len(path)-1; i++ {
			m, ok = m[path[i]].(map[string]any)
		}
		if ok {
			if _, present := m[path[len(path)-1]]; present {
				m[path[len(path)-1]] = Mask
			}
		}
	}
	return data
}

// redactData masks secrets in every string (keys included) of parsed data.
func redactData(red *Redactor, v any) any {
	if red.Empty() {
		return v
	}
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[red.String(k)] = redactData(red, e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = redactData(red, e)
		}
		return t
	case string:
		return red.String(t)
	case json.Number:
		if r := red.String(t.String()); r != t.String() {
			return r // a secret that happens to be numeric
		}
		return t
	default:
		return v
	}
}

// validUTF8 returns b as a string with invalid sequences replaced by U+FFFD,
// so the result can be stored as JSON(B) without loss of the rest.
func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
}
