// Package api is lambada's Lambda REST surface: it routes requests,
// verifies SigV4, decodes and bounds bodies, calls one service method and
// renders the answer or the AWS-shaped error. It holds no business logic.
package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lambada-dev/lambada/internal/api/sigv4"
	"github.com/lambada-dev/lambada/internal/async"
	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/cwlogs"
	"github.com/lambada-dev/lambada/internal/frontdoor"
	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/invoke"
	"github.com/lambada-dev/lambada/internal/logkey"
	"github.com/lambada-dev/lambada/internal/registry"
)

// DefaultBodyLimit bounds the body of structured operations without their
// own limit.
const DefaultBodyLimit = 6 << 20

// Config is the api's configuration.
type Config struct {
	Region    string
	AccountID string
	Registry  *registry.Registry
	Invoker   *invoke.Service
	Async     *async.Service
	Verifier  *sigv4.Verifier
	// CodeURLKey signs GetFunction's Code.Location download URLs.
	CodeURLKey []byte
	// FunctionURL renders the URL a function URL id is reached by; nil
	// uses the default host without a port.
	FunctionURL func(id string) string
	// Logs serves the CloudWatch Logs operations, verified by
	// LogsVerifier (service "logs"); nil answers them UnknownOperation.
	Logs         *cwlogs.Service
	LogsVerifier *sigv4.Verifier
	Logger       *slog.Logger
	Metrics      prometheus.Registerer
	Now          func() time.Time
	// Door reads bodies and sets answer deadlines (docs/security.md, "HTTP
	// front door"); nil = one with the default limits.
	Door *frontdoor.Door
}

// Handler serves the Lambda API.
type Handler struct {
	cfg    Config
	reg    *registry.Registry
	log    *slog.Logger
	routes []route
	door   *frontdoor.Door

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	seriesMu  sync.RWMutex
	counters  map[opKey]prometheus.Counter
	observers map[string]prometheus.Observer
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
	h := &Handler{cfg: cfg, reg: cfg.Registry, log: cfg.Logger, door: cfg.Door,
		counters: map[opKey]prometheus.Counter{}, observers: map[string]prometheus.Observer{}}
	h.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "lambada", Name: "api_requests_total",
		Help: "Lambda API requests by operation and HTTP status.",
	}, []string{"operation", "status"})
	h.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "lambada", Name: "api_request_duration_seconds",
		Help:    "Lambda API request latency by operation.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
	}, []string{"operation"})
	if cfg.Metrics != nil {
		cfg.Metrics.MustRegister(h.requests, h.latency, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "lambada", Name: "http_body_bytes_in_use",
			Help: "Request-body bytes held in memory, out of --body-budget.",
		}, func() float64 { return float64(h.door.InUse()) }))
	}
	h.routes = h.table()
	return h
}

// request is one decoded API call handed to an operation.
type request struct {
	r         *http.Request
	w         http.ResponseWriter // only for operations that write themselves (streams)
	params    []string            // decoded path labels in order
	query     url.Values
	body      []byte
	checked   *invoke.PayloadCheck // body's JSON check, when started early
	id        string
	principal string
	base      *slog.Logger
}

// logger is the request's logger, built only when something is logged.
func (q *request) logger() *slog.Logger {
	return q.base.With(logkey.RequestID, q.id, logkey.Principal, q.principal)
}

// decode unmarshals the body into v; an empty body is {}.
func (q *request) decode(v any) error {
	if len(bytes.TrimSpace(q.body)) == 0 {
		return nil
	}
	// encoding/json would store invalid UTF-8 as U+FFFD; AWS's parser
	// refuses it (docs/behaviour/api-common.md §3).
	if detail, bad := function.InvalidUTF8(q.body); bad {
		return awserr.New(awserr.InvalidRequestContent, "Could not parse request body into json: "+detail)
	}
	if err := json.Unmarshal(q.body, v); err != nil {
		return awserr.New(awserr.InvalidRequestContent, "Could not parse request body into json: "+jsonDetail(err))
	}
	return nil
}

func jsonDetail(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("Cannot deserialize value of type %s from %s at %s", te.Type, te.Value, te.Field)
	}
	return err.Error()
}

// maxItems reads the MaxItems query parameter (0 when absent).
func (q *request) maxItems() (int, error) {
	s := q.query.Get("MaxItems")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, awserr.Newf(awserr.Validation,
			"1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must be an integer", s)
	}
	// 0 would read as "absent" below; every list's MaxItems starts at 1.
	if n < 1 {
		return 0, function.NewValidation("maxItems", s, "Member must have value greater than or equal to 1")
	}
	return n, nil
}

func (q *request) listOptions() (registry.ListOptions, error) {
	n, err := q.maxItems()
	return registry.ListOptions{Marker: q.query.Get("Marker"), MaxItems: n}, err
}

// response is what an operation returns: a status and an optional JSON
// body, or raw bytes with their own headers (Invoke).
type response struct {
	status  int
	body    any
	raw     []byte
	headers map[string]string
	// written: the operation wrote the whole answer itself (a stream).
	written bool
	// lengthSet: the operation set Content-Length for raw itself.
	lengthSet bool
}

type operation func(q *request) (response, error)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := uuid.NewString()
	w.Header()["x-amzn-RequestId"] = []string{id}
	if isLogs(r) {
		op, status := h.serveLogs(w, r, id)
		h.observe("logs:"+op, status, time.Since(start))
		return
	}

	rt, params, err := h.match(r)
	name := "Unknown"
	if rt != nil {
		name = rt.name
	}
	status, principal := h.serve(w, r, rt, params, err, id)
	h.observe(name, status, time.Since(start))
	if h.log.Enabled(r.Context(), slog.LevelDebug) {
		// principal names the caller: the server's access key id, or
		// "function:<name>" for a function calling back.
		h.log.Debug("api request", logkey.RequestID, id, logkey.Operation, name, logkey.Principal, principal, logkey.Method, r.Method,
			logkey.Path, r.URL.EscapedPath(), logkey.Status, status, logkey.Duration, time.Since(start))
	}
}

// opKey names one series of api_requests_total.
type opKey struct {
	op     string
	status int
}

// observe counts a request of op answered with status after d. The series
// are looked up once per operation and status (curried), not per request.
func (h *Handler) observe(op string, status int, d time.Duration) {
	k := opKey{op, status}
	h.seriesMu.RLock()
	c, ok := h.counters[k]
	o, ok2 := h.observers[op]
	h.seriesMu.RUnlock()
	if !ok || !ok2 {
		c, o = h.requests.WithLabelValues(op, strconv.Itoa(status)), h.latency.WithLabelValues(op)
		h.seriesMu.Lock()
		h.counters[k], h.observers[op] = c, o
		h.seriesMu.Unlock()
	}
	c.Inc()
	o.Observe(d.Seconds())
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, rt *route, params []string, matchErr error, id string) (int, string) {
	if matchErr != nil {
		return h.writeError(w, matchErr, h.log.With(logkey.RequestID, id)), ""
	}
	select {
	case <-h.reg.Ready():
	default:
		return h.writeError(w, awserr.New(awserr.ServiceUnavailable, "lambada is starting; try again shortly"), h.log.With(logkey.RequestID, id)), ""
	}
	// Everything the headers alone can refuse is refused before the body
	// is read (docs/security.md, "HTTP front door").
	pending, err := h.cfg.Verifier.Check(r)
	if err != nil {
		if r.ContentLength != 0 {
			w.Header().Set("Connection", "close")
		}
		h.door.Answer(w, false, false)
		return h.writeError(w, err, h.log.With(logkey.RequestID, id)), ""
	}
	body, release, err := h.readBody(w, r, rt.bodyLimit, rt.limitName())
	defer release()
	h.door.Answer(w, rt.invokes, err == nil)
	if err != nil {
		return h.writeError(w, err, h.log.With(logkey.RequestID, id)), ""
	}
	checked := checkEarly(rt, r, body)
	if checked != nil {
		defer checked.Wait()
	}
	principal, err := pending.Verify(r, body)
	if err != nil {
		return h.writeError(w, err, h.log.With(logkey.RequestID, id)), ""
	}
	q := &request{r: r, w: w, params: params, query: parseQuery(r.URL.RawQuery), body: body, checked: checked, id: id, principal: principal, base: h.log}
	resp, err := rt.op(q)
	if !resp.written {
		// The answer is written now, however long the operation ran (a
		// function in debug mode may run for hours): WriteTimeout from here.
		h.door.Answer(w, false, false)
	}
	switch {
	case err != nil:
		return h.writeError(w, err, q.logger()), principal
	case resp.written:
		return resp.status, principal
	case resp.headers != nil || resp.raw != nil:
		status := writeRaw(w, resp)
		if rt.invokes {
			// The caller waits for nothing else: the answer leaves now,
			// not after the metrics and net/http's own bookkeeping.
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
		}
		return status, principal
	}
	return writeJSON(w, resp.status, resp.body), principal
}

func writeRaw(w http.ResponseWriter, resp response) int {
	for k, v := range resp.headers {
		w.Header().Set(k, v)
	}
	if resp.raw != nil && !resp.lengthSet {
		w.Header()["Content-Length"] = []string{strconv.Itoa(len(resp.raw))}
	}
	w.WriteHeader(resp.status)
	if len(resp.raw) > 0 {
		_, _ = w.Write(resp.raw)
	}
	return resp.status
}

func tooLarge(limit int64, op string) error {
	e := awserr.Newf(awserr.RequestEntityTooLarge, "Request must be smaller than %d bytes for the %s operation", limit, op)
	if op == "InvokeFunction" {
		return withUserType(e)
	}
	return e
}

// withUserType adds "Type":"User" to an unmodeled error's body: AWS's
// front door sends it on the invoke paths' 413 (docs/behaviour/invoke.md §3), while the
// management operations' 413 has only the message (docs/behaviour/management.md §2).
func withUserType(e *awserr.Error) *awserr.Error {
	e.Extra = map[string]string{"Type": string(awserr.User)}
	return e
}

// parseQuery decodes a raw query accepting both %20 and + for spaces.
func parseQuery(raw string) url.Values {
	if raw == "" {
		return nil // reads of a nil url.Values find nothing
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		v = url.Values{}
		for _, kv := range strings.Split(raw, "&") {
			k, val, _ := strings.Cut(kv, "=")
			k, _ = url.QueryUnescape(k)
			val, _ = url.QueryUnescape(val)
			v.Add(k, val)
		}
	}
	return v
}

// jsonBody encodes an error body (plain strings: it cannot fail).
func jsonBody(body map[string]any) []byte {
	b, _ := json.Marshal(body)
	return b
}

func writeJSON(w http.ResponseWriter, status int, body any) int {
	if body == nil {
		w.WriteHeader(status)
		return status
	}
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(awserr.Internal(err).Body())
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return status
}

// writeError renders any error in the AWS shape; non-AWS errors become a
// logged ServiceException.
func (h *Handler) writeError(w http.ResponseWriter, err error, log *slog.Logger) int {
	e := awserr.As(err)
	if e.Status >= 500 {
		log.Error("api: internal error", logkey.Err, err)
	} else {
		log.Debug("api: request refused", logkey.Code, e.Code, logkey.Message, e.Message)
	}
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	if e.RetryAfterSeconds > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfterSeconds))
	}
	return writeJSON(w, e.Status, e.Body())
}
