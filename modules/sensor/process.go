package sensor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// drainTimeout bounds reading a dead process's pipes: only a child that
// escaped the process group (setsid) can still hold them open.
const drainTimeout = 2 * time.Second

// process is one running sensor process (leader of its own process group).
type process struct {
	pid     int
	started time.Time
	done    chan struct{} // closed once the leader is reaped and the pipes are drained
	waitErr error         // valid after done
}

// stdinDoc is the JSON object a sensor reads on stdin. The token travels
// only here, never in argv or the environment.
type stdinDoc struct {
	APIURL           string            `json:"api_url"`
	APIToken         string            `json:"api_token"`
	SensorRef        string            `json:"sensor_ref"`
	SensorID         int64             `json:"sensor_id"`
	LogLevel         string            `json:"log_level"`
	TriggerInstances []triggerInstance `json:"trigger_instances"`
}

// launch starts the sensor process for spec. Its stdout lines become events
// (emit.go), its stderr goes to a capped log file.
func (m *Module) launch(ctx context.Context, spec *sensorSpec) (*process, error) {
	c, err := m.command(ctx, spec)
	if err != nil {
		return nil, err
	}
	token, err := m.sensorToken(ctx, spec)
	if err != nil {
		return nil, err
	}
	instances := spec.Instances
	if instances == nil {
		instances = []triggerInstance{}
	}
	input, err := json.Marshal(stdinDoc{
		APIURL: m.d.APIURL(), APIToken: token, SensorRef: spec.Ref, SensorID: spec.ID,
		LogLevel: m.d.LogLevel, TriggerInstances: instances,
	})
	if err != nil {
		return nil, fmt.Errorf("sensor %s: encode stdin: %w", spec.Ref, err)
	}
	errLog, err := openCappedLog(m.logDir(), spec.Ref+".stderr.log", maxStderrLog)
	if err != nil {
		return nil, fmt.Errorf("sensor %s: stderr log: %w", spec.Ref, err)
	}
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			_ = f.Close()
		}
	}
	pipe := func() (r, w *os.File, err error) {
		if r, w, err = os.Pipe(); err == nil {
			files = append(files, r, w)
		}
		return r, w, err
	}
	inR, inW, err1 := pipe()
	outR, outW, err2 := pipe()
	errR, errW, err3 := pipe()
	if err := errors.Join(err1, err2, err3); err != nil {
		closeAll()
		_ = errLog.Close()
		return nil, fmt.Errorf("sensor %s: pipes: %w", spec.Ref, err)
	}
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	cmd.Dir, cmd.Env = c.dir, c.env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	// Own process group: stop and crash clean-up signal every descendant.
	// Pdeathsig: the sensor dies with us instead of running unsupervised.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		closeAll()
		_ = errLog.Close()
		return nil, fmt.Errorf("sensor %s: start %s: %w", spec.Ref, c.argv[0], err)
	}
	// The child holds its ends now; ours must close so EOF can happen.
	_, _, _ = inR.Close(), outW.Close(), errW.Close()
	p := &process{pid: cmd.Process.Pid, started: time.Now(), done: make(chan struct{})}

	go func() {
		_, _ = inW.Write(input)
		_ = inW.Close()
	}()
	outDone := make(chan struct{})
	go func() { defer close(outDone); m.readEvents(spec, outR) }()
	errDone := make(chan struct{})
	go func() { defer close(errDone); errLog.copyFrom(errR) }()

	go func() {
		p.waitErr = cmd.Wait()
		// The leader is gone: whatever it left in its group is orphaned
		// sensor work, so end it and let the pipes reach EOF.
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		timeout := time.After(drainTimeout)
		for _, ch := range []chan struct{}{outDone, errDone} {
			select {
			case <-ch:
			case <-timeout:
			}
		}
		_, _ = outR.Close(), errR.Close()
		<-outDone
		<-errDone
		_ = errLog.Close()
		close(p.done)
	}()
	return p, nil
}

// stop sends SIGTERM to the process group, SIGKILL after grace, and waits
// until the leader is reaped (no zombie) and the pipes are closed.
func (p *process) stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.pid, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return
	case <-t.C:
	}
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	<-p.done
}
