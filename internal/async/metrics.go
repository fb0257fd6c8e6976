package async

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lambada-dev/lambada/internal/store"
)

// metrics are AWS's async metrics under lambada's names
// (AsyncEventsReceived, AsyncEventAge, AsyncEventsDropped,
// DestinationDeliveryFailures, DeadLetterErrors).
type metrics struct {
	received         *prometheus.CounterVec
	age              *prometheus.HistogramVec
	dropped          *prometheus.CounterVec
	retries          *prometheus.CounterVec
	throttled        *prometheus.CounterVec
	deliveries       *prometheus.CounterVec
	deliveryFailures *prometheus.CounterVec
	deadLetterErrors *prometheus.CounterVec
	duplicates       *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, q store.Queue) metrics {
	fn := []string{"function_name"}
	m := metrics{
		received:         prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lambada", Name: "async_events_received_total", Help: "Events accepted with 202 (AWS AsyncEventsReceived)."}, fn),
		age:              prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "lambada", Name: "async_event_age_seconds", Help: "Time from 202 to the first attempt (AWS AsyncEventAge).", Buckets: prometheus.ExponentialBuckets(0.001, 4, 12)}, fn),
		dropped:          prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lambada", Name: "async_events_dropped_total", Help: "Events that ended without success, by condition (AWS AsyncEventsDropped)."}, []string{"function_name", "condition"}),
		retries:          prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lambada", Name: "async_retries_total", Help: "Function-error retries scheduled."}, fn),
		throttled:        prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lambada", Name: "async_throttled_requeues_total", Help: "Attempts put back for lack of concurrency or a system error."}, fn),
		deliveries:       prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lambada", Name: "destination_deliveries_total", Help: "Invocation records delivered to destinations, by destination type."}, []string{"function_name", "type"}),
		deliveryFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lambada", Name: "destination_delivery_failures_total", Help: "Destination deliveries that failed (AWS DestinationDeliveryFailures)."}, fn),
		deadLetterErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lambada", Name: "dead_letter_errors_total", Help: "Dead-letter deliveries that failed (AWS DeadLetterErrors)."}, fn),
		duplicates:       prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lambada", Name: "async_duplicate_attempts_total", Help: "Attempts that ran again after the same attempt of the same event had already run (at-least-once duplicates)."}, fn),
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(m.received, m.age, m.dropped, m.retries, m.throttled, m.deliveries, m.deliveryFailures, m.deadLetterErrors, m.duplicates)
	reg.MustRegister(depthCollector{q: q})
	return m
}

// depthCollector reads the queue's depth and oldest event at scrape time.
type depthCollector struct{ q store.Queue }

var (
	depthDesc    = prometheus.NewDesc("lambada_async_queue_depth", "Events waiting in the queue (all functions).", nil, nil)
	oldestDesc   = prometheus.NewDesc("lambada_async_oldest_event_age_seconds", "Age of the oldest queued event.", nil, nil)
	fnDepthDesc  = prometheus.NewDesc("lambada_async_function_queue_depth", "Events of the function waiting in the queue (retries waiting for their time included).", []string{"function_name"}, nil)
	fnOldestDesc = prometheus.NewDesc("lambada_async_function_oldest_event_age_seconds", "Age of the function's oldest queued event.", []string{"function_name"}, nil)
)

func (c depthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- depthDesc
	ch <- oldestDesc
	ch <- fnDepthDesc
	ch <- fnOldestDesc
}

func (c depthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, oldest, err := c.q.Depth(ctx)
	if err != nil {
		return
	}
	age := 0.0
	if !oldest.IsZero() {
		age = time.Since(oldest).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
	if n == 0 {
		return
	}
	depths, err := c.q.Depths(ctx)
	if err != nil {
		return
	}
	for subj, d := range depths {
		if fn, ok := strings.CutPrefix(subj, EventSubjectPrefix); ok {
			ch <- prometheus.MustNewConstMetric(fnDepthDesc, prometheus.GaugeValue, float64(d.N), fn)
			if !d.Oldest.IsZero() {
				ch <- prometheus.MustNewConstMetric(fnOldestDesc, prometheus.GaugeValue, time.Since(d.Oldest).Seconds(), fn)
			}
		}
	}
}

var inFlightDesc = prometheus.NewDesc("lambada_async_attempts_in_flight", "Async attempts of the function running on this node.", []string{"function_name"}, nil)

// inFlightCollector reads the service's running attempts at scrape time.
type inFlightCollector struct{ s *Service }

func (c inFlightCollector) Describe(ch chan<- *prometheus.Desc) { ch <- inFlightDesc }

func (c inFlightCollector) Collect(ch chan<- prometheus.Metric) {
	for fn, n := range c.s.InFlight() {
		ch <- prometheus.MustNewConstMetric(inFlightDesc, prometheus.GaugeValue, float64(n), fn)
	}
}

// InFlight copies the number of attempts running on this node per
// function.
func (s *Service) InFlight() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.running))
	for fn, n := range s.running {
		out[fn] = n
	}
	return out
}

// FunctionDepth is one function's part of the queue.
type FunctionDepth struct {
	Queued    uint64        // events waiting, retries waiting for their time included
	OldestAge time.Duration // age of the oldest of them
}

// Depths reports the events waiting per function.
func (s *Service) Depths(ctx context.Context) (map[string]FunctionDepth, error) {
	depths, err := s.queue.Depths(ctx)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	out := make(map[string]FunctionDepth, len(depths))
	for subj, d := range depths {
		if fn, ok := strings.CutPrefix(subj, EventSubjectPrefix); ok {
			fd := FunctionDepth{Queued: d.N}
			if !d.Oldest.IsZero() {
				fd.OldestAge = max(0, now.Sub(d.Oldest))
			}
			out[fn] = fd
		}
	}
	return out, nil
}

// Depth reports the events waiting and the age of the oldest (0 when none).
func (s *Service) Depth(ctx context.Context) (uint64, time.Duration, error) {
	n, oldest, err := s.queue.Depth(ctx)
	if err != nil || oldest.IsZero() {
		return n, 0, err
	}
	return n, s.cfg.Now().Sub(oldest), nil
}
