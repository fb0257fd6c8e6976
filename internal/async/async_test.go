package async_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

const role = "arn:aws:iam::000000000000:role/r"

// sink collects what test functions report, with arrival times.
type sink struct {
	*httptest.Server
	mu   sync.Mutex
	hits []hit
	more chan struct{}
	// arrived counts the runs that reached a gated sink, shut or not.
	arrived atomic.Int64
}

type hit struct {
	RequestID string          `json:"requestId"`
	Event     json.RawMessage `json:"event"`
	Version   string          `json:"version"`
	PID       int             `json:"pid"`
	At        time.Time       `json:"-"`
}

func newSink(t *testing.T) *sink {
	s := &sink{more: make(chan struct{}, 1024)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var h hit
		_ = json.Unmarshal(b, &h)
		h.At = time.Now()
		s.mu.Lock()
		s.hits = append(s.hits, h)
		s.mu.Unlock()
		s.more <- struct{}{}
	}))
	t.Cleanup(s.Close)
	return s
}

// wait returns once n hits arrived (or fails after timeout).
func (s *sink) wait(t *testing.T, n int, timeout time.Duration) []hit {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		if len(s.hits) >= n {
			h := append([]hit(nil), s.hits...)
			s.mu.Unlock()
			return h
		}
		s.mu.Unlock()
		select {
		case <-s.more:
		case <-deadline:
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Fatalf("%d of %d hits after %v", len(s.hits), n, timeout)
		}
	}
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.hits)
}

func start(t *testing.T) *servertest.Server {
	return servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.AsyncRetryDelay = 200 * time.Millisecond }})
}

func create(t *testing.T, s *servertest.Server, name string) {
	t.Helper()
	if _, err := s.Client.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
	}); err != nil {
		t.Fatal(err)
	}
}

func event(t *testing.T, s *servertest.Server, name string, payload any) string {
	t.Helper()
	b, _ := json.Marshal(payload)
	out, err := s.Client.Invoke(context.Background(), &lambda.InvokeInput{
		FunctionName: aws.String(name), InvocationType: types.InvocationTypeEvent, Payload: b,
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.StatusCode != 202 || len(out.Payload) != 0 {
		t.Fatalf("Event: %d %q", out.StatusCode, out.Payload)
	}
	id, _ := middleware.GetRequestIDMetadata(out.ResultMetadata)
	if id == "" {
		t.Fatal("no request id")
	}
	return id
}

func TestEventRunsWithTheAcceptedRequestID(t *testing.T) {
	s := start(t)
	sk := newSink(t)
	create(t, s, "rec")
	id := event(t, s, "rec", map[string]any{"op": "record", "url": sk.URL})
	h := sk.wait(t, 1, 20*time.Second)
	if h[0].RequestID != id {
		t.Fatalf("function saw %s, caller got %s", h[0].RequestID, id)
	}
	// InvokeAsync goes the same way.
	out, err := s.Client.InvokeAsync(context.Background(), &lambda.InvokeAsyncInput{
		FunctionName: aws.String("rec"), InvokeArgs: jsonReader(t, map[string]any{"op": "record", "url": sk.URL}),
	})
	if err != nil || out.Status != 202 {
		t.Fatalf("InvokeAsync: %v %+v", err, out)
	}
	sk.wait(t, 2, 20*time.Second)
}

func TestFunctionErrorRetriesOnSchedule(t *testing.T) {
	s := start(t)
	sk := newSink(t)
	create(t, s, "fail")
	id := event(t, s, "fail", map[string]any{"op": "record", "url": sk.URL, "fail": true})
	h := sk.wait(t, 3, 30*time.Second)
	for _, x := range h {
		if x.RequestID != id {
			t.Fatalf("attempt with request id %s, want %s", x.RequestID, id)
		}
	}
	g1, g2 := h[1].At.Sub(h[0].At), h[2].At.Sub(h[1].At)
	if g1 < 200*time.Millisecond || g2 < 400*time.Millisecond || g1 > 5*time.Second || g2 > 5*time.Second {
		t.Fatalf("gaps %v, %v; want about 200ms then 400ms", g1, g2)
	}
	time.Sleep(2 * time.Second) // no fourth attempt
	if n := sk.count(); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
}

func TestEventRefusalsQueueNothing(t *testing.T) {
	s := start(t)
	create(t, s, "r")
	ctx := context.Background()
	big := append([]byte(`"`), append(bytes.Repeat([]byte("x"), 262_144), '"')...)
	_, err := s.Client.InvokeAsync(ctx, &lambda.InvokeAsyncInput{FunctionName: aws.String("r"), InvokeArgs: bytes.NewReader(big)},
		func(o *lambda.Options) { o.Retryer = aws.NopRetryer{} })
	wantAPIError(t, err, 413, "RequestEntityTooLargeException", "262146 byte payload is too large for the Event invocation type (limit 262144 bytes)")
	big = append([]byte(`"`), append(bytes.Repeat([]byte("x"), 1_048_576), '"')...)
	_, err = s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("r"), InvocationType: types.InvocationTypeEvent, Payload: big},
		func(o *lambda.Options) { o.Retryer = aws.NopRetryer{} })
	wantAPIError(t, err, 413, "RequestEntityTooLargeException", "1048578 byte payload is too large for the Event invocation type (limit 1048576 bytes)")
	_, err = s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("nope"), InvocationType: types.InvocationTypeEvent})
	wantAPIError(t, err, 404, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope:$LATEST")
	_, err = s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("r"), InvocationType: types.InvocationTypeEvent, Payload: []byte("not json")})
	wantAPIError(t, err, 400, "InvalidRequestContentException", "")
	_, err = s.Client.InvokeAsync(ctx, &lambda.InvokeAsyncInput{FunctionName: aws.String("r:nope"), InvokeArgs: bytes.NewReader([]byte(`{}`))})
	wantAPIError(t, err, 404, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:000000000000:function:r:nope")
	// Nothing was queued: the received counter never moved.
	b := s.MetricsText(t)
	if strings.Contains(string(b), "lambada_async_events_received_total{") {
		t.Fatalf("a refused event was counted as received")
	}
}

func wantAPIError(t *testing.T, err error, status int, code, msg string) {
	t.Helper()
	c, m, st := servertest.APIError(err)
	if st != status || c != code || (msg != "" && m != msg) {
		t.Fatalf("got %v; want %d %s %q", err, status, code, msg)
	}
}

// A function alone may use three quarters of a node's workers, and no
// more: with 8 workers (its quarter is 2), 12 events that each take 2 s
// run 6 at a time, in more than 2 environments; the last 2 workers stay
// free for other functions' events.
func TestOneFunctionAloneUsesThreeQuarters(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) {
		c.AsyncWorkers = 8
	}})
	sk := newSink(t)
	create(t, s, "alone")
	const n, took = 12, 2 * time.Second
	for range n {
		event(t, s, "alone", map[string]any{"op": "record", "ms": took.Milliseconds(), "url": sk.URL})
	}
	hits := sk.wait(t, n, 90*time.Second)
	pids := map[int]bool{}
	for _, h := range hits {
		pids[h.PID] = true
	}
	// Each attempt reports right after its 2 s: it ran in [At-2s, At].
	// The most of them at once, each counted from 100 ms after its start
	// (attempts that follow each other must not seem to overlap because
	// a report came late).
	most := 0
	for _, h := range hits {
		at := 0
		for _, o := range hits {
			if !o.At.Before(h.At) && o.At.Add(-took+100*time.Millisecond).Before(h.At) {
				at++
			}
		}
		most = max(most, at)
	}
	t.Logf("%d environments, at most %d attempts at once", len(pids), most)
	if len(pids) <= 2 {
		t.Errorf("the events ran in %d environments: the function was held to its quarter of the workers", len(pids))
	}
	if most > 6 {
		t.Errorf("%d attempts ran at once, more than three quarters of the 8 workers", most)
	}
}

// A backlog of slow events for one function does not hold back another
// function's event.
func TestOneFunctionDoesNotStarveAnother(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) {
		c.AsyncRetryDelay = 200 * time.Millisecond
		c.AsyncWorkers = 8 // a function gets at most 2
	}})
	sk := newSink(t)
	create(t, s, "slow")
	create(t, s, "fast")
	// A warm environment for the fast function: the test is about queueing,
	// not about how long a cold start takes on a loaded machine.
	if _, err := s.Client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("fast"), Payload: []byte(`{"op":"echo"}`)}); err != nil {
		t.Fatal(err)
	}
	for range 60 {
		event(t, s, "slow", map[string]any{"op": "sleep", "ms": 1000})
	}
	id := event(t, s, "fast", map[string]any{"op": "record", "url": sk.URL})
	start := time.Now()
	h := sk.wait(t, 1, 20*time.Second)
	if h[0].RequestID != id {
		t.Fatalf("unexpected hit %+v", h[0])
	}
	// Sixty one-second events take over seven seconds even on all eight
	// workers; the other function's event must not wait for them.
	t.Logf("fast event ran after %v", time.Since(start))
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("fast function's event waited %v behind the slow backlog", d)
	}
}

// A function with reserved concurrency 1 whose one slot a synchronous
// invoke holds for 3 s while 16 events of it arrive on a node of 4
// workers. The node takes no more of its events at once than the
// reservation: each taken while the slot is held is throttled and comes
// back after 1 s, 2 s, 4 s … (docs/behaviour/async.md §2), the others
// wait parked or go round the queue, and the backlog drains seconds after
// the slot is free. Taking three at once (a function alone's three
// quarters of the workers), two of every three attempts were throttled
// and their backoff grew to minutes: the backlog had not drained after
// 40 s.
func TestReservedBacklogDrainsAfterThrottles(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) {
		c.AsyncWorkers = 4
	}})
	sk := newSink(t)
	create(t, s, "narrow")
	ctx := context.Background()
	if _, err := s.Client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String("narrow"), ReservedConcurrentExecutions: aws.Int32(1),
	}); err != nil {
		t.Fatal(err)
	}
	held := make(chan error, 1)
	go func() {
		_, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("narrow"), Payload: []byte(`{"op":"sleep","ms":3000}`)})
		held <- err
	}()
	waitfor.True(t, 10*time.Second, "the sync invoke holds the slot", func() bool {
		return s.ConcurrentExecutions(t, "narrow") == 1
	})
	const n = 16
	t0 := time.Now()
	for range n {
		event(t, s, "narrow", map[string]any{"op": "record", "url": sk.URL})
	}
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	sk.wait(t, n, 40*time.Second)
	throttled := servertest.MetricSum(s.MetricsText(t), "lambada_async_throttled_requeues_total")
	t.Logf("%d events drained %v after they were sent, %v throttles", n, time.Since(t0).Round(time.Millisecond), throttled)
	if throttled == 0 {
		t.Error("no attempt was throttled: the backoff was not tested")
	}
}
