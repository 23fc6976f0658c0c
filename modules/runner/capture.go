package runner

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// headBuffer keeps the first limit bytes written to it and counts the rest,
// so memory is bounded by the limit whatever the action prints.
type headBuffer struct {
	limit int64
	buf   []byte
	total int64
}

func (h *headBuffer) Write(p []byte) (int, error) {
	h.total += int64(len(p))
	room := h.limit - int64(len(h.buf))
	if room <= 0 {
		return len(p), nil
	}
	n := int(min(room, int64(len(p))))
	if len(h.buf)+n > cap(h.buf) {
		// Grow geometrically but never past the limit.
		nc := int(min(h.limit, int64(max(2*cap(h.buf), len(h.buf)+n, 4096))))
		nb := make([]byte, len(h.buf), nc)
		copy(nb, h.buf)
		h.buf = nb
	}
	h.buf = append(h.buf, p[:n]...)
	return len(p), nil
}

// dropped is the number of bytes that did not fit.
func (h *headBuffer) dropped() int64 { return h.total - int64(len(h.buf)) }

// cappedLog is a log file that stops growing at limit bytes and records, in
// a trailer line, how much was dropped.
type cappedLog struct {
	path    string
	f       *os.File
	w       *bufio.Writer
	limit   int64
	written int64
	drop    int64
	err     error // first write error; later writes are counted as dropped
}

func openCappedLog(dir, name string, limit int64) (*cappedLog, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("runner: create log dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("runner: open log file %s: %w", path, err)
	}
	return &cappedLog{path: path, f: f, w: bufio.NewWriterSize(f, 32<<10), limit: limit}, nil
}

func (l *cappedLog) Write(p []byte) (int, error) {
	room := l.limit - l.written
	n := int(max(0, min(room, int64(len(p)))))
	if n > 0 && l.err == nil {
		if _, err := l.w.Write(p[:n]); err != nil {
			l.err = err
		}
	}
	l.written += int64(n)
	l.drop += int64(len(p) - n)
	// A full disk must not fail the action: the result still carries the
	// capped output, and close reports the log error.
	return len(p), nil
}

// close writes the truncation trailer, flushes and closes the file.
func (l *cappedLog) close() error {
	if l.drop > 0 && l.err == nil {
		_, l.err = fmt.Fprintf(l.w, "\n[attune: log truncated at %d bytes, %d bytes dropped]\n", l.limit, l.drop)
	}
	if err := l.w.Flush(); err != nil && l.err == nil {
		l.err = err
	}
	if err := l.f.Close(); err != nil && l.err == nil {
		l.err = err
	}
	if l.err != nil {
		return fmt.Errorf("runner: write log file %s: %w", l.path, l.err)
	}
	return nil
}

// stream is one captured output stream: pipe → redaction → (result buffer,
// log file). Redaction runs before the caps, so a cap can never cut a secret
// in half and leak its prefix.
type stream struct {
	head headBuffer
	log  *cappedLog // nil without LogDir
	rw   *redactWriter
	err  error // read error other than EOF, set by pump
	// bypass is set once every sink is full: the rest of the stream is
	// only counted, so a log flood costs no redaction CPU.
	bypass bool
}

// sinksFull reports whether neither the result buffer nor the log file can
// take another byte.
func (s *stream) sinksFull() bool {
	return s.head.total >= s.head.limit && (s.log == nil || s.log.written >= s.log.limit)
}

func newStream(red *Redactor, limit int64, log *cappedLog) *stream {
	s := &stream{head: headBuffer{limit: limit}, log: log}
	var sink io.Writer = &s.head
	if log != nil {
		sink = io.MultiWriter(&s.head, log)
	}
	s.rw = newRedactWriter(red, sink)
	return s
}

// pump copies r into the stream until EOF or a read deadline, then flushes
// the redaction holdback. It reads fixed-size chunks, not lines, so one huge
// line without a newline cannot grow memory.
func (s *stream) pump(r *os.File) {
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 && !s.bypass && s.sinksFull() {
			_ = s.rw.Flush() // held-back bytes are dropped and counted
			s.bypass = true
		}
		switch {
		case n == 0:
		case s.bypass:
			// Dropped bytes past this point are raw, not redacted, bytes.
			s.head.total += int64(n)
			if s.log != nil {
				s.log.drop += int64(n)
			}
		default:
			_, _ = s.rw.Write(buf[:n]) // sinks never fail
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				s.err = err
			}
			break
		}
	}
	_ = s.rw.Flush()
}

// text returns the captured output as valid UTF-8.
func (s *stream) text() string { return validUTF8(s.head.buf) }
