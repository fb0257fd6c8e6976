package server

import (
	"io"
	"sync"
	"time"

	"github.com/lambada-dev/lambada/internal/environment"
	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/logstore"
)

// Values of --function-logs.
const (
	FunctionLogsStdout = "stdout"
	FunctionLogsOff    = "off"
)

// functionLogs sends each environment's log to the log store and the
// console (docs/behaviour/logs.md §1, §6).
type functionLogs struct {
	store   *logstore.Store // nil: not stored
	console *console        // nil: not printed
}

func (f *functionLogs) Open(cfg *function.Config, stream string) environment.LogSink {
	if f.store == nil && f.console == nil {
		return nil // no sink: no platform records in the output pipe
	}
	l := &envLog{name: cfg.Name, console: f.console}
	if f.store != nil {
		l.w = f.store.Writer(cfg.LogGroupName(), stream)
	}
	return l
}

// envLog is one environment's sink.
type envLog struct {
	name    string
	w       *logstore.Writer
	console *console
	buf     []byte // the console line being built; only the reader uses it
}

func (l *envLog) Line(line []byte, at time.Time, requestID string) {
	if l.w != nil {
		l.w.Line(line, at)
	}
	if l.console != nil {
		// [function request-id] line, as sam local prefixes its output.
		l.buf = append(l.buf[:0], '[')
		l.buf = append(l.buf, l.name...)
		if requestID != "" {
			l.buf = append(l.buf, ' ')
			l.buf = append(l.buf, requestID...)
		}
		l.buf = append(l.buf, "] "...)
		l.buf = append(l.buf, line...)
		l.console.write(l.buf)
	}
}

// Quick: without the console a line only goes to the log store writer's
// batch in memory, so the environment may hand it platform records on
// the invocation's path (environment.QuickSink).
func (l *envLog) Quick() bool { return l.console == nil }

func (l *envLog) Close() {
	if l.w != nil {
		l.w.Close()
	}
}

// console serializes whole lines onto one writer.
type console struct {
	mu sync.Mutex
	w  io.Writer
}

func (c *console) write(b []byte) {
	c.mu.Lock()
	_, _ = c.w.Write(b)
	c.mu.Unlock()
}
