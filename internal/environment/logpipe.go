package environment

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/lambada-dev/lambada/internal/logkey"
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

// recordPrefix starts a platform record (START, END, REPORT, …) lambada
// writes into the same pipe, so that the sink sees it exactly between the
// runtime's lines that came before and after. It is followed by a kind
// byte (recordStart, recordEnd, recordOther), the request id, a tab and
// the record's text.
var recordPrefix = []byte("\x00lambada-log-rec-")

const (
	recordStart = 'S' // the request id's invocation begins
	recordEnd   = 'E' // … and ends
	recordOther = '-'
)

// logPipe is the runtime's stdout+stderr (one pipe, so their lines keep
// their order). The parent keeps the write end open so it can drain the
// pipe with markers.
type logPipe struct {
	r, w *os.File
	log  *slog.Logger
	done chan struct{}

	// sink receives every line as it is read (nil: none, and no platform
	// records are written).
	sink LogSink
	// quick: records may go to the sink directly (QuickSink).
	quick bool
	// filter, when set, drops runtime lines below the application log
	// level (set before the reader sees a line).
	filter func(line []byte) bool
	// cur is the request id of the invocation the lines being read belong
	// to, "" between invocations. The reader uses it while busy, a direct
	// record (deliver) while not, under mu.
	cur string

	// rc reads the pipe's read end without bufio: the reader's raw reads
	// (readRaw) and the emptiness check (pending) run under mu, so that a
	// record can skip the pipe when nothing is in it (direct).
	rc syscall.RawConn
	// The reader's last raw read (n bytes into rbuf, error rerr) and the
	// last pending check (avail bytes, error aerr): set by the callbacks
	// readFn and availFn, made once so that no read allocates.
	rbuf       []byte
	rn, avail  int
	rerr, aerr error
	readFn     func(fd uintptr) bool
	availFn    func(fd uintptr)

	mu  sync.Mutex
	buf tailBuf
	// busy: the reader took bytes from the pipe that it has not finished
	// handing out yet, or holds the start of a line whose end it has not
	// read. While busy, records go through the pipe.
	busy    bool
	seq     int
	waiters map[int]chan struct{}
}

// LogSink receives every line of an environment's log in order as the
// environment reads it: the runtime's output and lambada's platform
// records (INIT_START, START, END, REPORT, …). line ends in '\n' and is
// valid only during the call, at is when it was read, requestID the
// invocation it belongs to ("" for init output and output between
// invocations). Line is called from the environment's one reader
// goroutine; a sink that blocks slows only this environment's runtime (its
// writes wait on the full pipe), so it should block only boundedly. Close
// is called once, after the last Line, when the environment closes.
type LogSink interface {
	Line(line []byte, at time.Time, requestID string)
	Close()
}

// QuickSink is a LogSink whose Line does no I/O of its own on the way
// (it appends to memory, as the log store's writer does). When Quick
// reports true, platform records may be handed to it on the invocation's
// own path instead of through the output pipe and the reader (logPipe.
// records); a sink that writes each line out (the console) gets them from
// the reader only.
type QuickSink interface {
	LogSink
	Quick() bool
}

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

func newLogPipe(logger *slog.Logger, sink LogSink, filter func([]byte) bool) (*logPipe, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating output pipe: %w", err)
	}
	rc, err := r.SyscallConn()
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("creating output pipe: %w", err)
	}
	p := &logPipe{r: r, w: w, rc: rc, log: logger, sink: sink, filter: filter, done: make(chan struct{}), waiters: map[int]chan struct{}{},
		rbuf: make([]byte, readBytes)}
	if qs, ok := sink.(QuickSink); ok {
		p.quick = qs.Quick()
	}
	p.readFn, p.availFn = p.readRaw, p.pending
	go p.read()
	return p, nil
}

// readBytes is the most one read takes from the pipe (its default size).
const readBytes = 64 << 10

// readRaw is one non-blocking read of the pipe, under mu: the bytes it
// takes make the reader busy before anyone else can look at the pipe.
// It returns false when the pipe is empty (RawConn.Read then waits).
func (p *logPipe) readRaw(fd uintptr) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		// Raw: a read of a non-blocking pipe does not block, and the
		// scheduler need not hear of it (entersyscall may wake sysmon).
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p.rbuf[0])), uintptr(len(p.rbuf)))
		p.rn, p.rerr = int(n), nil
		if errno != 0 {
			p.rn, p.rerr = 0, errno
		}
		if errno != syscall.EINTR {
			break
		}
	}
	if p.rerr == syscall.EAGAIN {
		return false
	}
	if p.rn > 0 {
		p.busy = true
	}
	return true
}

// pending is how many bytes the pipe holds (FIONREAD); mu is held.
func (p *logPipe) pending(fd uintptr) {
	var n int32
	_, _, errno := syscall.RawSyscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	p.avail, p.aerr = int(n), nil
	if errno != 0 {
		p.aerr = errno
	}
}

// idle reports, with mu held, that every byte written to the pipe so far
// was read and handed out: the pipe is empty and the reader is not busy.
// What is written from now on is read after whatever the caller does
// before it unlocks mu.
func (p *logPipe) idle() bool {
	if p.busy {
		return false
	}
	if err := p.rc.Control(p.availFn); err != nil {
		return false
	}
	return p.aerr == nil && p.avail == 0
}

func (p *logPipe) read() {
	defer close(p.done)
	var line []byte // the start of a line whose end is not read yet
	for {
		err := p.rc.Read(p.readFn)
		n := p.rn
		if err != nil || p.rerr != nil || n <= 0 {
			// Closed, failed or at its end (every writer closed it).
			if len(line) > 0 {
				p.line(line)
			}
			return
		}
		chunk := p.rbuf[:n]
		for len(chunk) > 0 {
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				line = append(line, chunk...)
				if len(line) >= maxLineBytes {
					p.line(line)
					line = line[:0]
				}
				break
			}
			l := chunk[:i+1]
			chunk = chunk[i+1:]
			if len(line) > 0 {
				line = append(line, l...)
				l = line
			}
			p.line(l)
			line = line[:0]
		}
		p.mu.Lock()
		p.busy = len(line) > 0
		p.mu.Unlock()
	}
}

// line handles one line: a marker releases its waiter, anything else is
// the runtime's output.
func (p *logPipe) line(l []byte) {
	if i := bytes.Index(l, recordPrefix); i >= 0 {
		if i > 0 { // the runtime left a partial line
			p.line(append(l[:i:i], '\n'))
		}
		rest := l[i+len(recordPrefix):]
		if len(rest) < 2 {
			return
		}
		id, text, _ := bytes.Cut(rest[1:], []byte("\t"))
		p.deliver(rest[0], string(id), text)
		return
	}
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
		p.log.Debug("runtime output", logkey.Line, string(bytes.TrimRight(l, "\n")))
	}
	if p.filter != nil && p.filter(bytes.TrimRight(l, "\n")) {
		return
	}
	if p.sink != nil {
		p.sink.Line(l, time.Now(), p.cur)
	}
	p.mu.Lock()
	p.buf.write(l)
	p.mu.Unlock()
}

// deliver hands one record line to the sink (its text without the
// record's framing) and follows the invocation it marks: START makes its
// request id current, END ends it. Only the reader calls it while busy,
// direct records while not.
func (p *logPipe) deliver(kind byte, id string, text []byte) {
	if kind == recordStart && id != p.cur {
		p.cur = id
	}
	if p.sink != nil && string(text) != "\n" {
		p.sink.Line(text, time.Now(), id)
	}
	if kind == recordEnd {
		p.cur = ""
	}
}

// deliverRecords delivers the records of text as appendRecords frames
// them: one per line, the last with kind, the others recordOther.
func (p *logPipe) deliverRecords(kind byte, requestID string, text []byte) {
	text = recordText(kind, text)
	for len(text) > 0 {
		var line []byte
		var k byte
		line, text, k = nextRecordLine(text, kind)
		if line[len(line)-1] != '\n' {
			line = append(line[:len(line):len(line)], '\n')
		}
		p.deliver(k, requestID, line)
	}
}

// record writes platform records for the sink, one per line of text.
// Nothing is written without a sink.
func (p *logPipe) record(kind byte, requestID string, text []byte) {
	p.records(kind, requestID, text, 0, "", nil)
}

// records writes the records of text (kind, requestID) and then of text2
// (kind2, requestID2); an empty text2 with kind2 0 adds nothing. When the
// sink is quick and the pipe idle (the runtime's output so far is all
// handed out) they go to the sink at once, with nothing of the pipe able
// to come between: no pipe write and read, no wake-up of the reader (a
// sink that stalls, as the log store's writer does for a while when the
// store is far behind, then stalls this caller instead of the reader).
// Otherwise they go into the pipe in one write (atomic while under
// PIPE_BUF), so that the sink sees them exactly after the output written
// before them.
func (p *logPipe) records(kind byte, requestID string, text []byte, kind2 byte, requestID2 string, text2 []byte) {
	if p.sink == nil {
		return
	}
	p.mu.Lock()
	if p.quick && p.idle() {
		p.deliverRecords(kind, requestID, text)
		if kind2 != 0 {
			p.deliverRecords(kind2, requestID2, text2)
		}
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	n := recordsLen(kind, requestID, text)
	if kind2 != 0 {
		n += recordsLen(kind2, requestID2, text2)
	}
	if n == 0 {
		return
	}
	b := make([]byte, 0, n)
	b = appendRecords(b, kind, requestID, text)
	if kind2 != 0 {
		b = appendRecords(b, kind2, requestID2, text2)
	}
	_, _ = p.w.Write(b)
}

// recordText is what the records of text carry: an empty START or END is
// the request id's boundary alone, an empty other record nothing.
func recordText(kind byte, text []byte) []byte {
	if len(text) == 0 && kind != recordOther {
		return []byte("\n")
	}
	return text
}

// recordsLen is the size appendRecords adds.
func recordsLen(kind byte, requestID string, text []byte) int {
	n := 0
	for rest := recordText(kind, text); len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		rest = rest[len(line):]
		n += len(recordPrefix) + 1 + len(requestID) + 1 + len(line) + 1
	}
	return n
}

// nextRecordLine splits text's first line (with its newline, if any) from
// the rest: its record kind is kind when it is the last, else recordOther.
func nextRecordLine(text []byte, kind byte) (line, rest []byte, k byte) {
	line = text
	if i := bytes.IndexByte(text, '\n'); i >= 0 {
		line = text[:i+1]
	}
	rest = text[len(line):]
	k = recordOther
	if len(rest) == 0 {
		k = kind
	}
	return line, rest, k
}

// appendRecords appends one record per line of text; the last line gets
// kind (START/END mark the last line of their text), the others
// recordOther.
func appendRecords(b []byte, kind byte, requestID string, text []byte) []byte {
	text = recordText(kind, text)
	for len(text) > 0 {
		var line []byte
		var k byte
		line, text, k = nextRecordLine(text, kind)
		b = append(b, recordPrefix...)
		b = append(b, k)
		b = append(b, requestID...)
		b = append(b, '\t')
		b = append(b, line...)
		if line[len(line)-1] != '\n' {
			b = append(b, '\n')
		}
	}
	return b
}

// sync waits until everything written to the pipe so far was read, then
// takes the buffered output.
func (p *logPipe) sync() []byte {
	p.mu.Lock()
	if p.idle() {
		// Nothing in flight: no marker round trip.
		b := p.buf.take()
		p.mu.Unlock()
		return b
	}
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
	if p.sink != nil {
		p.sink.Close()
	}
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
