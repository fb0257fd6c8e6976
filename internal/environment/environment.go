// Package environment is one Lambda execution environment: one runtime
// process and its own Runtime API endpoint, serving exactly one invocation at
// a time (docs/behaviour/runtime-api.md §7, docs/behaviour/invoke.md §5, §6, §11). It implements
// runtimeapi.Bridge: the runtime parks GET /next, Invoke hands it the event
// and waits for /response, /error, the deadline or the process exit.
package environment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lambada-dev/lambada/internal/logkey"
	"github.com/lambada-dev/lambada/internal/runtimeapi"
	"github.com/lambada-dev/lambada/internal/sandbox"
)

// Errors Invoke returns: the environment cannot take the invocation.
var (
	ErrBusy   = errors.New("environment is serving another invocation")
	ErrBroken = errors.New("environment is broken or closed")
)

// Spec is everything one environment needs to start.
type Spec struct {
	FunctionName, Version, Handler, Runtime string
	MemoryMB, TimeoutSec                    int
	// TaskRoot is the unpacked code directory (read-only); the working dir.
	TaskRoot string
	// OptDir is the merged tree of the function's layers (read-only), the
	// function's /opt; "" when it has none (docs/behaviour/layers.md §6).
	OptDir string
	// TmpDir is the environment's private writable /tmp (TMPDIR).
	TmpDir string
	// RuntimeDir is LAMBDA_RUNTIME_DIR; "" means /var/runtime.
	RuntimeDir string
	// Env holds the function's own variables; reserved keys are dropped.
	Env              map[string]string
	Region, LogGroup string
	// Command is what to exec; for provided.* [TaskRoot/bootstrap].
	Command []string
	// ExtraEnv holds lambada's additions (AWS_ENDPOINT_URL_LAMBDA,
	// credentials).
	ExtraEnv map[string]string
	// StreamRate caps a streamed response at this many bytes per second
	// after its first StreamFreeBytes, as AWS does (2 MB/s); 0 = no cap.
	StreamRate int64
	// Sandbox isolates the runtime process (sandbox.go); nil or mode none
	// starts it as a plain child in its own process group.
	Sandbox *sandbox.Host
	// EphemeralMB sizes the sandbox's /tmp (EphemeralStorage).
	EphemeralMB int
	// LogSink receives every line of the environment's log as it is read
	// (the runtime's output and the platform records); nil discards them.
	// Result.Log keeps only the newest KeepLogBytes of the output.
	LogSink LogSink
	// LogStream is AWS_LAMBDA_LOG_STREAM_NAME; "" makes one
	// (LogStreamName).
	LogStream string
	// LogFormat is LogFormatJSON or "" (Text); with JSON, AppLogLevel and
	// SystemLogLevel apply (docs/behaviour/logs.md §3).
	LogFormat, AppLogLevel, SystemLogLevel string
}

// StreamFreeBytes is how much of a streamed response AWS sends before its
// bandwidth cap applies.
const StreamFreeBytes = 6 << 20

// DefaultStreamRate is AWS's cap on a streamed response past
// StreamFreeBytes, in bytes per second (2 MB/s; --stream-rate).
const DefaultStreamRate = 2_000_000

// Request is one invocation.
type Request struct {
	ID            string
	Payload       []byte
	InvokedARN    string
	TraceID       string
	ClientContext string
	// Deadline overrides dispatch time + TimeoutSec when set.
	Deadline time.Time
	// NeedLog says the caller reads this invocation's log (Tail, log
	// mirroring): its lines are then drained exactly at its boundaries,
	// which costs two round trips through the output pipe. Without it the
	// log is best effort: output still in the pipe when the runtime asks
	// for the next invocation is counted with the next one.
	NeedLog bool
	// Stream, when set, receives the /response body as it arrives
	// (InvokeWithResponseStream): the body is never buffered, the size cap
	// is runtimeapi.MaxStreamedResponse and a mid-stream failure (error
	// trailers) becomes Result.FunctionError. When nil the body is buffered
	// into Result.Body.
	Stream Sink
}

// Sink receives a streamed response. Start is called once, when the
// runtime's /response POST begins, with its Content-Type ("" when none);
// Write is called with every piece of the body as it is read, never with
// an empty one. A Write error (the caller went away) does not stop the
// relay: the rest of the body is read and discarded so the function
// completes normally. Both are called from the runtime's request
// goroutine, possibly after the invocation timed out.
type Sink interface {
	Start(contentType string)
	Write(chunk []byte) error
}

// Result is how one invocation ended.
type Result struct {
	Body        []byte
	ContentType string
	// FunctionError is set for every Unhandled outcome (X-Amz-Function-Error).
	FunctionError *runtimeapi.FunctionError
	// InitDuration is set on the cold start only.
	InitDuration time.Duration
	Duration     time.Duration
	// Log is this invocation's log text, START … REPORT (docs/behaviour/invoke.md §6),
	// with the init output and the invocation's own output each cut to
	// their newest KeepLogBytes: enough for the 4 KB tail.
	Log []byte
	// Broken: the environment was killed and must be closed and replaced.
	Broken bool
}

// call is one dispatched (or waiting) invocation. Its fields are guarded by
// Env.mu.
type call struct {
	req      Request
	deadline time.Time
	dispatch time.Time
	end      time.Time // when the result was recorded
	cold     bool

	begun    bool // a /response or /error began: no second result
	reset    bool // the result requires a new process (docs/behaviour/streaming.md §6)
	timedOut bool // late answers get ErrInvalidRequestID
	done     chan struct{}
	result   Result
	idle     chan struct{} // closed when the runtime asked for the next invocation; made by Finish (nil: nobody waits)
	ready    chan struct{} // closed by Next once dispatch, deadline and prefix are set
	prefix   []byte        // log lines written before dispatch (init output)
	lines    []byte
	linesSet bool
	// startLogged: the START record went to the log sink (at dispatch).
	startLogged bool
	inv         runtimeapi.Invocation // what Next hands out
	// detached: the caller took the result and does not wait for the
	// idle phase (Pending.Detach); idled: the runtime asked for its next
	// invocation (or exited) after this one; finished: the END and REPORT
	// records of a detached call were written (or are not needed).
	detached, idled, finished bool
	// tail: the END and REPORT text of a detached call, built by Detach.
	tail []byte
}

// Env is one environment. Lock order: Env.mu only; logs.mu is taken without
// holding Env.mu.
type Env struct {
	spec Spec
	log  *slog.Logger

	ln         net.Listener
	serveStop  context.CancelFunc
	serveDone  chan struct{}
	cmd        *exec.Cmd
	startErr   error
	started    time.Time
	exited     chan struct{}
	exitErr    error
	maxRSSKB   int64 // ru_maxrss at exit: inflated by the fork, used only without a VmHWM sample
	logs       *logPipe
	box        *sandbox.Box // nil without a sandbox
	dispatchCh chan *call
	initFailed chan struct{}
	timer      *time.Timer  // the deadline of the invocation holding busy (Pending.t)
	lastResult atomic.Int64 // bytes of the last buffered result (Env.resultHint)

	mu        sync.Mutex
	initDone  bool
	initDur   time.Duration
	initErr   *runtimeapi.FunctionError
	hwmKB     int64 // largest VmHWM (or sandbox cgroup peak) sampled while the process ran
	oom       bool  // the sandbox's memory limit killed the runtime
	sampledAt time.Time
	coldUsed  bool
	cur       *call
	busy      bool
	broken    bool
	closed    bool
	closeOnce sync.Once
}

var _ runtimeapi.Bridge = (*Env)(nil)

// Start opens the Runtime API listener and starts the runtime process. It
// does not wait for init. A process that cannot be started is not an error
// here: the first Invoke reports Runtime.InvalidEntrypoint.
func Start(ctx context.Context, spec Spec, logger *slog.Logger) (*Env, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// Until the log pipe owns it, an early failure closes the sink here.
	closeSink := func() {
		if spec.LogSink != nil {
			spec.LogSink.Close()
		}
	}
	if len(spec.Command) == 0 {
		closeSink()
		return nil, errors.New("starting environment: empty command")
	}
	if spec.TimeoutSec <= 0 {
		spec.TimeoutSec = 3
	}
	logger = logger.With(logkey.Function, spec.FunctionName, logkey.Version, spec.Version)
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		closeSink()
		return nil, fmt.Errorf("starting environment: listening: %w", err)
	}
	var filter func([]byte) bool
	if spec.LogFormat == LogFormatJSON && (spec.Runtime == "" || strings.HasPrefix(spec.Runtime, "provided")) {
		filter = spec.appLevelDrops // the runtime has no level filter of its own
	}
	lp, err := newLogPipe(logger, spec.LogSink, filter)
	if err != nil {
		closeSink()
		ln.Close()
		return nil, fmt.Errorf("starting environment: %w", err)
	}
	// started is set before the Runtime API serves: Next reads it, and the
	// process's first request is no happens-before edge for the race detector.
	now := time.Now()
	e := &Env{
		spec: spec, log: logger, ln: ln, logs: lp, started: now,
		serveDone:  make(chan struct{}),
		exited:     make(chan struct{}),
		dispatchCh: make(chan *call),
		initFailed: make(chan struct{}),
	}
	if spec.LogStream == "" {
		spec.LogStream = LogStreamName(now, spec.Version)
		e.spec.LogStream = spec.LogStream
	}
	lp.record(recordOther, "", []byte(initStartLine(spec)))
	// As init output: the first invocation's tail shows it too.
	for _, line := range extensionLines(spec.OptDir) {
		_, _ = lp.w.Write([]byte(line))
	}
	cmd := &exec.Cmd{
		Path:        spec.Command[0],
		Args:        spec.Command,
		Dir:         spec.TaskRoot,
		Env:         buildEnv(spec, ln.Addr().String(), spec.LogStream),
		Stdout:      lp.w,
		Stderr:      lp.w,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	e.cmd = cmd
	start := cmd.Start
	if spec.Sandbox.Enabled() {
		start = e.boxed(now)
	}
	e.serve(ctx)
	if err := start(); err != nil {
		if _, execErr := err.(*os.PathError); e.box != nil && !execErr {
			// The sandbox failed, not the function: a platform error.
			e.serveStop()
			<-e.serveDone
			lp.close()
			return nil, fmt.Errorf("starting environment: %w", err)
		}
		e.startErr = err
		close(e.exited)
		return e, nil
	}
	go e.wait()
	return e, nil
}

// serve runs the Runtime API until serveStop. In a box with the
// RuntimeAPIPeer protection it answers only the box's own processes
// (docs/security.md "Runtime API isolation"): a connection from anyone
// else is reset, and said once at Warn. A connection is idle at most
// while the handler runs, so the idle timeout follows the function's.
func (e *Env) serve(ctx context.Context) {
	ln := e.ln
	if e.box != nil {
		var refused atomic.Int64
		ln = e.box.Guard(ln, func(remote net.Addr, uid int, err error) {
			lvl := slog.LevelDebug
			if refused.Add(1) == 1 {
				lvl = slog.LevelWarn
			}
			e.log.Log(context.Background(), lvl, "runtime API: connection from outside the environment refused",
				logkey.Remote, remote.String(), logkey.UID, uid, logkey.Err, err)
		})
	}
	srv := runtimeapi.NewServer(e, e.log)
	srv.Limits.IdleTimeout = time.Duration(e.spec.TimeoutSec)*time.Second + idleGrace
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.serveStop = cancel
	go func() {
		defer close(e.serveDone)
		if err := srv.Serve(sctx, ln); err != nil {
			e.log.Warn("runtime API stopped", logkey.Err, err)
		}
	}()
}

// idleGrace is how much longer than the function's timeout a Runtime API
// connection may stay idle.
const idleGrace = time.Minute

// wait reaps the process and records how it ended.
func (e *Env) wait() {
	err := e.cmd.Wait()
	var kb int64
	if ps := e.cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			kb = ru.Maxrss
		}
	}
	oom, peakKB := false, int64(0)
	if e.box != nil {
		e.box.Finish() // kills what is left, removes the cgroup
		oom, peakKB = e.box.OOMKilled(), e.box.PeakMemoryKB()
	}
	e.mu.Lock()
	e.exitErr = err
	e.oom = oom
	e.hwmKB = max(e.hwmKB, peakKB)
	if kb > e.maxRSSKB {
		e.maxRSSKB = kb
	}
	// A detached call whose runtime exited before asking for the next
	// invocation: its log ends here.
	c := e.cur
	fin := c != nil && c.detached && !c.finished
	if fin {
		c.finished = true
	}
	e.mu.Unlock()
	if fin {
		e.collectNow(c)
		e.finishDetached(c, true)
	}
	close(e.exited)
}

// Exited reports whether the runtime process has ended (or never started).
func (e *Env) Exited() bool {
	select {
	case <-e.exited:
		return true
	default:
		return false
	}
}

// killGroup SIGKILLs the runtime's whole process group.
func (e *Env) killGroup() {
	if e.startErr != nil || e.cmd.Process == nil {
		return
	}
	e.sampleMemory()
	if e.box != nil {
		e.box.Kill()
		return
	}
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
}

// Pid is the runtime process id, 0 when it never started.
func (e *Env) Pid() int {
	if e.startErr != nil || e.cmd.Process == nil {
		return 0
	}
	return e.cmd.Process.Pid
}

// Close kills the whole process group, waits for it, and stops the Runtime
// API endpoint and the log reader.
func (e *Env) Close() error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		e.closed, e.broken = true, true
		e.mu.Unlock()
		e.killGroup()
		<-e.exited
		e.serveStop()
		<-e.serveDone
		e.logs.close()
	})
	return nil
}

// Invoke runs one invocation to its end: Dispatch, Await and Finish. ctx
// bounds only the wait before dispatch: once dispatched, the invocation
// runs to completion (docs/behaviour/invoke.md §4). A Result with Broken
// set means the process is gone or killed.
func (e *Env) Invoke(ctx context.Context, req Request) (Result, error) {
	p, res, err := e.Dispatch(ctx, req)
	if p == nil {
		return res, err
	}
	if res, over := p.Await(); over {
		return res, nil
	}
	return p.Finish(), nil
}

// Pending is an invocation handed to the runtime. Its three phases run on
// the caller's goroutine: Dispatch (until the runtime's /next took it),
// Await (until its result, the deadline or the process exit) and then
// either Finish (until the runtime asks for the next invocation: the
// whole log) or Detach (the caller needs only the result; the log's END
// and REPORT are written when the runtime asks for its next invocation
// or exits). A Pending is used by one goroutine.
type Pending struct {
	e     *Env
	c     *call // &cv
	cv    call
	t     *time.Timer // the invocation's deadline
	freed bool        // Env.busy was cleared for this call
}

// Dispatch hands req to the runtime once it asks for it (its /next),
// waiting at most until req's deadline (a slow init may use all of it,
// docs/behaviour/runtime-api.md §7) or ctx's end. It returns the Pending
// invocation, or, when it ended before the runtime took it, its whole
// Result (the runtime failed its init, exited or timed out) or an error:
// ErrBusy, ErrBroken (the runtime died after an earlier invocation: this
// one belongs on a fresh environment), ctx.Err().
func (e *Env) Dispatch(ctx context.Context, req Request) (*Pending, Result, error) {
	if req.ID == "" {
		return nil, Result{}, errors.New("invoke: empty request id")
	}
	e.mu.Lock()
	if e.broken || e.closed {
		e.mu.Unlock()
		return nil, Result{}, ErrBroken
	}
	if e.busy {
		e.mu.Unlock()
		return nil, Result{}, ErrBusy
	}
	e.busy = true
	cold := !e.coldUsed
	e.coldUsed = true
	e.mu.Unlock()

	arrival := time.Now()
	p := &Pending{e: e, cv: call{req: req, cold: cold, done: make(chan struct{}), ready: make(chan struct{})}}
	c := &p.cv
	p.c = c
	if e.startErr != nil {
		ferr := runtimeapi.NewFunctionError("Runtime.InvalidEntrypoint",
			fmt.Sprintf("RequestId: %s Error: %v", req.ID, e.startErr))
		return nil, p.over(e.fail(c, arrival, ferr, "", nil)), nil
	}
	bound := req.Deadline
	if bound.IsZero() {
		bound = arrival.Add(time.Duration(e.spec.TimeoutSec) * time.Second)
	}
	// One timer per environment, reused: only the invocation holding
	// busy uses it, and over stops it before busy is cleared.
	if e.timer == nil {
		e.timer = time.NewTimer(time.Until(bound))
	} else {
		e.timer.Reset(time.Until(bound))
	}
	p.t = e.timer
	// A warm runtime is usually parked in /next already: it takes the
	// call at once, with the deadline set here (bound: now + timeout), and
	// the caller goes on to Await without waiting for Next's ready — one
	// goroutine hand-off less; the timer keeps bound (from the arrival,
	// microseconds before Next's deadline: Await moves it on). Otherwise
	// the timer is moved to Next's deadline here (the wait before dispatch
	// does not count).
	select {
	case e.dispatchCh <- c:
		return p, Result{}, nil
	default:
	}
	select {
	case e.dispatchCh <- c:
	case <-e.initFailed:
		e.mu.Lock()
		ferr := e.initErr
		e.mu.Unlock()
		e.killGroup()
		<-e.exited
		return nil, p.over(e.fail(c, arrival, ferr, "", e.logs.sync())), nil
	case <-e.exited:
		if !cold {
			e.mu.Lock()
			e.broken = true
			e.mu.Unlock()
			p.over(Result{})
			return nil, Result{}, ErrBroken
		}
		// Exit before the first next: Runtime.ExitError (or the init error
		// posted just before exiting).
		e.mu.Lock()
		ferr := e.initErr
		e.mu.Unlock()
		if ferr == nil {
			ferr = e.exitError(req.ID)
		}
		return nil, p.over(e.fail(c, arrival, ferr, "", e.logs.sync())), nil
	case <-p.t.C:
		e.killGroup()
		<-e.exited
		return nil, p.over(e.fail(c, arrival, e.timeoutError(req.ID), "timeout", e.logs.sync())), nil
	case <-ctx.Done():
		// Nothing was dispatched: the next invocation is still the cold one.
		e.mu.Lock()
		e.coldUsed = !cold
		e.mu.Unlock()
		p.over(Result{})
		return nil, Result{}, ctx.Err()
	}
	// Next closes ready right after taking c, before it answers the
	// runtime: this rarely waits.
	<-c.ready
	e.mu.Lock()
	deadline := c.deadline
	e.mu.Unlock()
	p.t.Reset(time.Until(deadline))
	return p, Result{}, nil
}

// over ends p's use of the environment: its timer stops and the
// environment may take the next invocation. It returns res.
func (p *Pending) over(res Result) Result {
	if p.t != nil {
		p.t.Stop()
	}
	if !p.freed {
		p.freed = true
		p.e.mu.Lock()
		p.e.busy = false
		p.e.mu.Unlock()
	}
	return res
}

// Await waits for the runtime's result. over reports that the invocation
// ended without one, or that the environment had to end it (deadline,
// process exit): res is then the whole Result, Broken set, and nothing of
// p is used further. Otherwise res has the result (Body, ContentType,
// FunctionError, Duration) and the caller goes on with Finish or Detach.
func (p *Pending) Await() (res Result, over bool) {
	e, c := p.e, p.c
wait:
	select {
	case <-c.done:
	case <-e.exited:
		<-c.ready // Next has set c up (a dispatch without waiting for ready)
		select {
		case <-c.done:
		default:
			e.mu.Lock()
			c.timedOut = true // the request id is no longer current
			e.mu.Unlock()
			return p.over(e.fail(c, c.dispatch, e.exitError(c.req.ID), "", e.logs.sync())), true
		}
	case <-p.t.C:
		<-c.ready
		e.mu.Lock()
		if d := time.Until(c.deadline); d > 0 {
			// Dispatched without waiting for ready: the timer ran from
			// the call's arrival, the deadline from Next's dispatch, a
			// few microseconds later.
			e.mu.Unlock()
			p.t.Reset(d)
			goto wait
		}
		late := false
		select {
		case <-c.done:
			late = true
		default:
			c.timedOut = true
		}
		e.mu.Unlock()
		if !late {
			e.killGroup()
			<-e.exited
			return p.over(e.fail(c, c.dispatch, e.timeoutError(c.req.ID), "timeout", e.logs.sync())), true
		}
		// The deadline passed with the result in: the idle phase has no
		// time left.
	}
	e.mu.Lock()
	res = c.result
	res.Duration = c.end.Sub(c.dispatch)
	e.mu.Unlock()
	return res, false
}

// Finish is the idle phase after Await: it waits until the runtime asks
// for the next invocation (the log of this one is then complete), exits,
// or the deadline passes, and returns the whole Result with its log.
func (p *Pending) Finish() Result {
	e, c := p.e, p.c
	defer p.over(Result{})
	// The result is in. Its log ends when the runtime asks for the next
	// invocation (Next collects the lines), exits, or the deadline passes.
	broken := false
	e.mu.Lock()
	reset := c.reset
	idle := c.idle
	if idle == nil {
		// Made only for a caller that waits for it; Next closes it (or
		// has already moved on: idled).
		idle = make(chan struct{})
		if c.idled {
			close(idle)
		}
		c.idle = idle
	}
	e.mu.Unlock()
	if reset {
		e.killGroup()
		<-e.exited
		broken = true
	} else {
		select {
		case <-idle:
		case <-e.exited:
			broken = true
		case <-p.t.C:
		}
	}
	lines := e.collect(c)
	e.mu.Lock()
	res := c.result
	if broken {
		e.broken = true
	}
	e.mu.Unlock()
	res.Broken = broken
	status := ""
	if res.FunctionError != nil && isPlatformError(res.FunctionError.Type) {
		status = res.FunctionError.Type
	}
	e.finish(c, &res, c.dispatch, c.end, status, lines)
	return res
}

// Free lets the environment take its next invocation while the caller
// still runs Finish on another goroutine (to read the whole log): Finish
// then waits on a timer of its own for the rest of the deadline.
func (p *Pending) Free() {
	e, c := p.e, p.c
	e.mu.Lock()
	deadline := c.deadline
	e.mu.Unlock()
	p.t.Stop()
	p.t = time.NewTimer(time.Until(deadline))
	if !p.freed {
		p.freed = true
		e.mu.Lock()
		e.busy = false
		e.mu.Unlock()
	}
}

// Detach ends the caller's part after a successful Await: the environment
// takes its next invocation at once (the next Dispatch waits for the
// runtime's /next), and this one's END and REPORT records are written
// when the runtime asks for the next invocation or exits, without a
// goroutine waiting for it. Result.Log is not built: use Finish to read
// the log. A result that needs a new process (Await's res from a
// cut-off stream) must be finished, not detached.
func (p *Pending) Detach() {
	e, c := p.e, p.c
	// END and REPORT are built here, on the caller's goroutine, not on
	// the runtime's way back to its next /next (which writes them).
	tail := e.detachedTail(c, false)
	e.mu.Lock()
	c.detached, c.tail = true, tail
	fin := c.idled && !c.finished
	if fin {
		c.finished = true
	}
	e.mu.Unlock()
	p.over(Result{})
	if fin && tail != nil {
		e.logs.record(recordEnd, c.req.ID, tail)
	}
}

// finishDetached writes the END and REPORT records of a detached call to
// the log sink (nothing without one: nobody reads them).
func (e *Env) finishDetached(c *call, broken bool) {
	if tail := e.detachedTail(c, broken); tail != nil {
		e.logs.record(recordEnd, c.req.ID, tail)
	}
}

// detachedTail is the END and REPORT text of a detached call, nil without
// a log sink.
func (e *Env) detachedTail(c *call, broken bool) []byte {
	if e.logs.sink == nil {
		return nil
	}
	e.mu.Lock()
	res := c.result
	if c.cold {
		res.InitDuration = e.initDur
	}
	e.mu.Unlock()
	res.Broken = broken
	res.Duration = c.end.Sub(c.dispatch)
	status := ""
	if res.FunctionError != nil && isPlatformError(res.FunctionError.Type) {
		status = res.FunctionError.Type
	}
	return e.tailRecords(c, &res, status)
}

// collect takes the log lines of c once (whoever comes first: Next or
// Invoke), after draining the output pipe.
func (e *Env) collect(c *call) []byte {
	e.mu.Lock()
	if c.linesSet {
		// Next collected them already (the usual order): no second pipe
		// round trip; later output stays in the pipe for the next call.
		defer e.mu.Unlock()
		return c.lines
	}
	e.mu.Unlock()
	b := e.logs.sync()
	e.mu.Lock()
	defer e.mu.Unlock()
	if !c.linesSet {
		c.lines, c.linesSet = b, true
	} else if len(b) > 0 {
		// Output after the collection point: keep it for the next one.
		e.logs.unread(b)
	}
	return c.lines
}

// collectNow takes c's lines from what the reader already has, without
// draining the pipe.
func (e *Env) collectNow(c *call) {
	b := e.logs.take()
	e.mu.Lock()
	defer e.mu.Unlock()
	if !c.linesSet {
		c.lines, c.linesSet = b, true
	} else if len(b) > 0 {
		e.logs.unread(b)
	}
}

// fail builds a Broken result with ferr and kills what is left.
func (e *Env) fail(c *call, start time.Time, ferr *runtimeapi.FunctionError, status string, lines []byte) Result {
	e.killGroup()
	e.mu.Lock()
	e.broken = true
	never := c.dispatch.IsZero()
	if never {
		// Never dispatched: all output was written during init.
		c.prefix, lines = append(c.prefix, lines...), nil
	}
	e.mu.Unlock()
	res := Result{FunctionError: ferr, Broken: true}
	if status == "" && ferr != nil {
		status = ferr.Type
	}
	if never && c.cold {
		e.logs.record(recordOther, "", []byte(initReportLine(e.spec, time.Since(e.started), status)))
	}
	end := time.Now()
	if status == "timeout" {
		// Report exactly the configured timeout, not the kill latency.
		if !c.dispatch.IsZero() {
			end = c.deadline
		}
	}
	e.finish(c, &res, start, end, status, lines)
	return res
}

func isPlatformError(t string) bool {
	return t == runtimeapi.ErrorTypeResponseTooLarge || t == runtimeapi.ErrorTypeInvalidResponseMode
}

// exitError is the Runtime.ExitError document for the process's exit.
func (e *Env) exitError(id string) *runtimeapi.FunctionError {
	<-e.exited
	e.mu.Lock()
	err, oom := e.exitErr, e.oom
	e.mu.Unlock()
	msg := "Runtime exited without providing a reason"
	if err != nil {
		msg = "Runtime exited with error: " + err.Error()
	}
	typ := "Runtime.ExitError"
	if oom {
		typ = "Runtime.OutOfMemory" // docs/behaviour/invoke.md §5
	}
	return runtimeapi.NewFunctionError(typ, "RequestId: "+id+" Error: "+msg)
}

func (e *Env) timeoutError(id string) *runtimeapi.FunctionError {
	return runtimeapi.NewFunctionError("Sandbox.Timedout",
		fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", id, float64(e.spec.TimeoutSec)))
}

// finish fills durations and the log text (START … REPORT) of res.
func (e *Env) finish(c *call, res *Result, start, end time.Time, status string, lines []byte) {
	e.mu.Lock()
	if c.cold && e.initDone {
		res.InitDuration = e.initDur
	} else if c.cold && e.cmd.Process != nil {
		res.InitDuration = time.Since(e.started)
	}
	prefix := c.prefix
	e.mu.Unlock()
	if start.IsZero() || end.Before(start) {
		start = end
	}
	res.Duration = end.Sub(start)
	startLine := e.startLine(c)
	tail := e.tailRecords(c, res, status)
	b := make([]byte, 0, len(prefix)+len(startLine)+len(lines)+len(tail))
	b = append(b, prefix...)
	b = append(b, startLine...)
	b = append(b, lines...)
	b = append(b, tail...)
	e.mu.Lock()
	logged := c.startLogged
	c.startLogged = true
	e.mu.Unlock()
	if !logged {
		e.logs.record(recordStart, c.req.ID, []byte(startLine))
	}
	e.logs.record(recordEnd, c.req.ID, tail)
	res.Log = b
}

// tailRecords is the text that ends c's log: the timeout line, END and
// REPORT (Text) or the platform.report record (JSON).
func (e *Env) tailRecords(c *call, res *Result, status string) []byte {
	var tail bytes.Buffer
	tail.Grow(256)
	if e.jsonFormat() {
		e.reportRecord(&tail, c, res, status)
	} else if status == "timeout" {
		fmt.Fprintf(&tail, "%s %s Task timed out after %.2f seconds\n",
			time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), c.req.ID, float64(e.spec.TimeoutSec))
	}
	if !e.jsonFormat() {
		e.reportLine(&tail, c, res, status)
	}
	return tail.Bytes()
}

// startLine is the START record of c ("" when the system level hides it).
func (e *Env) startLine(c *call) string {
	switch {
	case !e.spec.systemRecords():
		return ""
	case e.jsonFormat():
		return platformRecord("platform.start", map[string]string{"requestId": c.req.ID, "functionArn": c.req.InvokedARN, "version": e.spec.Version})
	}
	return "START RequestId: " + c.req.ID + " Version: " + e.spec.Version + "\n"
}

// reportRecord writes the JSON platform.report record of c.
func (e *Env) reportRecord(tail *bytes.Buffer, c *call, res *Result, status string) {
	if !e.spec.systemRecords() {
		return
	}
	metrics := map[string]any{
		"durationMs": ms(res.Duration), "billedDurationMs": int64((res.Duration + time.Millisecond - 1) / time.Millisecond),
		"memorySizeMB": e.spec.MemoryMB, "maxMemoryUsedMB": e.maxMemoryMB(),
	}
	if c.cold {
		metrics["initDurationMs"] = ms(res.InitDuration)
	}
	rec := map[string]any{"requestId": c.req.ID, "metrics": metrics, "status": "success"}
	switch status {
	case "":
		if res.FunctionError != nil {
			rec["status"] = "failure"
		}
	case "timeout":
		rec["status"] = "timeout"
	default:
		rec["status"], rec["errorType"] = "error", status
	}
	tail.WriteString(platformRecord("platform.report", rec))
}

// reportLine writes the Text END and REPORT lines of c.
func (e *Env) reportLine(tail *bytes.Buffer, c *call, res *Result, status string) {
	var a [32]byte
	ms := func(d time.Duration) []byte {
		return strconv.AppendFloat(a[:0], float64(d.Microseconds())/1000, 'f', 2, 64)
	}
	tail.WriteString("END RequestId: ")
	tail.WriteString(c.req.ID)
	tail.WriteString("\nREPORT RequestId: ")
	tail.WriteString(c.req.ID)
	tail.WriteString("\tDuration: ")
	tail.Write(ms(res.Duration))
	tail.WriteString(" ms\tBilled Duration: ")
	tail.Write(strconv.AppendInt(a[:0], int64((res.Duration+time.Millisecond-1)/time.Millisecond), 10))
	tail.WriteString(" ms\tMemory Size: ")
	tail.Write(strconv.AppendInt(a[:0], int64(e.spec.MemoryMB), 10))
	tail.WriteString(" MB\tMax Memory Used: ")
	tail.Write(strconv.AppendInt(a[:0], e.maxMemoryMB(), 10))
	tail.WriteString(" MB\t")
	if c.cold {
		tail.WriteString("Init Duration: ")
		tail.Write(ms(res.InitDuration))
		tail.WriteString(" ms\t")
	}
	switch status {
	case "":
	case "timeout":
		tail.WriteString("Status: timeout\t")
	default:
		tail.WriteString("Status: error\tError Type: ")
		tail.WriteString(status)
		tail.WriteByte('\t')
	}
	tail.WriteByte('\n')
}

// maxMemoryMB is the process's peak resident memory: VmHWM while it runs,
// the rusage of its exit after; in a sandbox, the peak of its memory
// cgroup. Where the cgroup enforces the limit the figure is capped at
// MemorySize, as AWS never reports more: the group's limit has a small
// allowance above it (sandbox.MemoryOverheadMB), and the kernel lets a
// process being OOM-killed charge a little past even that while it dies.
func (e *Env) maxMemoryMB() int64 {
	e.sampleMemoryEvery(memorySampleInterval)
	e.mu.Lock()
	defer e.mu.Unlock()
	kb := e.hwmKB
	if kb == 0 {
		kb = e.maxRSSKB
	}
	mb := (kb + 1023) / 1024
	if e.box != nil && e.spec.MemoryMB > 0 && e.spec.Sandbox.Active(sandbox.CgroupMemory) {
		mb = min(mb, int64(e.spec.MemoryMB))
	}
	return mb
}

// sampleMemory records the process's VmHWM while it is alive.
func (e *Env) sampleMemory() { e.sampleMemoryEvery(0) }

// memorySampleInterval bounds how often a warm environment reads
// /proc/<pid>/status: the kernel renders the whole file for each read,
// which costs tens of microseconds. VmHWM only grows, so a sample at most
// this old under-reports only growth within the interval.
const memorySampleInterval = 100 * time.Millisecond

// sampleMemoryEvery samples unless the last sample is younger than every.
func (e *Env) sampleMemoryEvery(every time.Duration) {
	pid := e.Pid()
	if pid <= 0 {
		return
	}
	select {
	case <-e.exited:
		return
	default:
	}
	if e.box != nil {
		// The sandbox's memory cgroup: one small counter, always current.
		if v := e.box.PeakMemoryKB(); v > 0 {
			e.mu.Lock()
			e.hwmKB = max(e.hwmKB, v)
			e.mu.Unlock()
			return
		}
	}
	now := time.Now()
	e.mu.Lock()
	fresh := every > 0 && now.Sub(e.sampledAt) < every
	if !fresh {
		e.sampledAt = now
	}
	e.mu.Unlock()
	if fresh {
		return
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return
	}
	v := parseKB(b, "VmHWM:")
	e.mu.Lock()
	if v > e.hwmKB {
		e.hwmKB = v
	}
	e.mu.Unlock()
}
