package environment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/lambada-dev/lambada/internal/logkey"
	"github.com/lambada-dev/lambada/internal/runtimeapi"
)

// Next implements runtimeapi.Bridge.
func (e *Env) Next(ctx context.Context) (*runtimeapi.Invocation, error) {
	e.mu.Lock()
	if !e.initDone {
		e.initDone = true
		e.initDur = time.Since(e.started)
	}
	prev := e.cur
	var tail []byte // END and REPORT of prev, not written yet
	var tailID string
	if prev != nil {
		select {
		case <-prev.done:
		default:
			e.mu.Unlock()
			return nil, runtimeapi.ErrInvalidStateTransition
		}
	}
	e.mu.Unlock()
	if prev != nil {
		if prev.req.NeedLog {
			e.collect(prev)
		} else {
			// Nobody reads this log: no pipe round trip on the hot path;
			// output still in flight goes to the next invocation's lines.
			e.collectNow(prev)
		}
		e.mu.Lock()
		fin := false
		if e.cur == prev {
			e.cur = nil
			if prev.idle != nil {
				close(prev.idle)
			}
			prev.idled = true
			fin = prev.detached && !prev.finished
			if fin {
				prev.finished = true
				tail = prev.tail
			}
		}
		e.mu.Unlock()
		if prev.cold && e.box != nil {
			// The cold start is over: the sandbox may prepare the next one.
			e.box.Ready()
		}
		if fin {
			// Its caller was answered long ago: END and REPORT go before
			// the next invocation's START, in the same write when that
			// one is already waiting.
			tailID = prev.req.ID
		}
	}
	flush := func() {
		if tail != nil {
			e.logs.record(recordEnd, tailID, tail)
			tail = nil
		}
	}

	var c *call
	select {
	case c = <-e.dispatchCh:
	default:
		flush()
		select {
		case c = <-e.dispatchCh:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if c.cold || c.req.NeedLog {
		flush() // before the drain below
	}
	// Init output belongs before the cold invocation's START; on a warm
	// environment whatever was written since the last collection simply
	// stays in the pipe for this invocation's lines, so the hot path skips
	// the pipe round trip.
	var prefix []byte
	switch {
	case c.cold && c.req.NeedLog:
		prefix = e.logs.sync()
	case c.cold:
		// Nobody reads this log: the init output the reader has so far,
		// without the pipe round trip (a goroutine hand-off on the cold
		// start's path); the sink gets every line in order either way.
		prefix = e.logs.take()
	case c.req.NeedLog:
		// Output since the last collection belongs to invocations whose
		// log nobody read, not to this one.
		_ = e.logs.sync()
	}
	timeout := time.Duration(e.spec.TimeoutSec) * time.Second
	e.mu.Lock()
	now := time.Now()
	c.dispatch = now
	c.deadline = now.Add(timeout)
	if !c.req.Deadline.IsZero() {
		c.deadline = c.req.Deadline
	}
	c.prefix = prefix
	c.startLogged = true
	e.cur = c
	inv := &c.inv
	*inv = runtimeapi.Invocation{
		RequestID:          c.req.ID,
		Deadline:           c.deadline,
		InvokedFunctionARN: c.req.InvokedARN,
		TraceID:            c.req.TraceID,
		ClientContext:      c.req.ClientContext,
		Payload:            c.req.Payload,
		ResponseLimit:      runtimeapi.MaxBufferedResponse,
	}
	if c.req.Stream != nil {
		inv.ResponseLimit = runtimeapi.MaxStreamedResponse
	}
	e.mu.Unlock()
	// START goes into the pipe before the runtime has the event: the
	// runtime's output for it comes after.
	if e.logs.sink != nil {
		start := e.startLine(c)
		if tail != nil {
			e.logs.records(recordEnd, tailID, tail, recordStart, c.req.ID, []byte(start))
		} else {
			e.logs.record(recordStart, c.req.ID, []byte(start))
		}
	}
	close(c.ready)
	return inv, nil
}

// begin returns the call id refers to and marks its result as begun.
func (e *Env) begin(id string) (*call, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.cur
	if c == nil || c.req.ID != id || c.timedOut {
		return nil, runtimeapi.ErrInvalidRequestID
	}
	if c.begun {
		return nil, runtimeapi.ErrInvalidStateTransition
	}
	c.begun = true
	return c, nil
}

// complete records c's result unless it timed out meanwhile.
func (e *Env) complete(c *call, r Result) error {
	e.mu.Lock()
	if c.timedOut {
		e.mu.Unlock()
		return runtimeapi.ErrInvalidRequestID
	}
	c.result = r
	c.end = time.Now()
	// Wakes the caller waiting in Pending.Await: the one hand-off from
	// the runtime's request to the caller's.
	close(c.done)
	e.mu.Unlock()
	return nil
}

// Respond implements runtimeapi.Bridge: the body is buffered.
func (e *Env) Respond(ctx context.Context, requestID string, resp *runtimeapi.Response) error {
	c, err := e.begin(requestID)
	if err != nil {
		return err
	}
	if c.req.Stream != nil {
		return e.relay(c, resp)
	}
	body, rerr := readResult(resp.Body, e.resultHint(resp.Size))
	e.lastResult.Store(int64(len(body)))
	switch {
	case len(body) == 0:
		body = nil
	case cap(body) > 4*len(body)+4096:
		body = bytes.Clone(body) // much smaller than the hint
	}
	return e.settle(c, resp, rerr, runtimeapi.MaxBufferedResponse, body)
}

// resultHint is the size a /response body is expected to have: its
// declared length, else the size of this environment's last result,
// within the limit.
func (e *Env) resultHint(declared int64) int {
	n := declared
	if n < 0 {
		n = e.lastResult.Load()
	}
	return int(min(n, runtimeapi.MaxBufferedResponse+1))
}

// firstResultRead caps the buffer a result starts in, so that a small
// answer never takes a buffer of a large hint's size.
const firstResultRead = 32 << 10

// readResult reads r to its end. aws-lambda-go sends results chunked, so
// a buffer grown from nothing doubles its way up (for 5 MB: 15
// allocations, 8 MB allocated and cleared, 5 MB copied in between). This
// one starts small and, once full, grows straight to hint (a function's
// answers are mostly alike in size), then doubles: a large result takes
// one large allocation and no large copy, a small one no large allocation.
func readResult(r io.Reader, hint int) ([]byte, error) {
	b := make([]byte, 0, min(hint, firstResultRead)+bytes.MinRead)
	for {
		if cap(b)-len(b) < bytes.MinRead {
			b = slices.Grow(b, max(hint+bytes.MinRead, 2*cap(b))-len(b))
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		switch {
		case err == io.EOF:
			return b, nil
		case err != nil:
			return b, err
		}
	}
}

// settle completes c from how its /response body ended: the size cap, a
// cut-off body, the trailers' mid-stream failure, or success with body.
//
// A cut-off buffered body leaves the outcome to the runtime's exit, which
// follows (a runtime whose POST failed gives up). A cut-off stream has
// already reached the caller in part: when the process does not exit at
// once, the stream ends with Runtime.TruncatedResponse and the process is
// replaced (docs/behaviour/streaming.md §6).
func (e *Env) settle(c *call, resp *runtimeapi.Response, rerr error, limit int64, body []byte) error {
	streamed := c.req.Stream != nil
	switch {
	case errors.Is(rerr, runtimeapi.ErrResponseTooLarge):
		e.mu.Lock()
		c.reset = streamed
		e.mu.Unlock()
		_ = e.complete(c, Result{FunctionError: runtimeapi.NewFunctionError(runtimeapi.ErrorTypeResponseTooLarge,
			fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", limit))})
		return rerr
	case errors.Is(rerr, runtimeapi.ErrTruncated) && streamed:
		select {
		case <-e.exited:
			return rerr // Runtime.ExitError says more
		case <-time.After(exitGrace):
		}
		e.mu.Lock()
		c.reset = true
		e.mu.Unlock()
		_ = e.complete(c, Result{FunctionError: runtimeapi.NewFunctionError(ErrorTypeTruncatedResponse,
			fmt.Sprintf("RequestId: %s Error: the runtime's response stream was cut off before its end", c.req.ID))})
		return rerr
	case rerr != nil:
		return rerr
	}
	if ferr := resp.TrailerError(); ferr != nil {
		return e.complete(c, Result{FunctionError: ferr, ContentType: resp.ContentType})
	}
	return e.complete(c, Result{Body: body, ContentType: resp.ContentType})
}

// ErrorTypeTruncatedResponse ends a stream whose /response body was cut
// off while the runtime lived on (docs/behaviour/streaming.md §6, a lambada Decision).
const ErrorTypeTruncatedResponse = "Runtime.TruncatedResponse"

// exitGrace is how long a cut-off body waits for the runtime's exit, which
// explains it better than the truncation.
const exitGrace = 100 * time.Millisecond

// MaxStreamChunk caps one piece handed to a Sink (a PayloadChunk event).
const MaxStreamChunk = 64 << 10

// relay forwards a /response body to c's sink read by read, then reports
// the outcome: success, the trailers' mid-stream failure, or the size cap.
// Past StreamFreeBytes it paces the runtime's body at Spec.StreamRate. A
// caller that went away stops the pacing, not the function: the body is
// drained so the invocation ends normally and the environment stays warm.
func (e *Env) relay(c *call, resp *runtimeapi.Response) error {
	sink := c.req.Stream
	sink.Start(resp.ContentType)
	buf := make([]byte, MaxStreamChunk)
	pace := newPacer(e.spec.StreamRate)
	gone := false
	var rerr error
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 && !gone {
			if werr := sink.Write(buf[:n]); werr != nil {
				gone = true
				e.log.Info("stream caller went away; draining the function's response",
					logkey.Function, e.spec.FunctionName, logkey.Version, e.spec.Version, logkey.RequestID, c.req.ID)
			} else {
				pace.wait(n)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
	}
	return e.settle(c, resp, rerr, runtimeapi.MaxStreamedResponse, nil)
}

// Fail implements runtimeapi.Bridge.
func (e *Env) Fail(ctx context.Context, requestID string, ferr *runtimeapi.FunctionError) error {
	c, err := e.begin(requestID)
	if err != nil {
		return err
	}
	return e.complete(c, Result{FunctionError: ferr})
}

// InitError implements runtimeapi.Bridge.
func (e *Env) InitError(ctx context.Context, ferr *runtimeapi.FunctionError) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.initDone || e.initErr != nil {
		return runtimeapi.ErrInvalidStateTransition
	}
	e.initErr = ferr
	close(e.initFailed)
	return nil
}

// pacer holds a stream to rate bytes per second once StreamFreeBytes have
// passed.
type pacer struct {
	rate  int64
	sent  int64
	start time.Time // when the free allowance was used up
}

func newPacer(rate int64) *pacer { return &pacer{rate: rate} }

func (p *pacer) wait(n int) {
	if p.rate <= 0 {
		return
	}
	p.sent += int64(n)
	over := p.sent - StreamFreeBytes
	if over <= 0 {
		return
	}
	if p.start.IsZero() {
		p.start = time.Now()
	}
	due := p.start.Add(time.Duration(float64(over) / float64(p.rate) * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
}
