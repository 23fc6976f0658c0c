package runner

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"
)

// chunkSize is the unit in which output is read from the pipes and kept for
// the result. A Linux pipe holds 64 KiB by default, so a read rarely returns
// more.
const chunkSize = 64 << 10

// logBufSize is the write buffer of a log file: it merges the small reads of
// a chatty action into fewer write calls.
const logBufSize = 32 << 10

type chunk [chunkSize]byte

// Per-execution buffers come from pools: a worker runs thousands of short
// actions, and allocating the read, log and capture buffers afresh for each
// one made every execution cost ~200 KiB of garbage whatever it printed,
// which then paced the GC of every module sharing the process.
var (
	chunkPool  = sync.Pool{New: func() any { return new(chunk) }}
	logBufPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, logBufSize) }}
	// readBufPool holds *[]byte: a stream's read buffer, whose capacity
	// depends on the redaction holdback, so it is checked on reuse.
	readBufPool sync.Pool
)

// headBuffer keeps the first limit bytes written to it, in chunks taken only
// as output arrives, and counts the rest, so memory is bounded by the limit
// whatever the action prints and a quiet action costs nothing. Only the
// first chunk is pooled: it is all most actions need, while the rest of a
// large capture is left to the GC, because a pool keeps its contents live
// through the next collection, and twenty captures finishing together would
// otherwise keep tens of MiB reachable just when the worker serialises their
// results.
type headBuffer struct {
	limit  int64
	chunks []*chunk
	kept   int64
	total  int64
}

func (h *headBuffer) Write(p []byte) (int, error) {
	h.total += int64(len(p))
	for rest := p; len(rest) > 0 && h.kept < h.limit; {
		off := int(h.kept % chunkSize)
		if off == 0 {
			var c *chunk
			if len(h.chunks) == 0 {
				c = chunkPool.Get().(*chunk)
			} else {
				c = new(chunk)
			}
			h.chunks = append(h.chunks, c)
		}
		n := copy(h.chunks[len(h.chunks)-1][off:], rest[:min(int64(len(rest)), h.limit-h.kept)])
		h.kept += int64(n)
		rest = rest[n:]
	}
	return len(p), nil
}

// dropped is the number of bytes that did not fit.
func (h *headBuffer) dropped() int64 { return h.total - h.kept }

// String returns the kept bytes as valid UTF-8 (invalid sequences become
// U+FFFD), copied once into a string of exactly their size.
func (h *headBuffer) String() string {
	var b strings.Builder
	b.Grow(int(h.kept))
	rest := h.kept
	for _, c := range h.chunks {
		n := min(rest, chunkSize)
		b.Write(c[:n])
		rest -= n
	}
	s := b.String()
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// release returns the first chunk to the pool and drops the others; the
// buffer is empty afterwards.
func (h *headBuffer) release() {
	if len(h.chunks) > 0 {
		chunkPool.Put(h.chunks[0])
	}
	h.chunks, h.kept = nil, 0
}

// cappedLog is a log file that stops growing at limit bytes and records, in
// a trailer line, how much was dropped. The directory and file are created
// on the first byte: most actions print nothing on one stream or both, and
// on the filesystems we measured a mkdir or file create costs 0.2–0.4 ms of
// CPU each — more than the rest of the launch — so a quiet stream leaves no
// file behind and costs nothing.
type cappedLog struct {
	dir, path string
	f         *os.File      // nil until the first write
	w         *bufio.Writer // pooled; nil until the first write and once closed
	limit     int64
	written   int64
	drop      int64
	err       error // first create or write error; later writes are counted as dropped
}

// openCappedLog prepares dir/name. dir must not be an existing
// non-directory (checked now, with a stat, so a misconfigured log directory
// fails the launch rather than every later write); the file itself is
// created on the first write.
func openCappedLog(dir, name string, limit int64) (*cappedLog, error) {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("runner: create log dir %s: not a directory", dir)
	}
	l := &cappedLog{dir: dir, path: filepath.Join(dir, name), limit: limit}
	// An earlier attempt of the same execution (re-dispatched after its
	// worker was lost) may have left this file; it must not pass for this
	// attempt's output. Removing a file that is not there costs a lookup.
	if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("runner: remove old log file %s: %w", l.path, err)
	}
	return l, nil
}

// create makes the directory (0700) and the file (0600, truncated).
func (l *cappedLog) create() error {
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return fmt.Errorf("create log dir %s: %w", l.dir, err)
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	l.f = f
	l.w = logBufPool.Get().(*bufio.Writer)
	l.w.Reset(f)
	return nil
}

// created reports whether the file exists (something was written).
func (l *cappedLog) created() bool { return l.f != nil }

func (l *cappedLog) Write(p []byte) (int, error) {
	room := l.limit - l.written
	n := int(max(0, min(room, int64(len(p)))))
	if n > 0 && l.err == nil && l.f == nil {
		l.err = l.create()
	}
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

// close writes the truncation trailer, flushes and closes the file, and
// returns the write buffer to its pool. A log never written has no file.
func (l *cappedLog) close() error {
	if l.w != nil {
		if l.drop > 0 && l.err == nil {
			_, l.err = fmt.Fprintf(l.w, "\n[attune: log truncated at %d bytes, %d bytes dropped]\n", l.limit, l.drop)
		}
		if err := l.w.Flush(); err != nil && l.err == nil {
			l.err = err
		}
		// Reset drops the file and any unflushed bytes, so the pooled
		// writer holds nothing of this execution.
		l.w.Reset(nil)
		logBufPool.Put(l.w)
		l.w = nil
		if err := l.f.Close(); err != nil && l.err == nil {
			l.err = err
		}
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
	// sinks fans redacted bytes out to head and log.
	sinks sinkPair
}

// sinkPair writes to the result buffer and, when set, the log file. Neither
// fails, so neither error is checked.
type sinkPair struct {
	head *headBuffer
	log  *cappedLog
}

func (s *sinkPair) Write(p []byte) (int, error) {
	_, _ = s.head.Write(p)
	if s.log != nil {
		_, _ = s.log.Write(p)
	}
	return len(p), nil
}

// sinksFull reports whether neither the result buffer nor the log file can
// take another byte.
func (s *stream) sinksFull() bool {
	return s.head.total >= s.head.limit && (s.log == nil || s.log.written >= s.log.limit)
}

func newStream(red *Redactor, limit int64, log *cappedLog) *stream {
	s := &stream{head: headBuffer{limit: limit}, log: log}
	s.sinks = sinkPair{head: &s.head, log: log}
	s.rw = newRedactWriter(red, &s.sinks)
	return s
}

// pump copies r into the stream until EOF or a read deadline, then flushes
// the redaction holdback. It reads fixed-size chunks, not lines, so one huge
// line without a newline cannot grow memory. Reads land directly behind the
// redaction holdback, so no byte is copied before it reaches a sink.
func (s *stream) pump(r *os.File) {
	s.rw.attachReadBuffer()
	for {
		n, err := r.Read(s.rw.readSpace())
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
			_ = s.rw.commit(n) // sinks never fail
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
func (s *stream) text() string { return s.head.String() }

// release returns the stream's pooled buffers. Call it once the result has
// been built (text copies what it returns) and never use the stream again.
func (s *stream) release() {
	s.head.release()
	s.rw.releaseReadBuffer()
}
