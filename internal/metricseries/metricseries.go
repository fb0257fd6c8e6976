// Package metricseries keeps a short in-memory history of the server's own
// Prometheus metrics for the console: every Step (10 s) it gathers the
// registry once and keeps, for the last Span (1 h), per function the
// invocations, errors and throttles in the step, the duration histogram's
// counts in the step and the concurrent executions at the sample, and
// server-wide the async queue's depth and oldest event age
// (docs/architecture.md).
//
// Sampling reads the registry the way a scraper does, so the invocation
// path carries nothing for it. Only functions with something to report in
// a step take memory in it.
package metricseries

import (
	"context"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/lambada-dev/lambada/internal/logkey"
)

// Defaults.
const (
	DefaultStep = 10 * time.Second
	DefaultSpan = time.Hour
)

// The metrics sampled, by their exposition names.
const (
	MetricInvocations   = "lambada_invocations_total"
	MetricErrors        = "lambada_errors_total"
	MetricThrottles     = "lambada_throttles_total"
	MetricDuration      = "lambada_invocation_duration_seconds"
	MetricConcurrent    = "lambada_concurrent_executions"
	MetricQueueDepth    = "lambada_async_queue_depth"
	MetricQueueOldest   = "lambada_async_oldest_event_age_seconds"
	MetricFunctionDepth = "lambada_async_function_queue_depth"
	MetricFunctionAge   = "lambada_async_function_oldest_event_age_seconds"
	MetricAsyncInFlight = "lambada_async_attempts_in_flight"
	functionLabel       = "function_name"
)

// Config configures a Store.
type Config struct {
	Gatherer prometheus.Gatherer
	Step     time.Duration // DefaultStep when 0
	Span     time.Duration // DefaultSpan when 0
	Logger   *slog.Logger
	Now      func() time.Time
}

// Store is the history. Its methods are safe for concurrent use.
type Store struct {
	cfg  Config
	log  *slog.Logger
	stop context.CancelFunc
	done chan struct{}

	mu     sync.RWMutex
	slots  []slot // ring of Span/Step samples
	next   int    // index the next sample goes to
	n      int    // samples held
	prev   map[string]cumulative
	bounds []float64 // the duration histogram's upper bounds (seconds)
	cache  map[time.Duration]map[string]Summary
	failed bool // the last Gather failed (logged once per failure run)
}

type slot struct {
	t      time.Time
	fns    map[string]*point
	depth  float64 // async queue depth; NaN when not reported
	oldest float64 // seconds; NaN when not reported
}

// point is one function's figures in one step.
type point struct {
	invocations, errors, throttles int64
	count                          uint64   // durations observed in the step
	buckets                        []uint64 // cumulative counts per bound, in the step
	concurrent                     float64
	queued                         float64 // events of the function waiting in the queue
	queuedAge                      float64 // age of the oldest of them (s)
	inFlight                       float64 // async attempts running on this node
}

// cumulative is a function's counters at the previous sample.
type cumulative struct {
	invocations, errors, throttles float64
	count                          uint64
	buckets                        []uint64
}

// New builds a store; Start begins sampling.
func New(cfg Config) *Store {
	if cfg.Step <= 0 {
		cfg.Step = DefaultStep
	}
	if cfg.Span <= 0 {
		cfg.Span = DefaultSpan
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	n := int(cfg.Span / cfg.Step)
	if n < 1 {
		n = 1
	}
	return &Store{cfg: cfg, log: cfg.Logger, slots: make([]slot, n), prev: map[string]cumulative{}}
}

// Step is the time between samples.
func (s *Store) Step() time.Duration { return s.cfg.Step }

// Start samples every Step on its own goroutine until Close.
func (s *Store) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop, s.done = cancel, make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.cfg.Step)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.Sample()
			}
		}
	}()
}

// Close stops sampling and waits for the sampler.
func (s *Store) Close() {
	if s.stop == nil {
		return
	}
	s.stop()
	<-s.done
}

// Sample gathers the registry once and records the step that ended now.
func (s *Store) Sample() {
	families, err := s.cfg.Gatherer.Gather()
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil && !s.failed {
		// Gather returns what it could read beside the error.
		s.log.Warn("metricseries: gathering the metrics failed", logkey.Err, err)
	}
	s.failed = err != nil
	sl := slot{t: now, fns: map[string]*point{}, depth: math.NaN(), oldest: math.NaN()}
	cur := map[string]cumulative{}
	var gauges []*dto.MetricFamily
	for _, mf := range families {
		switch mf.GetName() {
		case MetricInvocations, MetricErrors, MetricThrottles:
			for _, m := range mf.GetMetric() {
				fn := label(m)
				c := cur[fn]
				v := m.GetCounter().GetValue()
				switch mf.GetName() {
				case MetricInvocations:
					c.invocations = v
				case MetricErrors:
					c.errors = v
				default:
					c.throttles = v
				}
				cur[fn] = c
			}
		case MetricDuration:
			for _, m := range mf.GetMetric() {
				fn := label(m)
				h := m.GetHistogram()
				c := cur[fn]
				c.count = h.GetSampleCount()
				bs := h.GetBucket()
				if s.bounds == nil || len(s.bounds) != len(bs) {
					s.bounds = make([]float64, len(bs))
					for i, b := range bs {
						s.bounds[i] = b.GetUpperBound()
					}
				}
				c.buckets = make([]uint64, len(bs))
				for i, b := range bs {
					c.buckets[i] = b.GetCumulativeCount()
				}
				cur[fn] = c
			}
		case MetricQueueDepth:
			if ms := mf.GetMetric(); len(ms) > 0 {
				sl.depth = ms[0].GetGauge().GetValue()
			}
		case MetricQueueOldest:
			if ms := mf.GetMetric(); len(ms) > 0 {
				sl.oldest = ms[0].GetGauge().GetValue()
			}
		case MetricConcurrent, MetricFunctionDepth, MetricFunctionAge, MetricAsyncInFlight:
			gauges = append(gauges, mf)
		}
	}
	for fn, c := range cur {
		p := c.delta(s.prev[fn])
		if p.invocations != 0 || p.errors != 0 || p.throttles != 0 || p.count != 0 {
			sl.fns[fn] = p
		}
	}
	for _, mf := range gauges {
		for _, m := range mf.GetMetric() {
			v := m.GetGauge().GetValue()
			if v == 0 {
				continue
			}
			fn := label(m)
			p := sl.fns[fn]
			if p == nil {
				p = &point{}
				sl.fns[fn] = p
			}
			switch mf.GetName() {
			case MetricConcurrent:
				p.concurrent = v
			case MetricFunctionDepth:
				p.queued = v
			case MetricFunctionAge:
				p.queuedAge = v
			default:
				p.inFlight = v
			}
		}
	}
	s.prev = cur
	s.slots[s.next] = sl
	s.next = (s.next + 1) % len(s.slots)
	s.n = min(s.n+1, len(s.slots))
	s.cache = nil
}

// delta is what c counted since prev; a counter that went down was reset
// (the series was deleted and created again) and counts from zero.
func (c cumulative) delta(prev cumulative) *point {
	d := func(cur, prev float64) int64 {
		if cur < prev {
			return int64(cur)
		}
		return int64(cur - prev)
	}
	p := &point{invocations: d(c.invocations, prev.invocations), errors: d(c.errors, prev.errors), throttles: d(c.throttles, prev.throttles)}
	if c.count < prev.count || len(prev.buckets) != len(c.buckets) {
		prev = cumulative{buckets: make([]uint64, len(c.buckets))}
	}
	p.count = c.count - prev.count
	if p.count > 0 {
		p.buckets = make([]uint64, len(c.buckets))
		for i := range c.buckets {
			if c.buckets[i] >= prev.buckets[i] {
				p.buckets[i] = c.buckets[i] - prev.buckets[i]
			}
		}
	}
	return p
}

func label(m *dto.Metric) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == functionLabel {
			return l.GetValue()
		}
	}
	return ""
}

// Summary of one function (all its versions and aliases) over the last
// window (at most the span).
type Summary struct {
	Invocations, Errors, Throttles int64
	// DurationP50, DurationP99 are estimated from the duration histogram's
	// buckets like Prometheus's histogram_quantile (linear within the
	// bucket); 0 when nothing ran in the window.
	DurationP50, DurationP99 time.Duration
}

// Summary sums function's steps within window of the newest sample (the
// newest step included).
func (s *Store) Summary(function string, window time.Duration) Summary {
	return s.Summaries(window)[function]
}

// Summaries is Summary for every function with something in the window,
// computed once per sample and window and shared by later calls.
func (s *Store) Summaries(window time.Duration) map[string]Summary {
	s.mu.RLock()
	if m, ok := s.cache[window]; ok {
		s.mu.RUnlock()
		return m
	}
	s.mu.RUnlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.cache[window]; ok {
		return m
	}
	type acc struct {
		sum     Summary
		count   uint64
		buckets []uint64
	}
	accs := map[string]*acc{}
	s.each(window, func(sl *slot) {
		for fn, p := range sl.fns {
			a := accs[fn]
			if a == nil {
				a = &acc{}
				accs[fn] = a
			}
			a.sum.Invocations += p.invocations
			a.sum.Errors += p.errors
			a.sum.Throttles += p.throttles
			if p.count > 0 && len(p.buckets) == len(s.bounds) {
				if a.buckets == nil {
					a.buckets = make([]uint64, len(s.bounds))
				}
				a.count += p.count
				for i, b := range p.buckets {
					a.buckets[i] += b
				}
			}
		}
	})
	m := make(map[string]Summary, len(accs))
	for fn, a := range accs {
		a.sum.DurationP50 = seconds(quantile(0.5, s.bounds, a.buckets, a.count))
		a.sum.DurationP99 = seconds(quantile(0.99, s.bounds, a.buckets, a.count))
		m[fn] = a.sum
	}
	if s.cache == nil {
		s.cache = map[time.Duration]map[string]Summary{}
	}
	s.cache[window] = m
	return m
}

// each calls fn for the held slots that ended within window of the newest
// sample, oldest first. s.mu is held.
func (s *Store) each(window time.Duration, fn func(*slot)) {
	if s.n == 0 {
		return
	}
	now := s.slots[(s.next-1+len(s.slots))%len(s.slots)].t
	for i := 0; i < s.n; i++ {
		sl := &s.slots[(s.next-s.n+i+len(s.slots))%len(s.slots)]
		if now.Sub(sl.t) < window {
			fn(sl)
		}
	}
}

func seconds(v float64) time.Duration {
	if math.IsNaN(v) {
		return 0
	}
	return time.Duration(v * float64(time.Second))
}

// quantile estimates the q-quantile from cumulative bucket counts (upper
// bounds in bounds, the last one +Inf) the way Prometheus's
// histogram_quantile does: linear interpolation within the bucket the rank
// falls in, the highest finite bound when it falls in +Inf. NaN when count
// is 0.
func quantile(q float64, bounds []float64, buckets []uint64, count uint64) float64 {
	if count == 0 || len(buckets) == 0 {
		return math.NaN()
	}
	rank := q * float64(count)
	i := sort.Search(len(buckets), func(i int) bool { return float64(buckets[i]) >= rank })
	if i >= len(buckets) {
		// Above every finite bucket (observations only in +Inf).
		return bounds[len(bounds)-1]
	}
	if math.IsInf(bounds[i], 1) {
		if i == 0 {
			return math.NaN()
		}
		return bounds[i-1]
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = bounds[i-1], float64(buckets[i-1])
	}
	in := float64(buckets[i]) - below
	if in <= 0 {
		return bounds[i]
	}
	return lower + (bounds[i]-lower)*(rank-below)/in
}

// Value is a sample that may be missing (NaN), written as null in JSON so
// charts leave a gap.
type Value float64

// MarshalJSON writes NaN and infinities as null.
func (v Value) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// Series is one function's steps (all functions' when the name is ""),
// columnar as charts take it: Times[i] (Unix seconds, when the step ended)
// goes with every other column's i-th value. Durations are milliseconds,
// null in a step where nothing finished. Depth and OldestAge are the whole
// async queue's, whichever function was asked for.
type Series struct {
	StepSeconds float64 `json:"stepSeconds"`
	Times       []int64 `json:"times"`
	Invocations []Value `json:"invocations"`
	Errors      []Value `json:"errors"`
	Throttles   []Value `json:"throttles"`
	DurationP50 []Value `json:"durationP50"`
	DurationP99 []Value `json:"durationP99"`
	Concurrent  []Value `json:"concurrent"`
	Queued      []Value `json:"queued"`    // the function's events waiting
	QueuedAge   []Value `json:"queuedAge"` // the age of its oldest (s; the oldest of all functions' for "")
	InFlight    []Value `json:"inFlight"`  // its async attempts running on this node
	Depth       []Value `json:"depth"`
	OldestAge   []Value `json:"oldestAge"` // seconds
}

// Series returns function's steps within window of now, oldest first.
func (s *Store) Series(function string, window time.Duration) Series {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := Series{StepSeconds: s.cfg.Step.Seconds()}
	s.each(window, func(sl *slot) {
		var agg point
		var bk []uint64
		add := func(p *point) {
			agg.invocations += p.invocations
			agg.errors += p.errors
			agg.throttles += p.throttles
			agg.concurrent += p.concurrent
			agg.queued += p.queued
			agg.queuedAge = max(agg.queuedAge, p.queuedAge)
			agg.inFlight += p.inFlight
			if p.count > 0 && len(p.buckets) == len(s.bounds) {
				if bk == nil {
					bk = make([]uint64, len(s.bounds))
				}
				agg.count += p.count
				for i, b := range p.buckets {
					bk[i] += b
				}
			}
		}
		if function == "" {
			for _, p := range sl.fns {
				add(p)
			}
		} else if p := sl.fns[function]; p != nil {
			add(p)
		}
		ms := func(q float64) Value { return Value(quantile(q, s.bounds, bk, agg.count) * 1000) }
		out.Times = append(out.Times, sl.t.Unix())
		out.Invocations = append(out.Invocations, Value(agg.invocations))
		out.Errors = append(out.Errors, Value(agg.errors))
		out.Throttles = append(out.Throttles, Value(agg.throttles))
		out.DurationP50 = append(out.DurationP50, ms(0.5))
		out.DurationP99 = append(out.DurationP99, ms(0.99))
		out.Concurrent = append(out.Concurrent, Value(agg.concurrent))
		out.Queued = append(out.Queued, Value(agg.queued))
		out.QueuedAge = append(out.QueuedAge, Value(agg.queuedAge))
		out.InFlight = append(out.InFlight, Value(agg.inFlight))
		out.Depth = append(out.Depth, Value(sl.depth))
		out.OldestAge = append(out.OldestAge, Value(sl.oldest))
	})
	return out
}

// Functions lists the functions with something in the span, sorted.
func (s *Store) Functions() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	seen := map[string]bool{}
	s.each(s.cfg.Span+s.cfg.Step, func(sl *slot) {
		for fn := range sl.fns {
			seen[fn] = true
		}
	})
	out := make([]string, 0, len(seen))
	for fn := range seen {
		out = append(out, fn)
	}
	sort.Strings(out)
	return out
}
