// Package runner launches one action process for the worker (spec §4.2
// steps 4-11): parameters on stdin or in a private file, its own process
// group, SIGTERM → grace → SIGKILL on timeout or cancel, bounded streaming
// capture of stdout/stderr with capped log files, literal secret
// redaction before anything leaves the package, and output parsing into the
// execution.result JSON.
//
// Linux only: process-group liveness is read from /proc.
package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// drainTimeout bounds how long output is read after the process group is
// gone. Only a process that escaped the group (setsid) can still hold the
// pipes open; it must not hang the worker.
const drainTimeout = 2 * time.Second

// Environment variables the runner owns.
const (
	EnvParamDelivery = "ATTUNE_PARAMETER_DELIVERY"
	EnvParamFormat   = "ATTUNE_PARAMETER_FORMAT"
	EnvParamFile     = "ATTUNE_PARAMETER_FILE"
)

// ErrLog marks a failure to write a log file. Run then still returns the
// Result of the process, together with an error wrapping ErrLog.
var ErrLog = errors.New("runner: log file")

// Run launches the action described by s and waits for it. Cancelling ctx
// is a user cancel: the process group is terminated and the Result has
// status cancelled with the partial output (a worker shutting down should
// let runs finish or map the status itself). Run returns an error (and no
// Result) only when the spec is invalid or the process cannot be started;
// every outcome of a started process is a Result.
func Run(ctx context.Context, s Spec) (*Result, error) {
	s, err := s.withDefaults()
	if err != nil {
		return nil, err
	}
	red := NewRedactor(s.Secrets)
	if ctx.Err() != nil {
		// A cancel that arrived before launch: never start the process.
		return buildResult(s, red, outcome{status: StatusCancelled, exitCode: -1}), nil
	}
	payload, err := FormatParams(s.Params, s.ParamFormat)
	if err != nil {
		return nil, err
	}
	env := buildEnv(s)

	var stdinR, stdinW *os.File
	if s.ParamDelivery == DeliveryFile {
		dir, path, err := writeParamFile(payload, s.ParamFormat)
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		env = append(env, EnvParamFile+"="+path)
	} else {
		if stdinR, stdinW, err = os.Pipe(); err != nil {
			return nil, fmt.Errorf("runner: stdin pipe: %w", err)
		}
		defer stdinW.Close()
	}

	var outLog, errLog *cappedLog
	if s.LogDir != "" {
		if outLog, err = openCappedLog(s.LogDir, "stdout.log", s.MaxLogBytes); err != nil {
			closeFiles(stdinR)
			return nil, err
		}
		if errLog, err = openCappedLog(s.LogDir, "stderr.log", s.MaxLogBytes); err != nil {
			closeFiles(stdinR)
			_ = outLog.close()
			return nil, err
		}
	}
	stdout := newStream(red, s.MaxStdout, outLog)
	stderr := newStream(red, s.MaxStderr, errLog)
	// The Result holds copies (text), so the pooled buffers can go back
	// once Run returns.
	defer stdout.release()
	defer stderr.release()

	outR, outW, err := os.Pipe()
	if err != nil {
		closeFiles(stdinR)
		return nil, errors.Join(fmt.Errorf("runner: stdout pipe: %w", err), closeLogs(outLog, errLog))
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeFiles(stdinR, outR, outW)
		return nil, errors.Join(fmt.Errorf("runner: stderr pipe: %w", err), closeLogs(outLog, errLog))
	}

	start, cmd, err := startProcess(s, env, stdinR, outW, errW)
	if err != nil {
		closeFiles(stdinR, outR, outW, errR, errW)
		return nil, errors.Join(err, closeLogs(outLog, errLog))
	}
	// The child has its own copies; keeping ours open would hide EOF.
	closeFiles(stdinR, outW, errW)
	pgid := cmd.Process.Pid

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); stdout.pump(outR) }()
	go func() { defer wg.Done(); stderr.pump(errR) }()
	stdinDone := make(chan struct{})
	if stdinW != nil {
		go func() {
			defer close(stdinDone)
			// A process that exits without reading its parameters breaks
			// the pipe; its exit code, not EPIPE, decides the outcome.
			_, _ = stdinW.Write(payload)
			_ = stdinW.Close()
		}()
	} else {
		close(stdinDone)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()

	var timer <-chan time.Time
	if s.Timeout > 0 {
		t := time.NewTimer(s.Timeout)
		defer t.Stop()
		timer = t.C
	}
	status := ""
	select {
	case <-done:
	case <-timer:
		status = StatusTimeout
	case <-ctx.Done():
		status = StatusCancelled
	}
	if status != "" {
		terminateGroup(pgid, s.KillGrace)
		<-done
	} else {
		killStragglers(pgid)
	}
	duration := time.Since(start)

	// Unblock the feeder and readers if a process that escaped the group
	// still holds the other pipe ends.
	if stdinW != nil {
		_ = stdinW.SetWriteDeadline(time.Now())
	}
	<-stdinDone
	_ = outR.SetReadDeadline(time.Now().Add(drainTimeout))
	_ = errR.SetReadDeadline(time.Now().Add(drainTimeout))
	wg.Wait()
	closeFiles(outR, errR)

	o := outcome{status: status, duration: duration, timeout: s.Timeout, stdout: stdout, stderr: stderr}
	if status == "" {
		o.status, o.exitCode, o.signal = exitStatus(cmd, waitErr)
	} else {
		o.exitCode = -1
	}
	res := buildResult(s, red, o)
	res.PID = pgid
	if outLog != nil && outLog.created() {
		res.StdoutLog = outLog.path
	}
	if errLog != nil && errLog.created() {
		res.StderrLog = errLog.path
	}
	if err := closeLogs(outLog, errLog); err != nil {
		return res, fmt.Errorf("%w: %w", ErrLog, err)
	}
	return res, nil
}

// startProcess starts the action in its own process group. exec.Command,
// never a shell: parameters are data on stdin, so no metacharacter in them
// can become code. ETXTBSY is retried briefly: it happens when the program
// file was just written and a concurrent fork in this process still holds
// the writer's descriptor (golang/go#22315), and clears within
// milliseconds.
func startProcess(s Spec, env []string, stdin, stdout, stderr *os.File) (time.Time, *exec.Cmd, error) {
	backoff := 5 * time.Millisecond
	for attempt := 0; ; attempt++ {
		cmd := exec.Command(s.Path, s.Args...)
		cmd.Dir = s.Dir
		cmd.Env = env
		if stdin != nil {
			cmd.Stdin = stdin
		}
		cmd.Stdout = stdout
		cmd.Stderr = stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		start := time.Now()
		err := cmd.Start()
		if err == nil {
			return start, cmd, nil
		}
		if !errors.Is(err, syscall.ETXTBSY) || attempt >= 6 {
			return time.Time{}, nil, fmt.Errorf("runner: start %s: %w", s.Path, err)
		}
		time.Sleep(backoff)
		backoff *= 2
	}
}

// exitStatus maps the main process's end to status, exit code and, for a
// death by a signal the runner did not send (OOM killer, kill -9), its name.
func exitStatus(cmd *exec.Cmd, waitErr error) (string, int, string) {
	ps := cmd.ProcessState
	if ps == nil {
		return StatusFailed, -1, ""
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return StatusFailed, -1, ws.Signal().String()
	}
	code := ps.ExitCode()
	if code == 0 && waitErr == nil {
		return StatusCompleted, 0, ""
	}
	return StatusFailed, code, ""
}

// buildEnv appends the runner-owned variables to the caller's environment,
// dropping any caller value for them so the action cannot be misled about
// where its parameters are.
func buildEnv(s Spec) []string {
	env := make([]string, 0, len(s.Env)+3)
	for _, kv := range s.Env {
		name, _, _ := strings.Cut(kv, "=")
		if name == EnvParamDelivery || name == EnvParamFormat || name == EnvParamFile {
			continue
		}
		env = append(env, kv)
	}
	return append(env, EnvParamDelivery+"="+s.ParamDelivery, EnvParamFormat+"="+s.ParamFormat)
}

// writeParamFile writes the parameters to a 0400 file inside a fresh 0700
// directory, so only the worker's uid can read them, and returns both
// paths. The caller removes the directory.
func writeParamFile(payload []byte, format string) (dir, path string, err error) {
	dir, err = os.MkdirTemp("", "attune-params-")
	if err != nil {
		return "", "", fmt.Errorf("runner: create parameter dir: %w", err)
	}
	ext := map[string]string{FormatJSON: ".json", FormatDotenv: ".env", FormatYAML: ".yaml"}[format]
	path = filepath.Join(dir, "parameters"+ext)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o400)
	if err == nil {
		_, err = f.Write(payload)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", "", fmt.Errorf("runner: write parameter file %s: %w", path, err)
	}
	return dir, path, nil
}

func closeFiles(fs ...*os.File) {
	for _, f := range fs {
		if f != nil {
			_ = f.Close()
		}
	}
}

func closeLogs(ls ...*cappedLog) error {
	var errs []error
	for _, l := range ls {
		if l != nil {
			errs = append(errs, l.close())
		}
	}
	return errors.Join(errs...)
}
