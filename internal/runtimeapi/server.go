package runtimeapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambada-dev/lambada/internal/logkey"
)

// maxHeaderBytes bounds a request's header block. aws-lambda-go sends an
// X-Ray error cause of up to 1 MiB as a header, over net/http's default.
const maxHeaderBytes = 2 << 20

// Connection limits of one environment's Runtime API (docs/security.md
// "Runtime API isolation"): a function cannot hold more of the server's
// file descriptors than this, whatever it opens.
const (
	// MaxConns is how many connections may be open at once; one more is
	// reset as soon as it is accepted. Runtimes keep one connection alive
	// (aws-lambda-go, Node.js and Python), plus one for streamed responses.
	MaxConns = 8
	// HeaderTimeout closes a connection that has not sent a request's
	// header this long after it opened (or after its request began).
	HeaderTimeout = 10 * time.Second
	// IdleTimeout closes a kept-alive connection without a request for
	// this long. It must exceed the function's timeout: the runtime's
	// connection is idle while the handler runs. 15 minutes is AWS's
	// largest timeout; Limits.IdleTimeout may be set closer.
	IdleTimeout = 16 * time.Minute
)

// Limits are Serve's connection limits; zero fields take the defaults
// above.
type Limits struct {
	MaxConns      int
	HeaderTimeout time.Duration
	IdleTimeout   time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxConns <= 0 {
		l.MaxConns = MaxConns
	}
	if l.HeaderTimeout <= 0 {
		l.HeaderTimeout = HeaderTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = IdleTimeout
	}
	return l
}

// Server is one environment's Runtime API endpoint: an http.Handler that
// translates requests into Bridge calls. Serve runs it on a listener with the
// settings runtimes need; tests may mount the handler anywhere.
type Server struct {
	bridge Bridge
	log    *slog.Logger
	// Limits are the connection limits Serve applies; set before Serve.
	Limits Limits

	mu sync.Mutex
	// The invocation handed out last and its response limit: the only state
	// kept here, so the limit the environment chose is enforced while the
	// body streams. Validity of the id remains the Bridge's decision.
	lastID    string
	lastLimit int64
}

// NewServer returns the Runtime API handler for one environment. A nil
// logger discards.
func NewServer(b Bridge, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{bridge: b, log: logger}
}

// Serve answers the runtime on ln until ctx is done, then closes ln and every
// connection, and returns once every request it accepted has finished (a
// Bridge call in progress sees its context cancelled). It returns nil when
// stopped by ctx, else the error that stopped the listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lim := s.Limits.withDefaults()
	t := &tracker{next: s}
	hs := &http.Server{
		Handler:        t,
		BaseContext:    func(net.Listener) context.Context { return ctx },
		MaxHeaderBytes: maxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		// No read or write timeouts: /next is a long poll and a streamed
		// response may last as long as the function's timeout. The header
		// and idle timeouts only apply between requests.
		ReadHeaderTimeout: lim.HeaderTimeout,
		IdleTimeout:       lim.IdleTimeout,
	}
	capped := &capListener{Listener: ln, slots: make(chan struct{}, lim.MaxConns), log: s.log}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(capped) }()

	var err error
	select {
	case err = <-errc:
		errc = nil
	case <-ctx.Done():
	}
	cancel() // before Close: a parked Next must return for its handler to end
	hs.Close()
	if errc != nil {
		<-errc
	}
	t.closeAndWait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving the runtime API: %w", err)
	}
	return nil
}

// capListener hands out at most cap(slots) connections at a time; one
// more is reset at once, so the runtime sees a closed connection and the
// server keeps no descriptor for it.
type capListener struct {
	net.Listener
	slots   chan struct{}
	log     *slog.Logger
	refused atomic.Int64
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &cappedConn{Conn: c, slots: l.slots}, nil
		default:
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		c.Close()
		// Said once at Warn: a function opening thousands must not flood
		// the server's log.
		lvl := slog.LevelDebug
		if l.refused.Add(1) == 1 {
			lvl = slog.LevelWarn
		}
		l.log.Log(context.Background(), lvl, "runtime API: connection refused, too many open",
			logkey.Limit, cap(l.slots), logkey.Remote, c.RemoteAddr().String())
	}
}

// cappedConn gives its slot back when closed.
type cappedConn struct {
	net.Conn
	slots chan struct{}
	once  sync.Once
}

func (c *cappedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.slots })
	return err
}

// CloseWrite lets net/http half-close as it does a plain TCP connection.
func (c *cappedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// tracker refuses requests once Serve is stopping and lets it wait for the
// handlers it started: net/http's Close does not wait for them.
type tracker struct {
	next   http.Handler
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func (t *tracker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusInternalServerError, "InternalServerError", "Runtime API is shutting down")
		return
	}
	t.wg.Add(1)
	t.mu.Unlock()
	defer t.wg.Done()
	t.next.ServeHTTP(w, r)
}

func (t *tracker) closeAndWait() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.wg.Wait()
}

type endpoint int

const (
	epNotFound endpoint = iota
	epNext
	epResponse
	epError
	epInitError
)

const basePath = "/2018-06-01/runtime/"

// route matches the four endpoints exactly (method included); anything else
// is epNotFound. id is the raw {AwsRequestId} path segment, unescaped.
func route(method, escapedPath string) (ep endpoint, id string) {
	rest, ok := strings.CutPrefix(escapedPath, basePath)
	if !ok {
		return epNotFound, ""
	}
	switch rest {
	case "invocation/next":
		if method == http.MethodGet {
			return epNext, ""
		}
		return epNotFound, ""
	case "init/error":
		if method == http.MethodPost {
			return epInitError, ""
		}
		return epNotFound, ""
	}
	rest, ok = strings.CutPrefix(rest, "invocation/")
	if !ok || method != http.MethodPost {
		return epNotFound, ""
	}
	raw, action, ok := strings.Cut(rest, "/")
	if !ok {
		return epNotFound, ""
	}
	switch action {
	case "response":
		ep = epResponse
	case "error":
		ep = epError
	default:
		return epNotFound, ""
	}
	// An id that does not unescape cannot be the current one; "" makes the
	// handler answer InvalidRequestID without asking the Bridge.
	id, err := url.PathUnescape(raw)
	if err != nil {
		id = ""
	}
	return ep, id
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ep, id := route(r.Method, r.URL.EscapedPath())
	switch ep {
	case epNext:
		s.next(w, r)
	case epResponse:
		s.response(w, r, id)
	case epError:
		s.invocationError(w, r, id)
	case epInitError:
		s.initError(w, r)
	default:
		s.log.DebugContext(r.Context(), "runtime API: not found", logkey.Method, r.Method, logkey.Path, r.URL.Path)
		writeError(w, http.StatusNotFound, "NotFound", "Not found")
	}
}

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	inv, err := s.bridge.Next(ctx)
	if err == nil && (inv == nil || inv.RequestID == "") {
		err = errors.New("bridge returned an invocation without a request id")
	}
	if err != nil {
		s.fail(w, r, epNext, "", err)
		return
	}
	limit := inv.ResponseLimit
	if limit <= 0 {
		limit = MaxBufferedResponse
	}
	s.mu.Lock()
	s.lastID, s.lastLimit = inv.RequestID, limit
	s.mu.Unlock()

	h := w.Header()
	// The header values share one backing array: one allocation, not one
	// per header (each key gets a full slice of length 1).
	vals := make([]string, 0, 8)
	set := func(key, v string) {
		if v == "" {
			return
		}
		if hasControl(v) {
			setHeader(h, key, v)
			return
		}
		vals = append(vals, v)
		h[key] = vals[len(vals)-1 : len(vals) : len(vals)] // the keys are canonical already
	}
	set(hdrRequestID, inv.RequestID)
	if !inv.Deadline.IsZero() {
		set(hdrDeadline, strconv.FormatInt(inv.Deadline.UnixMilli(), 10))
	}
	set(hdrFunctionARN, inv.InvokedFunctionARN)
	set(hdrTraceID, inv.TraceID)
	set(hdrClientContext, inv.ClientContext)
	set(hdrCognitoIdentity, inv.CognitoIdentity)
	payload := inv.Payload
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	set("Content-Type", "application/json")
	set("Content-Length", strconv.Itoa(len(payload)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(payload); err != nil {
		// Dispatched but not delivered: the environment learns it from the
		// process exit or the deadline.
		s.log.DebugContext(ctx, "runtime API: delivering invocation failed", logkey.RequestID, inv.RequestID, logkey.Err, err)
		return
	}
	if s.log.Enabled(ctx, slog.LevelDebug) { // the arguments alone allocate, on every invoke
		s.log.DebugContext(ctx, "runtime API: invocation delivered", logkey.RequestID, inv.RequestID)
	}
}

func (s *Server) response(w http.ResponseWriter, r *http.Request, id string) {
	ctx := r.Context()
	if id == "" {
		s.fail(w, r, epResponse, id, ErrInvalidRequestID)
		return
	}
	mode, streaming := r.Header[hdrResponseMode]
	if streaming && (len(mode) != 1 || mode[0] != responseModeStreaming) {
		msg := fmt.Sprintf("Invalid Lambda-Runtime-Function-Response-Mode %q: the only supported value is %q.",
			clip(strings.Join(mode, ", ")), responseModeStreaming)
		if err := s.bridge.Fail(ctx, id, NewFunctionError(ErrorTypeInvalidResponseMode, msg)); err != nil {
			s.fail(w, r, epResponse, id, err)
			return
		}
		s.log.DebugContext(ctx, "runtime API: invalid response mode", logkey.RequestID, id)
		writeError(w, http.StatusBadRequest, "InvalidFunctionResponseMode", msg)
		return
	}

	b := newBody(r.Body, func() http.Header { return r.Trailer }, s.limitFor(id))
	resp := &Response{
		ContentType: r.Header.Get("Content-Type"),
		Streaming:   streaming,
		Body:        b,
		Size:        r.ContentLength,
		body:        b,
	}
	err := s.bridge.Respond(ctx, id, resp)
	if err == nil {
		err = b.drain()
	}
	// How the body ended decides first: the Bridge may have returned
	// something else (wrapped, or its own reaction to the failure).
	if berr := b.failure(); berr != nil {
		err = berr
	}
	if err != nil {
		s.fail(w, r, epResponse, id, err)
		return
	}
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.DebugContext(ctx, "runtime API: response taken", logkey.RequestID, id, logkey.Bytes, b.size())
	}
	writeAccepted(w)
}

func (s *Server) invocationError(w http.ResponseWriter, r *http.Request, id string) {
	ctx := r.Context()
	if id == "" {
		s.fail(w, r, epError, id, ErrInvalidRequestID)
		return
	}
	ferr, rerr := readFunctionError(r)
	if ferr == nil {
		s.fail(w, r, epError, id, rerr)
		return
	}
	if err := s.bridge.Fail(ctx, id, ferr); err != nil {
		s.fail(w, r, epError, id, err)
		return
	}
	if rerr != nil {
		s.fail(w, r, epError, id, rerr)
		return
	}
	s.log.DebugContext(ctx, "runtime API: invocation error taken", logkey.RequestID, id, logkey.ErrorType, ferr.Type)
	writeAccepted(w)
}

func (s *Server) initError(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ferr, rerr := readFunctionError(r)
	if ferr == nil {
		s.fail(w, r, epInitError, "", rerr)
		return
	}
	if err := s.bridge.InitError(ctx, ferr); err != nil {
		s.fail(w, r, epInitError, "", err)
		return
	}
	if rerr != nil {
		s.fail(w, r, epInitError, "", rerr)
		return
	}
	s.log.DebugContext(ctx, "runtime API: init error taken", logkey.ErrorType, ferr.Type)
	writeAccepted(w)
}

// readFunctionError reads an /error or /init/error post. An oversize document
// still yields a FunctionError (ResponseSizeTooLarge) for the Bridge, along
// with the error to answer; a truncated one yields none.
func readFunctionError(r *http.Request) (*FunctionError, error) {
	doc, err := readDocument(r.Body)
	switch {
	case errors.Is(err, ErrResponseTooLarge):
		return NewFunctionError(ErrorTypeResponseTooLarge, fmt.Sprintf(
			"Response payload size exceeded maximum allowed payload size (%d bytes).", MaxBufferedResponse)), err
	case err != nil:
		return nil, err
	}
	return newFunctionError(r.Header.Get(hdrErrorType), doc), nil
}

func (s *Server) limitFor(id string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == s.lastID {
		return s.lastLimit
	}
	return MaxBufferedResponse
}

// fail answers the runtime with the status err maps to.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, ep endpoint, id string, err error) {
	status, typ, msg := classify(ep, err)
	ctx := r.Context()
	switch {
	case ctx.Err() != nil:
		// The runtime went away or the server is stopping: nobody reads this.
		s.log.DebugContext(ctx, "runtime API: request ended", logkey.Path, r.URL.Path, logkey.RequestID, id, logkey.Err, err)
	case status == http.StatusInternalServerError:
		s.log.ErrorContext(ctx, "runtime API: environment failed", logkey.Path, r.URL.Path, logkey.RequestID, id, logkey.Err, err)
	default:
		s.log.DebugContext(ctx, "runtime API: request refused", logkey.Path, r.URL.Path, logkey.RequestID, id,
			logkey.Status, status, logkey.ErrorType, typ, logkey.Err, err)
	}
	writeError(w, status, typ, msg)
}

// classify maps an error to the Runtime API's status, errorType and message.
func classify(ep endpoint, err error) (status int, errorType, message string) {
	var size *sizeError
	switch {
	case errors.As(err, &size):
		return http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", tooLargeMessage(size.limit)
	case errors.Is(err, ErrResponseTooLarge):
		return http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", tooLargeMessage(MaxBufferedResponse)
	case errors.Is(err, ErrTruncated):
		return http.StatusBadRequest, "TruncatedHTTPRequest", "The request body ended before its declared end."
	case errors.Is(err, ErrInvalidRequestID):
		return http.StatusBadRequest, "InvalidRequestID", "Invalid request ID"
	case errors.Is(err, ErrInvalidStateTransition):
		return http.StatusForbidden, "InvalidStateTransition", transitionMessage(ep)
	}
	return http.StatusInternalServerError, "InternalServerError", "Internal error in the Runtime API; the runtime should exit."
}

func tooLargeMessage(limit int64) string {
	return fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", limit)
}

// transitionMessage texts are a Decision (docs/behaviour/runtime-api.md §2).
func transitionMessage(ep endpoint) string {
	switch ep {
	case epNext:
		return "Invalid state transition: /next called while the current invocation has no result."
	case epResponse:
		return "Invalid state transition: the invocation already has a result."
	case epError:
		return "Invalid state transition: the invocation already has a result or its response has begun."
	case epInitError:
		return "Invalid state transition: init is already complete."
	}
	return "Invalid state transition."
}

func writeError(w http.ResponseWriter, status int, errorType, message string) {
	body := errorDocument(message, errorType)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

var acceptedBody = []byte(`{"status":"OK"}`)

func writeAccepted(w http.ResponseWriter) {
	h := w.Header()
	v := []string{"application/json", strconv.Itoa(len(acceptedBody))}
	h["Content-Type"], h["Content-Length"] = v[0:1:1], v[1:2:2]
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(acceptedBody)
}

// setHeader sets a header when v is not empty ("omit headers that have no
// value"), with control characters replaced by spaces so an odd value cannot
// break the runtime's HTTP parsing. Valid JSON only has them as whitespace.
func setHeader(h http.Header, key, v string) {
	if v == "" {
		return
	}
	if !hasControl(v) {
		h[key] = []string{v} // the keys are canonical already
		return
	}
	h.Set(key, strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\t') || r == 0x7f {
			return ' '
		}
		return r
	}, v))
}

// hasControl reports whether v holds a byte setHeader may replace (a
// control character; non-ASCII bytes take the same path, where invalid
// UTF-8 becomes U+FFFD).
func hasControl(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c >= 0x7f {
			return true
		}
	}
	return false
}

// clip shortens a runtime-supplied value quoted in a message.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
