package metricseries

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lambada-dev/lambada/internal/waitfor"
)

// fixture is a registry with the server's metric shapes and a clock.
type fixture struct {
	reg                            *prometheus.Registry
	invocations, errors, throttles *prometheus.CounterVec
	duration                       *prometheus.HistogramVec
	concurrent                     *prometheus.GaugeVec
	depth, oldest                  prometheus.Gauge
	now                            time.Time
	s                              *Store
}

func newFixture(t *testing.T, step, span time.Duration) *fixture {
	f := &fixture{reg: prometheus.NewRegistry(), now: time.Unix(1_700_000_000, 0)}
	fn := []string{"function_name"}
	f.invocations = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricInvocations}, fn)
	f.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricErrors}, fn)
	f.throttles = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricThrottles}, fn)
	// The invoke service's buckets.
	f.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricDuration, Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10)}, fn)
	f.concurrent = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricConcurrent}, fn)
	f.depth = prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricQueueDepth})
	f.oldest = prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricQueueOldest})
	f.reg.MustRegister(f.invocations, f.errors, f.throttles, f.duration, f.concurrent, f.depth, f.oldest)
	f.s = New(Config{Gatherer: f.reg, Step: step, Span: span, Now: func() time.Time { return f.now }})
	return f
}

// step advances the clock one step and samples.
func (f *fixture) step() {
	f.now = f.now.Add(f.s.Step())
	f.s.Sample()
}

func (f *fixture) run(fn string, n int, d time.Duration) {
	for range n {
		f.invocations.WithLabelValues(fn).Inc()
		f.duration.WithLabelValues(fn).Observe(d.Seconds())
	}
}

func TestSummaryCountsStepsInTheWindow(t *testing.T) {
	f := newFixture(t, 10*time.Second, time.Hour)
	f.run("a", 5, 3*time.Millisecond)
	f.errors.WithLabelValues("a").Add(2)
	f.throttles.WithLabelValues("a").Inc()
	f.step()
	f.run("a", 3, 3*time.Millisecond)
	f.run("b", 1, time.Millisecond)
	f.step()
	f.step() // nothing new

	got := f.s.Summary("a", time.Hour)
	if got.Invocations != 8 || got.Errors != 2 || got.Throttles != 1 {
		t.Fatalf("Summary(a, 1h) = %+v, want 8 invocations, 2 errors, 1 throttle", got)
	}
	// 3 ms falls in (2 ms, 8 ms]: the estimate stays in that bucket.
	if got.DurationP50 <= 2*time.Millisecond || got.DurationP50 > 8*time.Millisecond || got.DurationP99 < got.DurationP50 || got.DurationP99 > 8*time.Millisecond {
		t.Fatalf("p50 %v, p99 %v: want within (2 ms, 8 ms], p99 ≥ p50", got.DurationP50, got.DurationP99)
	}
	// The last two steps only: the first step's 5 invocations are out.
	if got := f.s.Summary("a", 20*time.Second); got.Invocations != 3 || got.Errors != 0 {
		t.Fatalf("Summary(a, 20s) = %+v, want 3 invocations and no errors", got)
	}
	if got := f.s.Summary("b", time.Hour); got.Invocations != 1 {
		t.Fatalf("Summary(b) = %+v", got)
	}
	if got := f.s.Summary("unknown", time.Hour); got != (Summary{}) {
		t.Fatalf("Summary(unknown) = %+v, want zero", got)
	}
	if got := f.s.Functions(); strings.Join(got, ",") != "a,b" {
		t.Fatalf("Functions = %v", got)
	}
}

// The ring keeps Span/Step samples: older steps drop out of every answer.
func TestRingKeepsTheSpan(t *testing.T) {
	f := newFixture(t, 10*time.Second, 30*time.Second)
	for i := range 5 {
		f.run("a", i+1, time.Millisecond) // 1, 2, 3, 4, 5
		f.step()
	}
	if got := f.s.Summary("a", time.Hour); got.Invocations != 3+4+5 {
		t.Fatalf("Invocations = %d, want the last three steps' 12", got.Invocations)
	}
	se := f.s.Series("a", time.Hour)
	if len(se.Times) != 3 || se.Invocations[0] != 3 || se.Invocations[2] != 5 {
		t.Fatalf("Series = %+v", se)
	}
	if se.Times[2]-se.Times[1] != 10 {
		t.Fatalf("Times = %v, want 10 s apart", se.Times)
	}
}

// A counter that goes down was created again: it counts from zero.
func TestCounterReset(t *testing.T) {
	f := newFixture(t, 10*time.Second, time.Hour)
	f.run("a", 5, time.Millisecond)
	f.step()
	f.invocations.DeleteLabelValues("a")
	f.duration.DeleteLabelValues("a")
	f.run("a", 2, time.Millisecond)
	f.step()
	if got := f.s.Summary("a", time.Hour); got.Invocations != 7 {
		t.Fatalf("Invocations = %d, want 5 + 2", got.Invocations)
	}
}

// Series has a gap (null) where nothing ran, the gauges as sampled, and
// the queue's figures in every step.
func TestSeriesColumns(t *testing.T) {
	f := newFixture(t, 10*time.Second, time.Hour)
	f.run("a", 4, 100*time.Millisecond)
	f.concurrent.WithLabelValues("a").Set(2)
	f.depth.Set(7)
	f.oldest.Set(1.5)
	f.step()
	f.concurrent.WithLabelValues("a").Set(0)
	f.depth.Set(0)
	f.oldest.Set(0)
	f.step()
	se := f.s.Series("a", time.Hour)
	if len(se.Times) != 2 || se.Concurrent[0] != 2 || se.Concurrent[1] != 0 || se.Depth[0] != 7 || se.OldestAge[0] != 1.5 || se.Depth[1] != 0 {
		t.Fatalf("Series = %+v", se)
	}
	if p := float64(se.DurationP50[0]); p <= 32 || p > 128 {
		t.Fatalf("p50 = %v ms, want within the (32, 128] ms bucket", p)
	}
	if !math.IsNaN(float64(se.DurationP50[1])) {
		t.Fatalf("p50 of an empty step = %v, want NaN", se.DurationP50[1])
	}
	b, err := json.Marshal(se)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"durationP50":[`) || !strings.Contains(string(b), `,null]`) {
		t.Fatalf("JSON = %s, want null for the empty step", b)
	}
	// All functions together.
	f.run("b", 6, 100*time.Millisecond)
	f.step()
	if all := f.s.Series("", time.Hour); all.Invocations[0] != 4 || all.Invocations[2] != 6 {
		t.Fatalf("Series(all) = %+v", all.Invocations)
	}
}

func TestQuantile(t *testing.T) {
	bounds := []float64{1, 2, 4}
	// 10 in (0,1], 10 in (1,2], 0 in (2,4], 5 above 4.
	buckets := []uint64{10, 20, 20}
	for _, tt := range []struct {
		q, want float64
	}{
		{0.2, 0.5}, // rank 5 of 10 in the first bucket
		{0.6, 1.5}, // rank 15: half into (1,2]
		{0.99, 4},  // above the last finite bound: that bound
	} {
		if got := quantile(tt.q, bounds, buckets, 25); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := quantile(0.5, bounds, []uint64{0, 0, 0}, 0); !math.IsNaN(got) {
		t.Errorf("quantile of nothing = %v, want NaN", got)
	}
}

// Start samples on its own goroutine; Close waits for it.
func TestStartSamplesUntilClose(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricInvocations}, []string{"function_name"})
	reg.MustRegister(c)
	s := New(Config{Gatherer: reg, Step: 10 * time.Millisecond, Span: time.Second})
	s.Start()
	c.WithLabelValues("a").Add(3)
	waitfor.True(t, 10*time.Second, "the sampler to see 3 invocations", func() bool {
		return s.Summary("a", time.Second).Invocations == 3
	})
	s.Close()
	s.Close() // twice is fine
}
