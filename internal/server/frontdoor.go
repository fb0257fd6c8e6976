package server

import (
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lambada-dev/lambada/internal/api"
	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/frontdoor"
	"github.com/lambada-dev/lambada/internal/logkey"
)

// Defaults of the front door's connection settings (docs/security.md,
// "HTTP front door"); the body and answer limits are api's.
const (
	// DefaultMaxConnections bounds the API's open connections.
	DefaultMaxConnections = 4096
	// DefaultHeaderTimeout bounds reading a request's line and headers.
	DefaultHeaderTimeout = 10 * time.Second
	// DefaultKeepAliveTimeout closes a connection idle between requests
	// for longer.
	DefaultKeepAliveTimeout = time.Minute
	// DefaultMaxHeaderBytes bounds a request's line and headers.
	DefaultMaxHeaderBytes = http.DefaultMaxHeaderBytes

	// The body and answer limits (package frontdoor), for the flags.
	DefaultBodyBudget   = frontdoor.DefaultBodyBudget
	DefaultBodyTimeout  = frontdoor.DefaultBodyTimeout
	DefaultBodyMinRate  = frontdoor.DefaultBodyMinRate
	DefaultWriteTimeout = frontdoor.DefaultWriteTimeout
)

// connLimitLogEvery spaces the "connection limit reached" log lines.
const connLimitLogEvery = 10 * time.Second

// connTracker is a listener that bounds open connections. When a new
// connection would pass the limit, the connection idle the longest (no
// request in progress: waiting for its first request or between two) is
// closed to make room, so that a flood of idle connections can never lock
// out /health or a real caller; when every connection is busy the new one
// is closed at once. Each time the limit is reached it is logged, at most
// every connLimitLogEvery.
type connTracker struct {
	net.Listener
	max      int
	log      *slog.Logger
	rejected prometheus.Counter
	evicted  prometheus.Counter
	maxHdr   int

	mu      sync.Mutex
	conns   map[*frontConn]struct{}
	lastLog atomic.Int64
}

func newConnTracker(ln net.Listener, max, maxHeaderBytes int, log *slog.Logger, reg prometheus.Registerer) *connTracker {
	t := &connTracker{
		Listener: ln, max: max, log: log, maxHdr: maxHeaderBytes, conns: map[*frontConn]struct{}{},
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "lambada", Name: "http_connections_refused_total",
			Help: "Connections closed on arrival because every connection was busy (--max-connections).",
		}),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "lambada", Name: "http_connections_evicted_total",
			Help: "Idle connections closed to make room for new ones (--max-connections).",
		}),
	}
	if reg != nil {
		reg.MustRegister(t.rejected, t.evicted, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "lambada", Name: "http_connections_open",
			Help: "Open API connections, out of --max-connections.",
		}, func() float64 { return float64(t.open()) }))
	}
	return t
}

// Accept returns the next connection, making room for it first.
func (t *connTracker) Accept() (net.Conn, error) {
	for {
		c, err := t.Listener.Accept()
		if err != nil {
			return nil, err
		}
		fc := &frontConn{Conn: c, t: t, idleSince: time.Now()}
		t.mu.Lock()
		var victim *frontConn
		if len(t.conns) >= t.max {
			victim = t.oldestIdleLocked()
			if victim != nil {
				delete(t.conns, victim)
			}
		}
		admit := len(t.conns) < t.max
		if admit {
			t.conns[fc] = struct{}{}
		}
		open := len(t.conns)
		t.mu.Unlock()
		if victim != nil {
			t.evicted.Inc()
			_ = victim.Conn.Close()
		}
		if !admit || victim != nil {
			t.logLimit(open, admit)
		}
		if admit {
			return fc, nil
		}
		t.rejected.Inc()
		_ = c.Close()
	}
}

func (t *connTracker) logLimit(open int, admitted bool) {
	now := time.Now().UnixNano()
	last := t.lastLog.Load()
	if now-last < int64(connLimitLogEvery) || !t.lastLog.CompareAndSwap(last, now) {
		return
	}
	if admitted {
		t.log.Warn("http: connection limit reached; closing the longest-idle connection to admit a new one",
			logkey.MaxConnections, t.max, logkey.Open, open)
		return
	}
	t.log.Warn("http: connection limit reached and every connection is busy; refusing new connections",
		logkey.MaxConnections, t.max, logkey.Open, open)
}

func (t *connTracker) oldestIdleLocked() *frontConn {
	var oldest *frontConn
	for c := range t.conns {
		if c.busy.Load() {
			continue
		}
		if oldest == nil || c.since().Before(oldest.since()) {
			oldest = c
		}
	}
	return oldest
}

func (t *connTracker) open() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

func (t *connTracker) forget(c *frontConn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// connState is the http.Server's ConnState hook: it tells idle from busy.
func (t *connTracker) connState(c net.Conn, s http.ConnState) {
	fc, ok := c.(*frontConn)
	if !ok {
		return
	}
	switch s {
	case http.StateActive:
		fc.busy.Store(true)
	case http.StateIdle:
		fc.setIdle()
	case http.StateHijacked, http.StateClosed:
		t.forget(fc)
	}
}

// frontConn is one API connection. Its Write turns the plain-text errors
// net/http writes itself, before any handler runs, into AWS-shaped ones.
type frontConn struct {
	net.Conn
	t    *connTracker
	busy atomic.Bool

	mu        sync.Mutex
	idleSince time.Time
	closeOnce sync.Once
}

func (c *frontConn) setIdle() {
	c.mu.Lock()
	c.idleSince = time.Now()
	c.mu.Unlock()
	c.busy.Store(false)
}

func (c *frontConn) since() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.idleSince
}

func (c *frontConn) Close() error {
	c.closeOnce.Do(func() { c.t.forget(c) })
	return c.Conn.Close()
}

// CloseWrite lets net/http half-close as it does on a raw TCP connection.
func (c *frontConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// plainErrorHeaders is what follows the status line of every error
// net/http writes on its own (net/http's server.go, errorHeaders): no
// handler's answer looks like this, as net/http sorts "Connection" before
// "Content-Type" and adds a Date.
var plainErrorHeaders = []byte("\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n")

func (c *frontConn) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, []byte("HTTP/1.1 ")) {
		if line, _, ok := bytes.Cut(p, plainErrorHeaders); ok && !bytes.Contains(line, []byte("\r\n")) {
			if _, err := c.Conn.Write(api.ErrorResponse(c.t.plainError(line), uuid.NewString())); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return c.Conn.Write(p)
}

// plainError maps one of net/http's own refusals (its status line) to the
// AWS shape (docs/security.md, "HTTP front door"): headers over the limit
// are a 413 RequestEntityTooLargeException as an oversized body is; any
// request net/http cannot parse (a malformed request line, a path with a
// bad %-escape such as %zz, a malformed header) names no operation, so it
// gets the answer for an unknown path, 404 UnknownOperationException.
func (t *connTracker) plainError(statusLine []byte) *awserr.Error {
	if bytes.HasPrefix(statusLine, []byte("HTTP/1.1 431 ")) {
		return awserr.Newf(awserr.RequestEntityTooLarge, "Request headers must be smaller than %d bytes", t.maxHdr)
	}
	return awserr.New(awserr.UnknownOperation, "Unknown operation")
}
