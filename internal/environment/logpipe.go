package environment

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"
)

// KeepLogBytes is how much of an invocation's own output (and of its init
// output) an environment keeps for Result.Log: the newest bytes, at least
// the 4 KB that LogType Tail returns (docs/behaviour/invoke.md §6). The
// whole output goes to the Spec's LogSink as it is read.
const KeepLogBytes = 4 << 10

const (
	// maxLineBytes splits longer lines so one line cannot grow unbounded.
	maxLineBytes = 256 << 10
	// syncTimeout bounds a pipe drain; only a wedged reader would hit it.
	syncTimeout = 2 * time.Second
)

// markerPrefix starts a drain marker lambada writes into the runtime's own
// output pipe: every byte the runtime wrote before is read before it.
var markerPrefix = []byte("\x00lambada-log-sync-")

// logPipe is the runtime's stdout+stderr (one pipe, so their lines keep
// their order). The parent keeps the write end open so it can drain the
// pipe with markers.
type logPipe struct {
	r, w *os.File
	log  *slog.Logger
	done chan struct{}

	// sink receives every line as it is read (never nil).
	sink LogSink

	mu      sync.Mutex
	buf     tailBuf
	seq     int
	waiters map[int]chan struct{}
}

// LogSink receives every line the runtime writes, in order, as the
// environment reads it: line ends in '\n' and is valid only during the
// call, at is when it was read. Line is called from the environment's one
// reader goroutine and must not block: a sink that cannot keep up drops
// or buffers (boundedly) on its own; the reader never waits for it.
type LogSink interface {
	Line(line []byte, at time.Time)
}

type discardSink struct{}

func (discardSink) Line([]byte, time.Time) {}

// tailBuf keeps the newest KeepLogBytes of what is written to it. Writing
// costs time linear in the bytes written: the kept bytes move to the front
// only when the buffer is twice their size.
type tailBuf struct{ b []byte }

func (t *tailBuf) write(p []byte) {
	if len(p) >= KeepLogBytes {
		t.b = append(t.b[:0], p[len(p)-KeepLogBytes:]...)
		return
	}
	t.b = append(t.b, p...)
	if len(t.b) >= 2*KeepLogBytes {
		t.b = t.b[:copy(t.b, t.b[len(t.b)-KeepLogBytes:])]
	}
}

// take returns the kept bytes (at most KeepLogBytes) and empties t.
func (t *tailBuf) take() []byte {
	b := t.b
	t.b = nil
	if len(b) > KeepLogBytes {
		b = b[len(b)-KeepLogBytes:]
	}
	return b
}

// unread puts b back in front of what t holds.
func (t *tailBuf) unread(b []byte) {
	rest := t.b
	t.b = nil
	t.write(b)
	t.write(rest)
}

func newLogPipe(logger *slog.Logger, sink LogSink) (*logPipe, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating output pipe: %w", err)
	}
	if sink == nil {
		sink = discardSink{}
	}
	p := &logPipe{r: r, w: w, log: logger, sink: sink, done: make(chan struct{}), waiters: map[int]chan struct{}{}}
	go p.read()
	return p, nil
}

func (p *logPipe) read() {
	defer close(p.done)
	br := bufio.NewReaderSize(p.r, 64<<10)
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull && len(line) < maxLineBytes {
			continue
		}
		if len(line) > 0 {
			p.line(line)
			line = line[:0]
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// line handles one line: a marker releases its waiter, anything else is
// the runtime's output.
func (p *logPipe) line(l []byte) {
	if i := bytes.Index(l, markerPrefix); i >= 0 {
		rest := bytes.TrimRight(l[i+len(markerPrefix):], "\n")
		n, _ := strconv.Atoi(string(rest))
		if i > 0 { // the runtime left a partial line
			p.line(append(l[:i:i], '\n'))
		}
		p.mu.Lock()
		if ch, ok := p.waiters[n]; ok {
			close(ch)
			delete(p.waiters, n)
		}
		p.mu.Unlock()
		return
	}
	if l[len(l)-1] != '\n' {
		l = append(l, '\n')
	}
	if p.log.Enabled(context.Background(), slog.LevelDebug) {
		p.log.Debug("runtime output", "line", string(bytes.TrimRight(l, "\n")))
	}
	p.sink.Line(l, time.Now())
	p.mu.Lock()
	p.buf.write(l)
	p.mu.Unlock()
}

// sync waits until everything written to the pipe so far was read, then
// takes the buffered output.
func (p *logPipe) sync() []byte {
	p.mu.Lock()
	p.seq++
	n := p.seq
	ch := make(chan struct{})
	p.waiters[n] = ch
	p.mu.Unlock()
	if _, err := fmt.Fprintf(p.w, "%s%d\n", markerPrefix, n); err == nil {
		t := time.NewTimer(syncTimeout)
		select {
		case <-ch:
		case <-p.done:
		case <-t.C:
		}
		t.Stop()
	}
	p.mu.Lock()
	delete(p.waiters, n)
	b := p.buf.take()
	p.mu.Unlock()
	return b
}

// take returns what the reader has buffered so far without waiting for
// bytes still in the pipe: for invocations whose log nobody reads.
func (p *logPipe) take() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.take()
}

// unread puts b back in front of the buffered output.
func (p *logPipe) unread(b []byte) {
	p.mu.Lock()
	p.buf.unread(b)
	p.mu.Unlock()
}

// close stops the reader; a child that escaped the process group and still
// holds the pipe cannot keep it alive.
func (p *logPipe) close() {
	p.w.Close()
	t := time.NewTimer(time.Second)
	select {
	case <-p.done:
	case <-t.C:
	}
	t.Stop()
	p.r.Close()
	<-p.done
}

func parseKB(status []byte, key string) int64 {
	for _, l := range bytes.Split(status, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(l, []byte(key)); ok {
			f := bytes.Fields(rest)
			if len(f) > 0 {
				v, _ := strconv.ParseInt(string(f[0]), 10, 64)
				return v
			}
		}
	}
	return 0
}

func itoa(n int) string { return strconv.Itoa(n) }
