// Package frontdoor bounds what a client can make the server hold while it
// sends a request body or reads an answer (docs/security.md, "HTTP front
// door"): a deadline for each body proportional to its size, a server-wide
// budget of body bytes in memory, and the answer's write deadline. The
// Lambda API and the function URL data plane read their bodies through one
// Door, so they share the budget.
package frontdoor

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
)

// Defaults of the limits.
const (
	// DefaultBodyBudget bounds the bytes of request bodies all requests
	// hold in memory at once.
	DefaultBodyBudget = 512 << 20
	// DefaultBodyTimeout is the time every body gets before the minimum
	// rate applies.
	DefaultBodyTimeout = 30 * time.Second
	// DefaultBodyMinRate is the slowest average rate, in bytes per
	// second, a body may arrive at after DefaultBodyTimeout.
	DefaultBodyMinRate = 64 << 10
	// DefaultWriteTimeout bounds writing an answer; an invocation gets
	// the longest function timeout on top.
	DefaultWriteTimeout = time.Minute
)

// Limits protect the server from clients that send slowly, send much or
// never read their answer. Zero fields take the defaults above.
type Limits struct {
	// BodyBudget is the server-wide budget of request-body bytes in
	// memory; a body that does not fit is refused with 429.
	BodyBudget int64
	// BodyTimeout and BodyMinRate give a body until BodyTimeout +
	// (bytes read)/BodyMinRate to arrive; past it the request gets 408
	// and the connection is closed.
	BodyTimeout time.Duration
	BodyMinRate int64
	// WriteTimeout bounds writing the answer once the request is read
	// (plus function.MaxTimeout for invocations).
	WriteTimeout time.Duration
}

func (l *Limits) defaults() {
	if l.BodyBudget <= 0 {
		l.BodyBudget = DefaultBodyBudget
	}
	if l.BodyTimeout <= 0 {
		l.BodyTimeout = DefaultBodyTimeout
	}
	if l.BodyMinRate <= 0 {
		l.BodyMinRate = DefaultBodyMinRate
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = DefaultWriteTimeout
	}
}

// Door reads request bodies under the limits. Safe for concurrent use.
type Door struct {
	lim  Limits
	used atomic.Int64
}

// New returns a Door with l (zero fields take the defaults).
func New(l Limits) *Door {
	l.defaults()
	return &Door{lim: l}
}

// Limits are the door's limits, defaults filled in.
func (d *Door) Limits() Limits { return d.lim }

// InUse is the body bytes held now.
func (d *Door) InUse() int64 { return d.used.Load() }

func (d *Door) acquire(n int64) bool {
	if n <= 0 {
		return true
	}
	if d.used.Add(n) > d.lim.BodyBudget {
		d.used.Add(-n)
		return false
	}
	return true
}

func (d *Door) release(n int64) {
	if n > 0 {
		d.used.Add(-n)
	}
}

// ErrTooLarge: the body is over the caller's limit (each surface words its
// own 413).
var ErrTooLarge = errors.New("request body too large")

// drainFactor bounds how much of an oversized body is read and discarded
// before answering 413: answering early and closing makes Node and Python
// clients report a socket error instead of the 413.
const drainFactor = 4

// Budget is the answer to a body that does not fit the budget: 429 as
// AWS's API throttling answers (TooManyRequestsException, Reason
// CallerRateLimitExceeded, "Rate exceeded"), which every SDK retries after
// a back-off — what a caller of a server short of memory for bodies should
// do.
func Budget() *awserr.Error {
	e := awserr.New(awserr.TooManyRequests, "Rate exceeded")
	e.Reason = "CallerRateLimitExceeded"
	e.RetryAfterSeconds = 1
	return e
}

// Timeout is the answer to a body that arrives too slowly: 408, a code the
// SDKs retry, with the message of AWS's front ends.
func Timeout() *awserr.Error {
	return awserr.New(awserr.RequestTimeout,
		"Your socket connection to the server was not read from or written to within the timeout period.")
}

var errOverBudget = errors.New("request body budget exhausted")

// readChunk caps one read of a body, so that the deadline follows it
// closely.
const readChunk = 64 << 10

// bodyReader reads a request body under a deadline that grows with the
// bytes read so far: start + BodyTimeout + n/BodyMinRate. A body that
// keeps arriving at BodyMinRate or faster never meets it; one that stalls
// meets it at most BodyTimeout after its average rate fell below.
type bodyReader struct {
	r     io.Reader
	rc    *http.ResponseController
	lim   *Limits
	start time.Time
	n     int64
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if len(p) > readChunk {
		p = p[:readChunk]
	}
	allowed := b.lim.BodyTimeout + time.Duration(float64(b.n)/float64(b.lim.BodyMinRate)*float64(time.Second))
	_ = b.rc.SetReadDeadline(b.start.Add(allowed))
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

// Read reads at most limit bytes of r's body; one more is ErrTooLarge. The
// rest of an oversized body is drained up to drainFactor × limit; a body
// announced larger than that is refused at once. The memory the body takes
// is charged to the budget until release is called: a Content-Length body
// reserves its size (capped at limit+1) before anything is read, a chunked
// one each growth of its buffer; no buffer is sized from a Content-Length
// beyond what the budget granted. Other errors are Budget(), Timeout() or
// the read's own. Every refusal marks the connection to be closed.
func (d *Door) Read(w http.ResponseWriter, r *http.Request, limit int64) (body []byte, release func(), err error) {
	var held int64
	release = func() { d.release(held); held = 0 }
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, release, nil
	}
	closeConn := func() { w.Header().Set("Connection", "close") }
	if r.ContentLength > drainFactor*limit {
		closeConn()
		return nil, release, ErrTooLarge
	}
	br := &bodyReader{r: r.Body, rc: http.NewResponseController(w), lim: &d.lim, start: time.Now()}
	var buf []byte
	if r.ContentLength > 0 {
		want := min(r.ContentLength, limit+1)
		if !d.acquire(want) {
			closeConn()
			return nil, release, Budget()
		}
		held = want
		buf = make([]byte, want)
		if _, err := io.ReadFull(br, buf); err != nil {
			closeConn()
			return nil, release, bodyError(err)
		}
	} else if buf, err = d.readChunked(br, limit, &held); err != nil {
		closeConn()
		return nil, release, bodyError(err)
	}
	if int64(len(buf)) > limit {
		m, derr := io.Copy(io.Discard, io.LimitReader(br, (drainFactor-1)*limit))
		if derr != nil || m >= (drainFactor-1)*limit {
			closeConn()
		}
		return nil, release, ErrTooLarge
	}
	return buf, release, nil
}

// readChunked reads a body of unknown length, up to limit+1 bytes,
// charging each growth of its buffer to the budget (held counts it).
func (d *Door) readChunked(br io.Reader, limit int64, held *int64) ([]byte, error) {
	var buf []byte
	chunk := make([]byte, readChunk)
	for int64(len(buf)) <= limit {
		n, err := br.Read(chunk)
		n = min(n, int(limit+1)-len(buf))
		if len(buf)+n > cap(buf) {
			c := min(max(2*cap(buf), len(buf)+n, 4096), int(limit+1))
			if !d.acquire(int64(c - cap(buf))) {
				return nil, errOverBudget
			}
			*held += int64(c - cap(buf))
			nb := make([]byte, len(buf), c)
			copy(nb, buf)
			buf = nb
		}
		buf = append(buf, chunk[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

func bodyError(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, errOverBudget):
		return Budget()
	case errors.As(err, &ne) && ne.Timeout():
		return Timeout()
	}
	return err
}

// Answer gives the answer its write deadline: WriteTimeout, plus the
// longest function timeout when invokes (the answer may come that much
// later). Once the body is read (read), its read deadline is cleared:
// net/http then watches the connection for the caller leaving, and a
// deadline firing there would cancel the request. A request refused before
// its body keeps the deadline, which bounds what net/http reads of the
// rest.
func (d *Door) Answer(w http.ResponseWriter, invokes, read bool) {
	rc := http.NewResponseController(w)
	if read {
		_ = rc.SetReadDeadline(time.Time{})
	}
	t := d.lim.WriteTimeout
	if invokes {
		t += function.MaxTimeout * time.Second
	}
	_ = rc.SetWriteDeadline(time.Now().Add(t))
}

// TimeFor is how long n bytes may take at the minimum rate, on top of
// WriteTimeout: the write deadline of an answer of n bytes.
func (d *Door) TimeFor(n int64) time.Duration {
	return d.lim.WriteTimeout + time.Duration(float64(n)/float64(d.lim.BodyMinRate)*float64(time.Second))
}
