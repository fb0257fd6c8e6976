// Package invoke is the invocation service: it resolves a function name,
// version or alias (weights included), admits the call against the
// concurrency limits, takes an environment from the pool, runs the
// invocation through the Runtime API and builds the caller's result and log
// tail. Synchronous, dry-run and streamed calls go through it (Invoke,
// InvokeStream), and so does every attempt of an async event: the async
// package checks an event with CheckEvent before its 202 and runs each
// attempt with RunEvent.
package invoke

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/environment"
	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/hotreload"
	"github.com/lambada-dev/lambada/internal/logkey"
	"github.com/lambada-dev/lambada/internal/pool"
	"github.com/lambada-dev/lambada/internal/recursion"
	"github.com/lambada-dev/lambada/internal/registry"
	"github.com/lambada-dev/lambada/internal/runtimes"
	"github.com/lambada-dev/lambada/internal/sandbox"
)

// LogTailBytes is how much of an invocation's log X-Amz-Log-Result carries.
const LogTailBytes = 4096

// An environment keeps at least the tail of each invocation's output.
var _ [environment.KeepLogBytes - LogTailBytes]struct{}

// Config configures the service.
type Config struct {
	Region    string
	AccountID string
	// DataDir holds the code cache (DataDir/code) and the environments'
	// private /tmp folders (DataDir/tmp).
	DataDir string
	// StreamRate paces streamed responses after their first 6 MB, in
	// bytes per second (AWS: 2 MB/s); 0 = no cap.
	StreamRate int64
	// CallbackEnv returns the variables an environment of the function
	// needs to call lambada back: its endpoint and credentials minted for
	// the function (docs/behaviour/recursion.md §6). nil adds none.
	CallbackEnv func(functionName string) map[string]string
	// Runtimes starts nodejs*/python* functions; nil runs provided.* only.
	Runtimes           *runtimes.Host
	Sandbox            *sandbox.Host // isolates environments; nil = plain processes
	AccountConcurrency int
	// Shares makes reserved and account concurrency hold across a
	// cluster's nodes; nil counts on this node only.
	Shares      Shares
	IdleTimeout time.Duration
	// Logs opens where each new environment's log goes (the log store, the
	// console); nil keeps only the tail.
	Logs    LogSinks
	Logger  *slog.Logger
	Metrics prometheus.Registerer
}

// LogSinks opens the log sink of a new environment of cfg whose log stream
// is stream; nil means none.
type LogSinks interface {
	Open(cfg *function.Config, stream string) environment.LogSink
}

// Service runs invocations.
type Service struct {
	cfg   Config
	reg   *registry.Registry
	pool  *pool.Pool[*env]
	limit *limiter
	code  *codeCache
	opt   *codeCache // merged layer trees, one per ordered set of layers
	log   *slog.Logger
	tmp   string
	spare *spareTmp          // the next environment's /tmp folder, made ahead
	hot   *hotreload.Watcher // host code folders (docs/behaviour/dev-loop.md §4)
	// hotStop ends, and hotDone waits for, the goroutine that stops
	// watching folders no function uses any more.
	hotStop chan struct{}
	hotDone sync.WaitGroup
	wg      sync.WaitGroup // invocations finishing after their caller was answered

	fnMetrics sync.Map // function name → *fnMetrics

	invocations *prometheus.CounterVec
	errors      *prometheus.CounterVec
	throttles   *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	coldStarts  *prometheus.CounterVec
	recursive   *prometheus.CounterVec
}

// env is a pooled environment with the private /tmp folder it owns ("" when
// its sandbox mounts one).
type env struct {
	*environment.Env
	tmp string
}

func (e *env) Close() error {
	err := e.Env.Close()
	if rerr := os.RemoveAll(e.tmp); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// New builds the service; Start prepares its folders and pool.
func New(cfg Config, reg *registry.Registry) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AccountConcurrency == 0 {
		cfg.AccountConcurrency = function.DefaultAccountLimit
	}
	s := &Service{
		cfg: cfg, reg: reg, log: cfg.Logger,
		limit: newLimiter(cfg.AccountConcurrency, cfg.Shares),
		code:  newCodeCache(filepath.Join(cfg.DataDir, "code"), reg.Code, cfg.Logger),
		opt:   newCodeCache(filepath.Join(cfg.DataDir, "opt"), nil, cfg.Logger),
		tmp:   filepath.Join(cfg.DataDir, "tmp"),
	}
	s.spare = &spareTmp{parent: s.tmp, wg: &s.wg}
	s.pool = pool.New[*env](pool.Config{IdleTimeout: cfg.IdleTimeout, Valid: s.valid, Changed: reg.Changed, Logger: cfg.Logger})
	labels := []string{"function_name"}
	s.invocations = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lambada", Name: "invocations_total", Help: "Invocations run (AWS metric Invocations)."}, labels)
	s.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lambada", Name: "errors_total", Help: "Invocations that ended in a function error (AWS metric Errors)."}, labels)
	s.throttles = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lambada", Name: "throttles_total", Help: "Invocations refused for concurrency (AWS metric Throttles)."}, labels)
	s.coldStarts = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lambada", Name: "cold_starts_total", Help: "Environments started for an invocation."}, labels)
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "lambada", Name: "invocation_duration_seconds", Help: "Invocation duration (AWS metric Duration).", Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10)}, labels)
	// AWS's metric name: RecursiveInvocationsDropped.
	s.recursive = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lambada", Name: "recursive_invocations_dropped_total", Help: "Invocations stopped by recursive loop detection (AWS: RecursiveInvocationsDropped)."}, labels)
	if cfg.Metrics != nil {
		cfg.Metrics.MustRegister(s.invocations, s.errors, s.throttles, s.coldStarts, s.duration, s.recursive, concurrencyCollector{s.limit})
	}
	return s
}

// Start keeps the complete unpacked code of a previous run (and clears the
// rest, and the merged layer trees, in the background), clears the environments' /tmp folders and
// starts the pool's reaper.
func (s *Service) Start(ctx context.Context) error {
	if err := s.code.start(s.reg.Ready(), s.reg.UsesCode); err != nil {
		return err
	}
	if err := s.opt.start(nil, nil); err != nil {
		return err
	}
	if err := os.RemoveAll(s.tmp); err != nil {
		return fmt.Errorf("clearing environment tmp folders: %w", err)
	}
	if err := os.MkdirAll(s.tmp, 0o700); err != nil {
		return err
	}
	hot, err := hotreload.New(0, func(string) { s.pool.Reap() }, s.log)
	if err != nil {
		return fmt.Errorf("starting the hot-reload watcher: %w", err)
	}
	s.hot = hot
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "lambada", Name: "hot_reload_folders",
			Help: "Host code folders this node watches for hot reload."}, func() float64 { return float64(len(hot.Roots())) }))
	}
	s.hotStop = make(chan struct{})
	s.hotDone.Add(1)
	go s.unwatchUnused()
	s.pool.Start()
	return nil
}

// unwatchUnused stops watching a host folder once no function or version
// uses it (deleted, or its code updated to a zip or another folder), at
// each change of the registry (docs/behaviour/dev-loop.md §4).
func (s *Service) unwatchUnused() {
	defer s.hotDone.Done()
	for {
		changed := s.reg.Changed()
		for _, dir := range s.hot.Roots() {
			if !s.reg.UsesFolder(dir) {
				s.hot.Unwatch(dir)
			}
		}
		select {
		case <-changed:
		case <-s.hotStop:
			return
		}
	}
}

// Close stops every environment, waiting for running invocations until ctx
// ends.
func (s *Service) Close(ctx context.Context) error {
	if s.hot != nil {
		close(s.hotStop)
		s.hotDone.Wait()
		if err := s.hot.Close(); err != nil {
			s.log.Warn("invoke: closing the hot-reload watcher", logkey.Err, err)
		}
	}
	err := s.pool.Close(ctx)
	s.spare.close()
	s.wg.Wait()
	s.code.close()
	s.opt.close()
	return err
}

// Environments counts this node's environments, idle and busy.
func (s *Service) Environments() int {
	st := s.pool.Stats()
	return st.Idle + st.Busy
}

// valid keeps environments only while their configuration is current.
func (s *Service) valid(k pool.Key) bool {
	f, ok := s.reg.Function(k.Function)
	if !ok {
		return false
	}
	c, ok := f.Version(k.Version)
	return ok && s.revision(c) == k.Revision
}

// revision names what an environment of c runs: c's revision, and for code
// from a host folder the folder's change count, so a change to the folder
// retires the environments (docs/behaviour/dev-loop.md §4).
func (s *Service) revision(c *function.Config) string {
	dirs := c.Folders()
	if len(dirs) == 0 || s.hot == nil {
		return c.RevisionID
	}
	r := c.RevisionID
	for _, d := range dirs {
		r += "#" + strconv.FormatUint(s.hot.Generation(d), 10)
	}
	return r
}

// generation is a host folder's change count (0 without a watcher).
func (s *Service) generation(dir string) uint64 {
	if s.hot == nil {
		return 0
	}
	return s.hot.Generation(dir)
}

// Invoke runs one synchronous or dry-run invocation (docs/behaviour/invoke.md
// §2 gives the order of the checks). Event invocations go through the async
// service, which uses CheckEvent and RunEvent.
func (s *Service) Invoke(ctx context.Context, q *Request) (*Result, error) {
	return s.invoke(ctx, q, nil)
}

// StreamSink receives an InvokeWithResponseStream result as it is
// produced. Start is called once when the runtime begins its /response
// (not at all when the function fails before), Write with each piece of
// the body. Both may be called from another goroutine, and after
// InvokeStream returned when the invocation timed out mid-stream: the
// sink must refuse them once its caller finished.
type StreamSink interface {
	Start(executedVersion, contentType string)
	Write(chunk []byte) error
}

// InvokeStream runs one InvokeWithResponseStream call
// (docs/behaviour/streaming.md): the same checks, resolution and throttling as
// Invoke, with the response body relayed to sink as it arrives. On success
// the Result carries no Payload; a function failure (mid-stream or before
// the response) sets FunctionError, ErrorType (InvokeComplete's ErrorCode)
// and Payload = the error document (its ErrorDetails). DryRun returns 204.
func (s *Service) InvokeStream(ctx context.Context, q *Request, sink StreamSink) (*Result, error) {
	if sink == nil {
		return nil, awserr.Internal(errors.New("InvokeStream without a sink"))
	}
	return s.invoke(ctx, q, sink)
}

// streamTo adapts a StreamSink to the environment's Sink.
type streamTo struct {
	sink    StreamSink
	version string
}

func (a streamTo) Start(ct string)          { a.sink.Start(a.version, ct) }
func (a streamTo) Write(chunk []byte) error { return a.sink.Write(chunk) }

func (s *Service) invoke(ctx context.Context, q *Request, sink StreamSink) (*Result, error) {
	types := []string{Event, RequestResponse, DryRun}
	if sink != nil {
		types = types[1:]
	}
	ref, err := q.checkModel(s.cfg.Region, s.cfg.AccountID, types...)
	if err != nil {
		return nil, err
	}
	res, err := s.resolve(ref)
	if err != nil {
		return nil, err
	}
	if q.InvocationType == DryRun {
		return &Result{Status: http.StatusNoContent}, nil
	}
	if q.InvocationType == Event {
		return nil, awserr.Internal(errors.New("an Event invocation reached the synchronous path"))
	}
	clientContext, err := DecodeClientContext(q.ClientContext)
	if err != nil {
		return nil, err
	}
	payload, err := q.checkPayload()
	if err != nil {
		return nil, err
	}
	cfg := pickVersion(res)
	fn := s.metricsOf(cfg.Name)
	trace, n := recursion.NextHashed(q.TraceHeader, fn.arnHash, cfg.TracingMode == "Active")
	if recursion.Stopped(n, registry.RecursiveLoopOf(res.Function)) {
		s.stopRecursion(cfg.Name, trace, q.RequestID)
		return nil, errRecursive
	}
	release, err := s.admit(ctx, res.Function, cfg)
	if err != nil {
		return nil, err
	}
	req := environment.Request{
		ID:            q.RequestID,
		Payload:       payload,
		InvokedARN:    fn.resolvedARN(s.reg, res),
		TraceID:       trace.String(),
		ClientContext: clientContext,
		NeedLog:       q.LogType == LogTail || s.log.Enabled(ctx, slog.LevelDebug),
	}
	if sink != nil {
		req.Stream = streamTo{sink: sink, version: cfg.Version}
	}
	// The caller going away does not cancel a started invocation (docs/behaviour/invoke.md §4).
	out, err := s.run(context.WithoutCancel(ctx), cfg, req, q.LogType == LogTail, release)
	if err != nil {
		return nil, err
	}
	r := result(cfg, out)
	if r.FunctionError != "" {
		s.metricsOf(cfg.Name).errors.Inc()
	}
	if q.LogType == LogTail {
		r.LogResult = base64.StdEncoding.EncodeToString(tail(out.Log, LogTailBytes))
	}
	return r, nil
}

func result(cfg *function.Config, out environment.Result) *Result {
	r := &Result{Status: http.StatusOK, Payload: out.Body, ExecutedVersion: cfg.Version}
	if out.FunctionError != nil {
		r.FunctionError = "Unhandled"
		r.Payload = out.FunctionError.Document
		r.ErrorType = out.FunctionError.Type
	}
	return r
}

// admit takes a concurrency slot for f, counting a refusal as a throttle.
// A function in debug mode runs one invocation at a time
// (docs/behaviour/dev-loop.md §6).
func (s *Service) admit(ctx context.Context, f *function.Function, cfg *function.Config) (func(), error) {
	reserved := f.ReservedConcurrency
	if DebugMode(cfg) && (reserved == nil || *reserved > 1) {
		one := 1
		reserved = &one
	}
	release, err := s.limit.admit(ctx, f.Name, reserved, s.reg.ReservedTotal())
	if err != nil {
		s.throttles.WithLabelValues(f.Name).Inc()
	}
	return release, err
}

// Accepted is an Event invocation that passed the API's checks and can be
// queued.
type Accepted struct {
	Function  string
	Qualifier string // as addressed; "" = unqualified
	Payload   []byte // an empty payload is already {}
	// Trace is the header the event's attempts carry: the caller's chain
	// with this function's hop counted (docs/behaviour/recursion.md §4).
	Trace string
}

// CheckEvent runs the checks an Event invocation passes before it is
// queued (docs/behaviour/invoke.md §2 steps 3–7; ClientContext and LogType are ignored).
func (s *Service) CheckEvent(q *Request) (*Accepted, error) {
	ref, err := q.checkModel(s.cfg.Region, s.cfg.AccountID)
	if err != nil {
		return nil, err
	}
	res, err := s.resolve(ref)
	if err != nil {
		return nil, err
	}
	payload, err := q.checkPayload()
	if err != nil {
		return nil, err
	}
	return &Accepted{Function: ref.Name, Qualifier: ref.Qualifier, Payload: payload,
		Trace: s.NextTrace(q.TraceHeader, res.Function.Name)}, nil
}

// NextTrace is the header an event for functionName carries when caused by
// a call with header (an Event invoke, a destination delivery): the chain
// with the function's hop counted. Whether the hop is allowed is decided
// when the attempt is due (RunEvent).
func (s *Service) NextTrace(header, functionName string) string {
	t, _ := recursion.Next(header, s.reg.ARN(functionName, ""), false)
	return t.String()
}

var errRecursive = awserr.Newf(awserr.RecursiveInvocation,
	"Lambda has detected your function being invoked in a recursive loop with other AWS resources and stopped your function's invocation.")

// stopRecursion counts and logs an invocation stopped by loop detection.
func (s *Service) stopRecursion(name string, t recursion.Trace, requestID string) {
	s.recursive.WithLabelValues(name).Inc()
	s.log.Warn("recursive invocation stopped", logkey.Function, name, logkey.RequestID, requestID,
		logkey.ChainRoot, t.Root, logkey.Count, t.Count(recursion.Hash(s.reg.ARN(name, ""))))
}

// OutcomeKind classifies how an attempt of an event ended.
type OutcomeKind int

const (
	// Succeeded: the function ran and returned a result.
	Succeeded OutcomeKind = iota
	// FunctionFailed: the function ran and failed (any function error).
	FunctionFailed
	// Throttled: no concurrency was available; nothing ran.
	Throttled
	// SystemError: lambada could not run the function; nothing is known to
	// have run.
	SystemError
	// Gone: the function or the addressed qualifier no longer exists.
	Gone
	// ZeroConcurrency: the function's reserved concurrency is 0.
	ZeroConcurrency
	// RecursionStopped: loop detection stopped the event; nothing ran.
	RecursionStopped
)

// EventAttempt is one attempt of a queued event.
type EventAttempt struct {
	Function, Qualifier string
	RequestID           string
	Payload             []byte
	TraceHeader         string
}

// EventOutcome is how an attempt ended.
type EventOutcome struct {
	Kind   OutcomeKind
	Result *Result // Succeeded and FunctionFailed
	// VersionARN is the qualified ARN of the version that ran (or would
	// have run).
	VersionARN string
	Err        error
}

// RunEvent runs one attempt of a queued event through the same path as a
// synchronous call: resolution (aliases re-resolved per attempt),
// concurrency, pool, timeouts.
func (s *Service) RunEvent(ctx context.Context, ev EventAttempt) EventOutcome {
	ref := function.Ref{Region: s.cfg.Region, Account: s.cfg.AccountID, Name: ev.Function, Qualifier: ev.Qualifier}
	res, err := s.reg.Resolve(ref)
	if err != nil {
		return EventOutcome{Kind: Gone, Err: err}
	}
	cfg := pickVersion(res)
	out := EventOutcome{VersionARN: s.reg.ARN(cfg.Name, cfg.Version)}
	// The hop was counted when the event was accepted; the setting is read
	// now, so a Put of Allow applies to queued events (docs/behaviour/recursion.md §4).
	trace := recursion.Parse(ev.TraceHeader)
	if recursion.Stopped(trace.Count(recursion.Hash(s.reg.ARN(cfg.Name, ""))), registry.RecursiveLoopOf(res.Function)) {
		s.stopRecursion(cfg.Name, trace, ev.RequestID)
		out.Kind = RecursionStopped
		return out
	}
	if trace.Root == "" {
		// An event queued without a chain (before this server counted
		// hops): start one.
		t, _ := recursion.Next("", s.reg.ARN(cfg.Name, ""), cfg.TracingMode == "Active")
		ev.TraceHeader = t.String()
	}
	if rc := res.Function.ReservedConcurrency; rc != nil && *rc == 0 {
		out.Kind = ZeroConcurrency
		return out
	}
	release, err := s.admit(ctx, res.Function, cfg)
	if err != nil {
		out.Kind, out.Err = Throttled, err
		return out
	}
	env, err := s.run(ctx, cfg, environment.Request{
		ID:         ev.RequestID,
		Payload:    ev.Payload,
		InvokedARN: s.reg.ResolvedARN(res),
		TraceID:    ev.TraceHeader,
		NeedLog:    s.log.Enabled(ctx, slog.LevelDebug),
	}, false, release)
	if err != nil {
		out.Kind, out.Err = SystemError, err
		return out
	}
	out.Result = result(cfg, env)
	out.Kind = Succeeded
	if out.Result.FunctionError != "" {
		out.Kind = FunctionFailed
		s.metricsOf(cfg.Name).errors.Inc()
	}
	return out
}

// resolve looks the function up; Invoke's 404 always names a qualifier.
func (s *Service) resolve(ref function.Ref) (registry.Resolved, error) {
	res, err := s.reg.Resolve(ref)
	if err != nil && ref.Qualifier == "" && awserr.Is(err, awserr.ResourceNotFound) {
		return res, awserr.New(awserr.ResourceNotFound, "Function not found: "+s.reg.ARN(ref.Name, function.Latest))
	}
	return res, err
}

// pickVersion applies an alias's routing weights: each invoke independently
// runs the weighted version with its probability.
func pickVersion(res registry.Resolved) *function.Config {
	if res.Alias == nil || len(res.Alias.Weights) == 0 {
		return res.Config
	}
	x := rand.Float64()
	for v, w := range res.Alias.Weights {
		if x < w {
			if c, ok := res.Function.Version(v); ok {
				return c
			}
		}
		x -= w
	}
	return res.Config
}

// maxAttempts bounds how often an invocation retries on an environment
// that died while idle (before it was dispatched to).
const maxAttempts = 3

// run takes an environment and runs req on it, on the caller's goroutine:
// dispatch to the runtime's /next, then the wait for its result. A
// successful result whose log nobody reads (needLog false, req.NeedLog
// false) is answered at once: the environment and the concurrency slot go
// back right away, and the runtime's next /next writes the log's END and
// REPORT (environment.Pending.Detach); one whose log is mirrored at debug
// level too, while a goroutine waits for the log. With needLog (Tail) the
// caller waits for the whole log. A function error (the runtime may exit
// next, as aws-lambda-go does after a panic) is answered at once while a
// goroutine finishes the invocation and only then gives the environment
// and the slot back. done is called exactly once, when the environment is
// released.
func (s *Service) run(ctx context.Context, cfg *function.Config, req environment.Request, needLog bool, done func()) (environment.Result, error) {
	key := pool.Key{Function: cfg.Name, Version: cfg.Version, Revision: s.revision(cfg)}
	m := s.metricsOf(cfg.Name)
	for attempt := 1; ; attempt++ {
		lease, err := s.pool.Acquire(ctx, key, func(ctx context.Context) (*env, error) { return s.start(ctx, cfg) })
		if err != nil {
			done()
			return environment.Result{}, err
		}
		if lease.Cold {
			m.coldStarts.Inc()
		}
		start := time.Now()
		p, res, err := lease.Env.Dispatch(ctx, req)
		if p == nil {
			// It ended before the runtime took it.
			lease.Release(err != nil || res.Broken)
			if errors.Is(err, environment.ErrBroken) && attempt < maxAttempts {
				continue // the runtime died while idle: a fresh environment
			}
			done()
			if err != nil {
				return environment.Result{}, awserr.Internal(fmt.Errorf("invoking %s:%s: %w", cfg.Name, cfg.Version, err))
			}
			s.ended(m, cfg, req.ID, lease.Cold, start, res)
			return res, nil
		}
		res, over := p.Await()
		switch {
		case over:
			lease.Release(true)
			done()
			s.ended(m, cfg, req.ID, lease.Cold, start, res)
		case needLog:
			res = p.Finish()
			lease.Release(res.Broken)
			done()
			s.ended(m, cfg, req.ID, lease.Cold, start, res)
		case res.FunctionError == nil && !req.NeedLog:
			p.Detach()
			lease.Release(false)
			done()
			m.invocations.Inc()
			m.duration.Observe(time.Since(start).Seconds())
		case res.FunctionError == nil:
			// Its log is mirrored at debug level: the environment and the
			// slot go back now, a goroutine waits for the whole log.
			p.Free()
			lease.Release(false)
			done()
			s.wg.Add(1)
			go func(cold bool) {
				defer s.wg.Done()
				s.ended(m, cfg, req.ID, cold, start, p.Finish())
			}(lease.Cold)
		default:
			// Keep the environment until it is idle; Acquire waits for it
			// rather than starting another.
			lease.Finishing()
			s.wg.Add(1)
			go func(cold bool) {
				defer s.wg.Done()
				full := p.Finish()
				lease.Release(full.Broken)
				done()
				s.ended(m, cfg, req.ID, cold, start, full)
			}(lease.Cold)
		}
		return res, nil
	}
}

// ended counts an invocation that ran to its end and mirrors its log.
func (s *Service) ended(m *fnMetrics, cfg *function.Config, id string, cold bool, start time.Time, res environment.Result) {
	m.invocations.Inc()
	m.duration.Observe(time.Since(start).Seconds())
	s.mirror(cfg, id, cold, res)
}

// fnMetrics are one function's series, looked up once (curried label
// values) instead of on every invocation, and its unqualified ARN.
type fnMetrics struct {
	invocations, errors, coldStarts prometheus.Counter
	duration                        prometheus.Observer
	arn, arnHash                    string // recursion.Hash(arn)
}

// resolvedARN is the ARN res was addressed by (registry.ResolvedARN),
// the cached one when unqualified.
func (m *fnMetrics) resolvedARN(reg *registry.Registry, res registry.Resolved) string {
	if res.Qualifier == "" {
		return m.arn
	}
	return reg.ResolvedARN(res)
}

// metricsOf returns name's series. The cache is keyed by function name
// only; a deleted function's entry is small and is kept.
func (s *Service) metricsOf(name string) *fnMetrics {
	if m, ok := s.fnMetrics.Load(name); ok {
		return m.(*fnMetrics)
	}
	m := &fnMetrics{
		invocations: s.invocations.WithLabelValues(name),
		errors:      s.errors.WithLabelValues(name),
		coldStarts:  s.coldStarts.WithLabelValues(name),
		duration:    s.duration.WithLabelValues(name),
		arn:         s.reg.ARN(name, ""),
	}
	m.arnHash = recursion.Hash(m.arn)
	v, _ := s.fnMetrics.LoadOrStore(name, m)
	return v.(*fnMetrics)
}

// mirror writes an invocation's log lines (its Result.Log: the output
// cut to its newest environment.KeepLogBytes) to lambada's own log at debug
// level, attributed to function, version and request id.
func (s *Service) mirror(cfg *function.Config, id string, cold bool, res environment.Result) {
	if !s.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	l := s.log.With(logkey.Function, cfg.Name, logkey.Version, cfg.Version, logkey.RequestID, id)
	for _, line := range strings.Split(strings.TrimSuffix(string(res.Log), "\n"), "\n") {
		l.Debug(line)
	}
	l.Debug("invocation", logkey.Cold, cold, logkey.Duration, res.Duration, logkey.FunctionError, res.FunctionError != nil, logkey.Broken, res.Broken)
}

// start makes a new environment for cfg: code unpacked, a private /tmp,
// the runtime's command.
func (s *Service) start(ctx context.Context, cfg *function.Config) (*env, error) {
	taskRoot, err := s.taskRoot(ctx, cfg)
	if awserr.Is(err, awserr.InvalidZipFile) {
		return nil, err
	}
	if err != nil {
		if awserr.Is(err, awserr.ResourceNotFound) {
			return nil, awserr.Newf(awserr.InvalidZipFile, "Lambda was unable to read the stored deployment package of %s:%s.", cfg.Name, cfg.Version)
		}
		return nil, awserr.Internal(err)
	}
	optDir, err := s.opt.optPath(ctx, s.code, cfg.Layers, s.generation)
	if err != nil {
		if awserr.Is(err, awserr.ResourceNotFound) {
			return nil, awserr.Newf(awserr.InvalidZipFile, "Lambda was unable to read the stored layers of %s:%s.", cfg.Name, cfg.Version)
		}
		return nil, awserr.Internal(err)
	}
	launch, err := s.command(cfg, taskRoot, optDir)
	if errors.Is(err, runtimes.ErrUnsupported) {
		return nil, awserr.Newf(awserr.InvalidRuntime, "The runtime parameter of %s is not supported on this host yet.", cfg.Runtime)
	}
	if err != nil {
		return nil, awserr.Internal(err)
	}
	// A host folder for TMPDIR, unless the sandbox mounts the
	// environment's own /tmp (then nothing on the host would use it).
	box, timeout := s.cfg.Sandbox, cfg.Timeout
	if DebugMode(cfg) {
		// docs/behaviour/dev-loop.md §6: no timeout, no sandbox, the
		// debugger's port.
		box, timeout = nil, DebugTimeoutSec
		launch = debugLaunch(cfg, launch)
		s.log.Warn("debug mode: the timeout is suspended and the environment runs without the sandbox",
			logkey.Function, cfg.Name, logkey.Version, cfg.Version, logkey.Runtime, cfg.Runtime)
	}
	var tmp string
	if !box.Mounts() {
		if tmp, err = s.spare.take(); err != nil {
			return nil, awserr.Internal(err)
		}
	}
	stream := environment.LogStreamName(time.Now(), cfg.Version)
	var sink environment.LogSink
	if s.cfg.Logs != nil {
		sink = s.cfg.Logs.Open(cfg, stream)
	}
	e, err := environment.Start(ctx, environment.Spec{
		FunctionName: cfg.Name, Version: cfg.Version, Handler: cfg.Handler, Runtime: cfg.Runtime,
		MemoryMB: cfg.MemorySize, TimeoutSec: timeout,
		TaskRoot: taskRoot, OptDir: optDir, TmpDir: tmp,
		Env: cfg.Environment, Region: s.cfg.Region, LogGroup: cfg.LogGroupName(),
		LogFormat: cfg.LogFormat, AppLogLevel: cfg.AppLogLevel, SystemLogLevel: cfg.SystemLogLevel,
		Command: launch.Argv, RuntimeDir: launch.RuntimeDir, ExtraEnv: s.extraEnv(cfg.Name, launch.Env),
		StreamRate: s.cfg.StreamRate,
		Sandbox:    box, EphemeralMB: cfg.EphemeralStorage,
		LogSink: sink, LogStream: stream,
	}, s.log)
	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, awserr.Internal(err)
	}
	return &env{Env: e, tmp: tmp}, nil
}

// taskRoot is cfg's code folder: the host folder itself or the unpacked
// zip. Host folders, its code's and its layers', are watched from now on.
func (s *Service) taskRoot(ctx context.Context, cfg *function.Config) (string, error) {
	if s.hot != nil {
		for _, dir := range cfg.Folders() {
			if err := s.hot.Watch(dir); err != nil {
				what := "layer"
				if dir == cfg.CodeDir {
					what = "code"
				}
				return "", awserr.Newf(awserr.InvalidZipFile, "Lambda was unable to read the %s folder %s of %s:%s.", what, dir, cfg.Name, cfg.Version)
			}
			// The function was deleted or moved off the folder while it
			// started: unwatchUnused may have looked before this Watch.
			if !s.reg.UsesFolder(dir) {
				s.hot.Unwatch(dir)
			}
		}
	}
	if cfg.CodeDir == "" {
		return s.code.path(ctx, cfg.CodeHex)
	}
	return cfg.CodeDir, nil
}

// extraEnv is the runtime's own variables plus what the function needs to
// call lambada back.
func (s *Service) extraEnv(name string, runtimeEnv map[string]string) map[string]string {
	out := maps.Clone(runtimeEnv)
	if out == nil {
		out = map[string]string{}
	}
	if s.cfg.CallbackEnv != nil {
		maps.Copy(out, s.cfg.CallbackEnv(name))
	}
	return out
}

// command is how to start cfg's runtime. A custom runtime without a
// bootstrap of its own runs the one its layers bring in /opt, as on AWS
// (docs/behaviour/layers.md §6).
func (s *Service) command(cfg *function.Config, taskRoot, optDir string) (runtimes.Launch, error) {
	host := s.cfg.Runtimes
	if host == nil {
		host = &runtimes.Host{} // no interpreters: provided.* only
	}
	host.Check(cfg.Name, cfg.Runtime)
	l, err := host.Command(cfg.Runtime, taskRoot)
	if err == nil && optDir != "" && function.RuntimeFamily(cfg.Runtime) == "provided" {
		if _, serr := os.Lstat(l.Argv[0]); serr != nil {
			if fi, oerr := os.Stat(filepath.Join(optDir, "bootstrap")); oerr == nil && fi.Mode().IsRegular() {
				l.Argv = []string{filepath.Join(optDir, "bootstrap")}
			}
		}
	}
	return l, err
}

// tail returns the last n bytes of log, cut on a byte boundary.
func tail(log []byte, n int) []byte {
	if len(log) <= n {
		return log
	}
	return log[len(log)-n:]
}
