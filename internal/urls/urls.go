// Package urls is the function URL data plane: it recognises a URL by the
// request's Host (<url-id>.lambda-url.<region>.<host>) or by the
// path-style prefix, checks the URL's auth (resource policy for NONE,
// SigV4 for AWS_IAM), answers CORS preflights, maps the request to a
// payload format 2.0 event, invokes the function through the invoke
// service like Invoke does, and maps the result (buffered or streamed)
// back to HTTP (docs/behaviour/function-urls.md).
package urls

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lambada-dev/lambada/internal/api/sigv4"
	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/frontdoor"
	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/invoke"
	"github.com/lambada-dev/lambada/internal/logkey"
	"github.com/lambada-dev/lambada/internal/recursion"
	"github.com/lambada-dev/lambada/internal/registry"
)

// Config is the data plane's configuration.
type Config struct {
	Address   Address
	AccountID string
	Registry  *registry.Registry
	Invoker   *invoke.Service
	// Verifier checks AWS_IAM URLs' signatures: the API's own verifier.
	Verifier *sigv4.Verifier
	// Door reads bodies under the server's front-door limits, shared with
	// the API (docs/security.md, "HTTP front door"); nil = its own with
	// the default limits.
	Door    *frontdoor.Door
	Logger  *slog.Logger
	Metrics prometheus.Registerer
	Now     func() time.Time
}

// Handler serves function URLs.
type Handler struct {
	cfg Config
	reg *registry.Registry
	log *slog.Logger

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// New builds the handler and registers its metrics.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Door == nil {
		cfg.Door = frontdoor.New(frontdoor.Limits{})
	}
	h := &Handler{cfg: cfg, reg: cfg.Registry, log: cfg.Logger}
	h.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "lambada", Name: "url_requests_total",
		Help: "Function URL requests by URL id, function and status class (2xx, 4xx, 5xx).",
	}, []string{"url_id", "function", "status_class"})
	h.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "lambada", Name: "url_request_duration_seconds",
		Help:    "Function URL request latency until the answer ended, by URL id.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
	}, []string{"url_id", "function"})
	if cfg.Metrics != nil {
		cfg.Metrics.MustRegister(h.requests, h.latency)
	}
	return h
}

// Wrap serves function URLs and hands every other request to next.
func (h *Handler) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := idFromHost(r.Host); id != "" {
			h.serve(w, r, id, rawPath(r), r.Host)
			return
		}
		if rest, ok := strings.CutPrefix(rawPath(r), PathPrefix); ok {
			id, path, _ := strings.Cut(rest, "/")
			h.serve(w, r, strings.ToLower(id), "/"+path, h.cfg.Address.Domain(strings.ToLower(id)))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// rawPath is the request's path as sent, still percent-encoded.
func rawPath(r *http.Request) string {
	p := r.RequestURI
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if !strings.HasPrefix(p, "/") {
		p = r.URL.EscapedPath() // absolute-form target
	}
	if p == "" {
		p = "/"
	}
	return p
}

// Messages and bodies of the URL's own errors (§8).
const (
	msgForbidden  = "Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"
	msgTooLarge   = "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
	msgThrottled  = "Rate Exceeded."
	textInternal  = "Internal Server Error"
	contentStream = "application/vnd.awslambda.http-integration-response"
)

// failure is a refusal the URL answers itself.
type failure struct {
	status  int
	errType string // x-amzn-ErrorType; "" for the plain-text 502
	message *string
	reason  string // for the log line
}

func (f *failure) write(w http.ResponseWriter) {
	hd := w.Header()
	if f.status == http.StatusBadGateway {
		hd.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, textInternal)
		return
	}
	body, _ := json.Marshal(map[string]*string{"Message": f.message})
	hd.Set("Content-Type", "application/json")
	hd.Set("x-amzn-ErrorType", f.errType)
	w.WriteHeader(f.status)
	_, _ = w.Write(body)
}

func str(s string) *string { return &s }

var (
	errUnknownURL = &failure{status: 403, errType: awserr.AccessDenied, reason: "unknown url id"}
	errForbidden  = &failure{status: 403, errType: awserr.AccessDenied, message: str(msgForbidden), reason: "the resource policy does not allow public access"}
	errTooLarge   = &failure{status: 413, errType: awserr.RequestEntityTooLarge, message: str(msgTooLarge), reason: "request too large"}
	errThrottled  = &failure{status: 429, errType: awserr.TooManyRequests, message: str(msgThrottled), reason: "throttled"}
)

func badGateway(reason string) *failure { return &failure{status: 502, reason: reason} }

// outcome is what one URL request ended with, for metrics and the log.
type outcome struct {
	status int
	reason string
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (h *Handler) serve(rw http.ResponseWriter, r *http.Request, id, path, domain string) {
	start := time.Now()
	requestID := uuid.NewString()
	w := &statusWriter{ResponseWriter: rw}
	w.Header()["x-amzn-RequestId"] = []string{requestID}
	target, known := h.reg.URL(id)
	fn, label := "", "unknown"
	if known {
		fn, label = target.Function.Name, id
	}
	var reason string
	defer func() {
		status := w.status
		if status == 0 {
			status = http.StatusOK
		}
		h.requests.WithLabelValues(label, fn, statusClass(status)).Inc()
		h.latency.WithLabelValues(label, fn).Observe(time.Since(start).Seconds())
		if status >= 400 || reason != "" {
			h.log.Warn("function url request failed", logkey.URLID, id, logkey.Function, fn, logkey.Qualifier, target.Qualifier,
				logkey.RequestID, requestID, logkey.Method, r.Method, logkey.Path, path, logkey.Status, status, logkey.Reason, reason)
		}
	}()
	fail := func(f *failure) {
		reason = f.reason
		f.write(w)
	}
	select {
	case <-h.reg.Ready():
	default:
		fail(&failure{status: 503, errType: awserr.ServiceUnavailable, message: str("lambada is starting; try again shortly"), reason: "starting"})
		return
	}
	if !known {
		fail(errUnknownURL)
		return
	}
	cfg := target.Config
	origin := r.Header.Get("Origin")
	if cfg.Cors != nil && isPreflight(r) {
		preflight(w.Header(), cfg.Cors, origin)
		w.WriteHeader(http.StatusOK)
		return
	}
	body, release, ferr := h.readBody(w, r)
	defer release()
	// The answer may come when the function returns (docs/security.md,
	// "Answers").
	h.cfg.Door.Answer(w, true, ferr == nil)
	if ferr != nil {
		fail(ferr)
		return
	}
	in := incoming{id: id, rawPath: path, domain: hostOnly(domain), requestID: requestID,
		port: h.cfg.Address.Port, account: "anonymous", now: h.cfg.Now()}
	switch cfg.AuthType {
	case function.AuthIAM:
		if _, err := h.cfg.Verifier.Verify(r, body); err != nil {
			f := *errForbidden
			f.reason = "signature: " + awserr.As(err).Message
			fail(&f)
			return
		}
		in.account = h.cfg.AccountID
		in.iam = h.iamAuthorizer(r)
	default:
		if !publicAllowed(target.Function.Policies[target.Qualifier]) {
			fail(errForbidden)
			return
		}
	}
	// The trace header the function is called with: the caller's chain,
	// or a new root (the hop is counted by the invoke service).
	trace := r.Header.Get("X-Amzn-Trace-Id")
	if recursion.Parse(trace).Root == "" {
		t, _ := recursion.Next("", h.reg.ARN(target.Function.Name, ""), false)
		trace = "Root=" + t.Root
	}
	in.trace = trace
	w.Header().Set("X-Amzn-Trace-Id", trace)
	payload, err := json.Marshal(newEvent(r, body, in))
	if err != nil {
		fail(badGateway("encoding the event: " + err.Error()))
		return
	}
	if len(payload) > function.MaxSyncPayload {
		fail(errTooLarge)
		return
	}
	req := &invoke.Request{
		FunctionName: target.Function.Name, Payload: payload, RequestID: requestID, TraceHeader: trace,
	}
	if target.Qualifier != function.Latest {
		req.Qualifier = target.Qualifier
	}
	setCORS := func(hd http.Header) {
		if cfg.Cors != nil {
			corsHeaders(hd, cfg.Cors, origin)
		}
	}
	if cfg.Mode() == function.ModeStream {
		var cut bool
		if reason, cut = h.stream(w, r, req, setCORS); cut {
			abort()
		}
		return
	}
	res, err := h.cfg.Invoker.Invoke(r.Context(), req)
	if err != nil {
		fail(invokeFailure(err))
		return
	}
	if res.FunctionError != "" {
		fail(badGateway("function error: " + res.ErrorType))
		return
	}
	rp, err := mapResult(res.Payload)
	if err != nil {
		fail(badGateway(err.Error()))
		return
	}
	hd := w.Header()
	for _, kv := range rp.headers {
		hd.Set(kv[0], kv[1])
	}
	for _, c := range rp.cookies {
		hd.Add("Set-Cookie", c)
	}
	setCORS(hd)
	hd.Set("Content-Length", itoa(len(rp.body)))
	w.WriteHeader(rp.status)
	_, _ = w.Write(rp.body)
}

// invokeFailure maps an error of the invoke service (known before the
// function ran) to the URL's answer.
func invokeFailure(err error) *failure {
	e := awserr.As(err)
	switch e.Code {
	case awserr.TooManyRequests:
		return errThrottled
	case awserr.ResourceNotFound:
		f := *errUnknownURL
		f.reason = "function gone: " + e.Message
		return &f
	case awserr.RecursiveInvocation:
		// Loop detection stopped the chain: answered as Invoke answers it.
		return &failure{status: e.Status, errType: e.Code, message: str(e.Message), reason: "recursive invocation stopped"}
	}
	return badGateway(e.Code + ": " + e.Message)
}

// iamAuthorizer is requestContext.authorizer.iam of a signed request.
func (h *Handler) iamAuthorizer(r *http.Request) *IAMAuthorizer {
	key := ""
	if _, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
		key, _, _ = strings.Cut(cred, "/")
	}
	acct := h.cfg.AccountID
	return &IAMAuthorizer{AccessKey: key, AccountID: acct, CallerID: key,
		UserARN: "arn:aws:iam::" + acct + ":root", UserID: acct}
}

// readBody reads the request body up to the synchronous payload limit
// through the front door (its deadline and the server's body budget); an
// oversized body is drained (bounded) and refused with 413.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, func(), *failure) {
	b, release, err := h.cfg.Door.Read(w, r, function.MaxSyncPayload)
	var e *awserr.Error
	switch {
	case err == nil:
		return b, release, nil
	case errors.Is(err, frontdoor.ErrTooLarge):
		return nil, release, errTooLarge
	case errors.As(err, &e):
		return nil, release, &failure{status: e.Status, errType: e.Code, message: str(e.Message), reason: "reading the body: " + e.Message}
	}
	return nil, release, &failure{status: 400, errType: "InvalidRequestContentException", message: str("Could not read request body"), reason: "reading the body: " + err.Error()}
}

func hostOnly(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		return h[:i]
	}
	return h
}

func statusClass(s int) string {
	return string(rune('0'+s/100)) + "xx"
}

var errClosed = errors.New("function url response closed")
