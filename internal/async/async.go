// Package async makes Event invocations durable before they are answered
// with 202, then runs them through the invoke service with AWS's retries,
// event-age limit, destinations and dead-letter delivery.
//
// The queue is a JetStream work-queue stream shared by every node: an
// attempt runs on exactly one of them. An event carries its own attempt
// count and next-attempt time; a retry is a new copy of the event published
// before the old one is acknowledged, so the schedule survives restarts and
// a crash can only duplicate an attempt, never lose an event.
package async

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/invoke"
	"github.com/lambada-dev/lambada/internal/logkey"
	"github.com/lambada-dev/lambada/internal/registry"
	"github.com/lambada-dev/lambada/internal/store"
)

// Defaults.
const (
	DefaultRetryDelay = time.Minute
	DefaultInFlight   = 256
	maxBackoff        = 5 * time.Minute
	// EventSubjectPrefix is where events are queued, one subject per function.
	EventSubjectPrefix = "lambada.events."
	// DestinationSubjectPrefix is where records for non-Lambda destinations go.
	DestinationSubjectPrefix = "lambada.destinations."
	// AttemptRecordTTL is how long Config.Attempts must keep a record:
	// past the longest event age, no copy of the event runs any more.
	AttemptRecordTTL = function.DefaultMaximumEventAgeInSeconds*time.Second + time.Hour
)

// Config configures the async service.
type Config struct {
	Region, AccountID string
	// RetryDelay is the base of the function-error retry schedule: the
	// k-th retry waits k × RetryDelay (--async-retry-delay).
	RetryDelay time.Duration
	// InFlight bounds the attempts this node runs at once.
	InFlight int
	// Attempts, when set, records every attempt that ran (a key per
	// event and attempt, kept AttemptRecordTTL), so that an attempt run
	// again — its acknowledgement lost, or its node gone after the run —
	// is counted in lambada_async_duplicate_attempts_total
	// (docs/behaviour/cluster.md §7).
	Attempts store.KV
	Logger   *slog.Logger
	Metrics  prometheus.Registerer
	Now      func() time.Time
}

// RecordStream is where records for non-Lambda destinations go: appended
// durably and read back by subject.
type RecordStream interface {
	store.Stream
	store.Reader
}

// Service accepts events and runs them.
type Service struct {
	cfg     Config
	queue   store.Queue
	records RecordStream
	inv     *invoke.Service
	reg     *registry.Registry
	log     *slog.Logger

	// ctx ends when Close begins: an attempt that has not reached its
	// function yet (admission, cold start, its code's read) gives up then
	// and its event runs later (docs/behaviour/cluster.md §3); one already
	// running is waited for.
	ctx  context.Context
	stop context.CancelFunc
	done chan struct{}
	wg   sync.WaitGroup

	// running counts this node's attempts per function, busy all of them,
	// so one function's backlog cannot hold every worker slot while others
	// wait (takeLocked); parked are events waiting here for a worker.
	mu      sync.Mutex
	running map[string]int
	busy    int
	parked  map[string][]*parkedEvent
	nParked int
	closing bool // no more parking

	// failures counts the throttles and system errors of each attempt
	// this node backed off from (backoffFor).
	failMu   sync.Mutex
	failures map[failKey]failCount
	pruneAt  int

	m metrics
}

// New builds the service; Start begins consuming.
func New(cfg Config, queue store.Queue, records RecordStream, inv *invoke.Service, reg *registry.Registry) *Service {
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = DefaultRetryDelay
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = DefaultInFlight
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{cfg: cfg, queue: queue, records: records, inv: inv, reg: reg, log: cfg.Logger, running: map[string]int{}, parked: map[string][]*parkedEvent{}, failures: map[failKey]failCount{}}
	s.m = newMetrics(cfg.Metrics, queue)
	if cfg.Metrics != nil {
		cfg.Metrics.MustRegister(inFlightCollector{s})
	}
	return s
}

// Accept checks an Event invocation like Invoke does and stores it
// durably; only then may the caller get its 202.
func (s *Service) Accept(ctx context.Context, q *invoke.Request) error {
	acc, err := s.inv.CheckEvent(q)
	if err != nil {
		return err
	}
	ev := &event{
		RequestID: q.RequestID, Function: acc.Function, Qualifier: acc.Qualifier,
		Payload: acc.Payload, Accepted: s.cfg.Now().UTC(), Trace: acc.Trace,
	}
	if err := s.publish(ctx, ev); err != nil {
		return awserr.Internal(fmt.Errorf("queueing event %s: %w", q.RequestID, err))
	}
	s.m.received.WithLabelValues(acc.Function).Inc()
	return nil
}

func (s *Service) publish(ctx context.Context, ev *event) error {
	return s.queue.Publish(ctx, store.Message{
		Subject: EventSubjectPrefix + ev.Function, Data: ev.encode(),
		Header: map[string]string{"Lambada-Request-Id": ev.RequestID, EncodingHeader: encodingRaw},
	})
}

// Start runs the workers until Close.
func (s *Service) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.ctx, s.stop, s.done = ctx, cancel, make(chan struct{})
	go func() {
		defer close(s.done)
		for ctx.Err() == nil {
			err := s.queue.Consume(ctx, s.cfg.InFlight, s.handle)
			if err == nil || ctx.Err() != nil {
				return
			}
			s.log.Warn("async: consuming events failed; retrying", logkey.Err, err)
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
			}
		}
	}()
}

// Close stops taking events and waits for running attempts until ctx ends;
// unfinished events stay in the queue and run again later.
func (s *Service) Close(ctx context.Context) error {
	if s.stop == nil {
		return nil
	}
	s.stop()
	select {
	case <-s.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.releaseParked()
	waited := make(chan struct{})
	go func() { s.wg.Wait(); close(waited) }()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// handle decides one delivery of an event.
func (s *Service) handle(d store.Delivery) {
	s.wg.Add(1)
	defer s.wg.Done()
	msg, err := d.Message()
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.log.Error("async: event body lost; event dropped", logkey.RequestID, msg.Header["Lambada-Request-Id"], logkey.Err, err)
			_ = d.Ack()
			return
		}
		s.log.Warn("async: reading event failed; backing off", logkey.RequestID, msg.Header["Lambada-Request-Id"], logkey.Err, err)
		s.retry(d, s.backoffFor(failKey{id: msg.Header["Lambada-Request-Id"], attempt: -1}), s.log)
		return
	}
	evp, err := decodeEvent(msg.Data, msg.Header)
	if err != nil {
		s.log.Error("async: undecodable event dropped", logkey.RequestID, msg.Header["Lambada-Request-Id"], logkey.Err, err)
		_ = d.Ack()
		return
	}
	ev := *evp
	log := s.log.With(logkey.Function, ev.Function, logkey.RequestID, ev.RequestID)
	now := s.cfg.Now()
	if wait := ev.NotBefore.Sub(now); wait > 0 {
		s.retry(d, wait, log)
		return
	}
	conf := s.reg.EventInvokeConfig(ev.Function, ev.Qualifier)
	if now.Sub(ev.Accepted) > conf.MaxAge() {
		s.finish(d, &ev, CondEventAgeExceeded, conf, "", log)
		return
	}
	s.mu.Lock()
	taken := s.takeLocked(ev.Function)
	parked := !taken && s.parkLocked(&parkedEvent{d: d, ev: ev, conf: conf, now: now, log: log})
	s.mu.Unlock()
	switch {
	case taken:
		s.attempt(d, &ev, conf, now, log)
	case !parked:
		// This function already holds what it may of the workers, and
		// enough of its events wait here: let the queue move on to other
		// functions' events.
		s.putBack(d, log)
	}
}

// attempt runs one attempt of ev, admitted by takeLocked, and settles its
// delivery d.
func (s *Service) attempt(d store.Delivery, ev *event, conf *function.EventInvokeConfig, now time.Time, log *slog.Logger) {
	defer s.put(ev.Function)
	if ev.Attempts == 0 && d.Deliveries() == 1 {
		s.m.age.WithLabelValues(ev.Function).Observe(now.Sub(ev.Accepted).Seconds())
	}
	stop := s.keepAlive(d)
	defer stop()
	out := s.inv.RunEvent(s.ctx, invoke.EventAttempt{
		Function: ev.Function, Qualifier: ev.Qualifier, RequestID: ev.RequestID,
		Payload: ev.Payload, TraceHeader: ev.Trace,
	})
	if (out.Kind == invoke.Succeeded || out.Kind == invoke.FunctionFailed) && s.cfg.Attempts != nil {
		// Off the attempt's path: the record only has to be there before
		// a redelivery, which comes after the queue's ack wait. Waited for
		// by Close (s.wg, held by this handle while it is added).
		fn, id, n := ev.Function, ev.RequestID, ev.Attempts
		s.wg.Go(func() { s.recordRun(fn, id, n, log) })
	}
	key := failKey{id: ev.RequestID, attempt: ev.Attempts}
	if out.Kind == invoke.Throttled || out.Kind == invoke.SystemError {
		if s.ctx.Err() != nil {
			// Not the event's failure: another node takes it after the
			// first backoff step (not at once: this node's consumer may
			// still be handing deliveries out while it stops).
			log.Info("async: stopping; an attempt that had not begun goes back to the queue", logkey.Err, out.Err)
			s.retry(d, backoff(1), log)
			return
		}
		if out.Kind == invoke.SystemError {
			log.Warn("async: attempt could not run; backing off", logkey.Err, out.Err)
		}
		s.m.throttled.WithLabelValues(ev.Function).Inc()
		s.retry(d, s.backoffFor(key), log)
		return
	}
	s.forget(key)
	switch out.Kind {
	case invoke.Gone:
		log.Warn("async: function or qualifier no longer exists; event dropped", logkey.Qualifier, ev.Qualifier)
		s.m.dropped.WithLabelValues(ev.Function, "FunctionNotFound").Inc()
		s.ack(d, log)
	case invoke.ZeroConcurrency:
		s.finish(d, ev, CondZeroConcurrency, conf, out.VersionARN, log)
	case invoke.RecursionStopped:
		// Dropped, never retried; the record goes to OnFailure and the
		// event to the dead-letter target (docs/behaviour/recursion.md §5).
		s.finish(d, ev, CondRecursiveInvocation, conf, out.VersionARN, log)
	case invoke.Succeeded:
		ev.Attempts++
		ev.Last = lastAttempt(out)
		if conf != nil && conf.OnSuccess != "" {
			s.deliver(ev, conf.OnSuccess, CondSuccess, out.VersionARN, log)
		}
		s.ack(d, log)
	case invoke.FunctionFailed:
		ev.Attempts++
		ev.Last = lastAttempt(out)
		if ev.Attempts <= conf.Retries() {
			// The wait runs from the failed attempt's end.
			planned := s.cfg.Now().Add(time.Duration(ev.Attempts) * s.cfg.RetryDelay)
			if planned.Sub(ev.Accepted) > conf.MaxAge() {
				s.finish(d, ev, CondEventAgeExceeded, conf, out.VersionARN, log)
				return
			}
			ev.NotBefore = planned
			if err := s.publishRetry(ev, log); err != nil {
				// The attempt ran but cannot be recorded: the event runs
				// it again later (at least once, never lost).
				log.Error("async: scheduling a retry failed; the attempt will run again", logkey.Err, err)
				s.retry(d, s.backoffFor(key), log)
				return
			}
			s.m.retries.WithLabelValues(ev.Function).Inc()
			s.ack(d, log)
			return
		}
		s.finish(d, ev, CondRetriesExhausted, conf, out.VersionARN, log)
	}
}

// retryPublishes is how many times a retry's copy is published before the
// attempt is given up as not recorded; the waits between are 1 s, 2 s, 4 s.
const retryPublishes = 4

// publishRetry queues the next attempt's copy of ev, trying again while
// the store fails (the delivery is kept alive meanwhile).
func (s *Service) publishRetry(ev *event, log *slog.Logger) error {
	var err error
	for i := range retryPublishes {
		if i > 0 {
			log.Warn("async: scheduling a retry failed; trying again", logkey.Err, err)
			time.Sleep(time.Second << (i - 1))
		}
		if err = s.publish(context.Background(), ev); err == nil {
			return nil
		}
	}
	return err
}

func lastAttempt(out invoke.EventOutcome) *attempt {
	return &attempt{
		Payload: out.Result.Payload, FunctionError: out.Result.FunctionError,
		ExecutedVersion: out.Result.ExecutedVersion, VersionARN: out.VersionARN,
	}
}

// finish ends an event that failed for good: its record goes to OnFailure,
// the event to the dead-letter target, then the event is acknowledged.
func (s *Service) finish(d store.Delivery, ev *event, condition string, conf *function.EventInvokeConfig, versionARN string, log *slog.Logger) {
	s.m.dropped.WithLabelValues(ev.Function, condition).Inc()
	log.Info("async: event failed", logkey.Condition, condition, logkey.Attempts, ev.Attempts)
	if versionARN == "" {
		versionARN = s.versionARN(ev)
	}
	if conf != nil && conf.OnFailure != "" {
		s.deliver(ev, conf.OnFailure, condition, versionARN, log)
	}
	if condition != CondZeroConcurrency {
		s.deadLetter(ev, condition, versionARN, log)
	}
	s.ack(d, log)
}

// versionARN is the qualified ARN the event would run as now.
func (s *Service) versionARN(ev *event) string {
	res, err := s.reg.Resolve(function.Ref{Name: ev.Function, Qualifier: ev.Qualifier})
	if err != nil {
		q := ev.Qualifier
		if q == "" {
			q = function.Latest
		}
		return s.reg.ARN(ev.Function, q)
	}
	return s.reg.ARN(res.Config.Name, res.Config.Version)
}

// recordRun notes that attempt n (0-based) of event id ran. Finding the
// note already there means this attempt had run before and its settlement
// was lost (an acknowledgement lost in a storage failover, a node gone
// after the run, a retry's copy published twice): a duplicate that
// at-least-once allows, counted and logged (docs/behaviour/cluster.md §7).
// A failed note is only logged: it costs a duplicate going uncounted,
// never an event.
func (s *Service) recordRun(fn, id string, n int, log *slog.Logger) {
	key := id + "." + strconv.Itoa(n)
	_, err := s.cfg.Attempts.Create(context.Background(), key, []byte(s.cfg.Now().UTC().Format(time.RFC3339Nano)))
	switch {
	case errors.Is(err, store.ErrExists):
		s.m.duplicates.WithLabelValues(fn).Inc()
		log.Warn("async: attempt ran again after it had already run (at least once)", logkey.Attempts, n+1)
	case err != nil:
		log.Debug("async: recording the attempt failed", logkey.Err, err)
	}
}

func (s *Service) ack(d store.Delivery, log *slog.Logger) {
	if err := d.Ack(); err != nil {
		log.Warn("async: acknowledging event failed; it may run again", logkey.Err, err)
	}
}

func (s *Service) retry(d store.Delivery, delay time.Duration, log *slog.Logger) {
	if err := d.Retry(delay); err != nil {
		log.Warn("async: requeueing event failed; it returns after the ack wait", logkey.Err, err)
	}
}

// fairShareDelay is how soon an event put back for fairness (putBack)
// returns the first time.
const fairShareDelay = 20 * time.Millisecond

// share is the attempts of one function this node always makes room for:
// a quarter of its workers.
func (s *Service) share() int { return max(1, s.cfg.InFlight/4) }

// takeLocked admits an attempt of fn on this node. Up to its share a function
// is always admitted; beyond it only while a share of the workers stays
// free for other functions' events. So a function alone uses three
// quarters of the workers (a quarter left its backlog draining at a
// tenth of the node's capacity: its extra events went round the queue
// with growing delays), and when others have events each still gets its
// share: a function beyond its share takes no worker they need. Never
// more than the node's workers run at once: a parked event started by put
// runs outside the queue's handler slots, which alone would not bound
// them. Nor more of a function's attempts than its reserved concurrency:
// those beyond it would only be throttled and back off for seconds, where
// waiting here (parked) or going round the queue costs milliseconds.
func (s *Service) takeLocked(fn string) bool {
	if s.busy >= s.cfg.InFlight || s.running[fn] >= s.share() && s.busy+s.share() >= s.cfg.InFlight {
		return false
	}
	if r := s.reservedOf(fn); r > 0 && s.running[fn] >= r {
		return false
	}
	s.running[fn]++
	s.busy++
	return true
}

// reservedOf is fn's reserved concurrency, 0 when none is set (a
// reservation of 0 is not held back here: its attempt ends the event with
// ZeroReservedConcurrency).
func (s *Service) reservedOf(fn string) int {
	if s.reg == nil {
		return 0
	}
	if f, ok := s.reg.Function(fn); ok && f.ReservedConcurrency != nil {
		return *f.ReservedConcurrency
	}
	return 0
}

// A parkedEvent is an event takeLocked refused that waits on this node,
// for at most parkWait, for a worker its function may use: put starts it
// the moment an attempt ends that leaves one. Parked, it holds none of the
// queue's handler slots, which hand events out in order: the events
// behind it (another function's) are not held up. Without parking, a
// function alone drained its backlog at a fraction of its workers: each
// event it could not run at once went round the queue (fairShareDelay
// and more) while workers stood free.
type parkedEvent struct {
	d     store.Delivery
	ev    event
	conf  *function.EventInvokeConfig
	now   time.Time
	log   *slog.Logger
	timer *time.Timer
}

// parkWait bounds how long an event stays parked before it goes back to
// the queue (another node may have a worker for it). A function has at
// most its share of events parked on a node, the node at most as many as
// it has workers (their payloads are held in memory).
const parkWait = 500 * time.Millisecond

// parkLocked parks p unless the node is closing or p's function has its
// share parked already. A parked event holds s.wg until it runs or goes
// back.
func (s *Service) parkLocked(p *parkedEvent) bool {
	fn := p.ev.Function
	if s.closing || len(s.parked[fn]) >= s.share() || s.nParked >= s.cfg.InFlight {
		return false
	}
	s.parked[fn] = append(s.parked[fn], p)
	s.nParked++
	s.wg.Add(1)
	p.timer = time.AfterFunc(parkWait, func() {
		s.mu.Lock()
		out := s.unparkLocked(p)
		s.mu.Unlock()
		if out {
			s.putBack(p.d, p.log)
			s.wg.Done()
		}
	})
	return true
}

// unparkLocked takes p out of the parked events; false when it was not
// there (already started or put back).
func (s *Service) unparkLocked(p *parkedEvent) bool {
	q := s.parked[p.ev.Function]
	for i, o := range q {
		if o == p {
			q = append(q[:i:i], q[i+1:]...)
			if len(q) == 0 {
				delete(s.parked, p.ev.Function)
			} else {
				s.parked[p.ev.Function] = q
			}
			s.nParked--
			p.timer.Stop()
			return true
		}
	}
	return false
}

// putBack returns an event this node cannot run now to the queue, for
// fairShareDelay, longer each time it comes back (up to a second), so a
// long backlog does not churn the queue; each delay is spread at random by
// up to half of it either way. Events put back together otherwise came
// back together, more than the node could park, and went back again,
// while its workers then stood idle until the next bunch: one node
// drained a function's backlog at 0.39× its capacity, 0.84× spread
// (bench/README.md, "Drain with nodes").
func (s *Service) putBack(d store.Delivery, log *slog.Logger) {
	base := min(fairShareDelay*time.Duration(d.Deliveries()), time.Second)
	s.retry(d, base/2+rand.N(base), log)
}

// releaseParked puts every parked event back (Close) and parks no more.
func (s *Service) releaseParked() {
	s.mu.Lock()
	s.closing = true
	var out []*parkedEvent
	for _, q := range s.parked {
		for _, p := range q {
			p.timer.Stop()
			out = append(out, p)
		}
	}
	s.parked, s.nParked = map[string][]*parkedEvent{}, 0
	s.mu.Unlock()
	for _, p := range out {
		s.retry(p.d, 0, p.log)
		s.wg.Done()
	}
}

// put ends an attempt of fn and starts a parked event that may now run:
// fn's first, else another function's.
func (s *Service) put(fn string) {
	s.mu.Lock()
	s.busy--
	if s.running[fn]--; s.running[fn] <= 0 {
		delete(s.running, fn)
	}
	next := s.nextParkedLocked(fn)
	s.mu.Unlock()
	if next != nil {
		go func() {
			defer s.wg.Done() // the parked event's
			s.attempt(next.d, &next.ev, next.conf, next.now, next.log)
		}()
	}
}

// nextParkedLocked takes out of the parked events the first that
// takeLocked admits, fn's first; nil when none.
func (s *Service) nextParkedLocked(fn string) *parkedEvent {
	try := func(q []*parkedEvent) *parkedEvent {
		if len(q) > 0 && s.takeLocked(q[0].ev.Function) {
			s.unparkLocked(q[0])
			return q[0]
		}
		return nil
	}
	if p := try(s.parked[fn]); p != nil {
		return p
	}
	for _, q := range s.parked {
		if p := try(q); p != nil {
			return p
		}
	}
	return nil
}

// backoff is the throttle and system-error delay after the n-th failure:
// 1 s, 2 s, 4 s … 5 min.
func backoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > 10 {
		return maxBackoff
	}
	return min(time.Second<<(n-1), maxBackoff)
}

// failKey is one attempt of one event (attempt -1: the event could not be
// read).
type failKey struct {
	id      string
	attempt int
}

type failCount struct {
	n    int
	last time.Time
}

// pruneFloor is the fewest failure counts kept before stale ones are
// looked for.
const pruneFloor = 1024

// backoffFor counts one more throttle or system error of k and returns the
// delay before it is tried again. The delay grows with these failures
// alone, not with the queue's delivery count: that also counts every
// put-back for fairness, a stopping node's hand-back and a redelivery
// after a crash, and a long backlog's events reach ten of those quickly —
// one transient error then waited the whole 5 minutes
// (docs/behaviour/async.md §2). The count is this node's: on another node
// the event starts again at 1 s (retried sooner, never later). A count
// untouched for twice the longest backoff belongs to an event settled
// elsewhere and is dropped.
func (s *Service) backoffFor(k failKey) time.Duration {
	now := time.Now()
	s.failMu.Lock()
	defer s.failMu.Unlock()
	if len(s.failures) >= max(s.pruneAt, pruneFloor) {
		for k, f := range s.failures {
			if now.Sub(f.last) > 2*maxBackoff {
				delete(s.failures, k)
			}
		}
		s.pruneAt = 2 * len(s.failures)
	}
	f := s.failures[k]
	f.n++
	f.last = now
	s.failures[k] = f
	return backoff(f.n)
}

// forget drops k's failure count: the attempt ran.
func (s *Service) forget(k failKey) {
	s.failMu.Lock()
	delete(s.failures, k)
	s.failMu.Unlock()
}

// keepAlive tells the queue the event is still being worked on while a
// long invocation runs (timeouts reach 15 minutes, the ack wait is shorter).
func (s *Service) keepAlive(d store.Delivery) func() {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(3 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = d.Extend()
			}
		}
	}()
	return func() { close(done) }
}

// deliver sends the record of ev to destination: a Lambda function gets it
// as a new Event invocation, other services' ARNs get it on the
// destination-record stream.
func (s *Service) deliver(ev *event, destination, condition, versionARN string, log *slog.Logger) {
	rec := newRecord(ev, condition, versionARN, s.cfg.Now())
	kind, err := s.send(ev, destination, rec, map[string]string{
		SourceHeader:         versionARN,
		"Lambada-Condition":  condition,
		"Lambada-Request-Id": ev.RequestID,
	})
	if err != nil {
		s.m.deliveryFailures.WithLabelValues(ev.Function).Inc()
		log.Warn("async: destination delivery failed", logkey.Destination, destination, logkey.Err, err)
		return
	}
	s.m.deliveries.WithLabelValues(ev.Function, kind).Inc()
}

func (s *Service) send(ev *event, destination string, body []byte, header map[string]string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if ref, ok := lambdaDestination(destination); ok {
		return "lambda", s.publish(ctx, &event{
			RequestID: uuid.NewString(), Function: ref.Name, Qualifier: ref.Qualifier,
			Payload: body, Accepted: s.cfg.Now().UTC(), Trace: s.inv.NextTrace(ev.Trace, ref.Name),
		})
	}
	subject, service, err := DestinationSubject(destination)
	if err != nil {
		return "", err
	}
	return service, s.records.Publish(ctx, store.Message{Subject: subject, Data: body, Header: header})
}

// deadLetter delivers the failed event's payload to the function's
// DeadLetterConfig target, with AWS's three message attributes as headers.
func (s *Service) deadLetter(ev *event, condition, versionARN string, log *slog.Logger) {
	target := s.deadLetterTarget(ev, versionARN)
	if target == "" {
		return
	}
	code, msg := "200", condition
	if ev.Last == nil {
		code = "0"
	} else if ev.Last.FunctionError != "" {
		var doc struct {
			ErrorMessage string `json:"errorMessage"`
		}
		if json.Unmarshal(ev.Last.Payload, &doc) == nil && doc.ErrorMessage != "" {
			msg = doc.ErrorMessage
		}
	}
	if len(msg) > 1024 {
		msg = msg[:1024]
	}
	if _, err := s.send(ev, target, ev.Payload, map[string]string{
		"RequestID": ev.RequestID, "ErrorCode": code, "ErrorMessage": msg,
		SourceHeader: versionARN, // lambada's, for a redrive (docs/behaviour/async.md §8)
	}); err != nil {
		s.m.deadLetterErrors.WithLabelValues(ev.Function).Inc()
		log.Warn("async: dead-letter delivery failed", logkey.Target, target, logkey.Err, err)
	}
}

// deadLetterTarget is the DeadLetterConfig of the version that ran, else
// of what the event addresses now.
func (s *Service) deadLetterTarget(ev *event, versionARN string) string {
	f, ok := s.reg.Function(ev.Function)
	if !ok {
		return ""
	}
	version := versionARN[strings.LastIndex(versionARN, ":")+1:]
	if c, ok := f.Version(version); ok {
		return c.DeadLetterTarget
	}
	return f.Latest.DeadLetterTarget
}

// lambdaDestination parses a Lambda function ARN destination.
func lambdaDestination(arn string) (function.Ref, bool) {
	if !strings.Contains(arn, ":lambda:") {
		return function.Ref{}, false
	}
	ref, err := function.ParseName(arn, function.FunctionName, "destination")
	if err != nil {
		return function.Ref{}, false
	}
	return ref, true
}

// DestinationSubject maps a non-Lambda destination ARN to its subject on
// the destination-record stream:
// lambada.destinations.<service>.<region>.<account>.<resource>, where the
// resource has '.', '*', '>', '%' and white space percent-encoded so that
// it stays one subject token.
func DestinationSubject(arn string) (subject, service string, err error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return "", "", errors.New("not an ARN: " + arn)
	}
	service = parts[2]
	tok := func(s string) string {
		if s == "" {
			return "-"
		}
		var b strings.Builder
		for _, c := range []byte(s) {
			if c == '.' || c == '*' || c == '>' || c == '%' || c <= ' ' || c >= 0x7f {
				fmt.Fprintf(&b, "%%%02X", c)
			} else {
				b.WriteByte(c)
			}
		}
		return b.String()
	}
	return DestinationSubjectPrefix + strings.Join([]string{tok(service), tok(parts[3]), tok(parts[4]), tok(parts[5])}, "."), service, nil
}

// Records reads what was delivered to a non-Lambda destination ARN (SQS,
// SNS, EventBridge, S3, or a dead-letter target), oldest first, after
// stream sequence after.
func (s *Service) Records(ctx context.Context, destination string, after uint64, max int) ([]store.StoredMessage, error) {
	subject, _, err := DestinationSubject(destination)
	if err != nil {
		return nil, awserr.New(awserr.InvalidParameterValue, "The destination ARN "+destination+" is invalid.")
	}
	msgs, err := s.records.Read(ctx, subject, after, max)
	if err != nil {
		return nil, awserr.Internal(err)
	}
	return msgs, nil
}
