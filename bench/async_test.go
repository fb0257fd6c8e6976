package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lambada-dev/lambada/internal/natsnode"
)

// eventReq builds a signed Event invoke of body to the invocations URL.
func (ib *invokeBench) eventReq(b *testing.B, body []byte) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, ib.url, bytes.NewReader(body))
	req.Header.Set("X-Amz-Invocation-Type", "Event")
	ib.sg.sign(b, req, body)
	return req
}

// sendEvent sends one Event invoke; anything but a 202 with a request id
// is an error. It returns the latency, the request id and when the 202
// was received.
func sendEvent(hc *http.Client, req *http.Request) (time.Duration, string, time.Time, error) {
	t0 := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", time.Time{}, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t1 := time.Now()
	if resp.StatusCode != http.StatusAccepted {
		return 0, "", t1, fmt.Errorf("status %d: %.200s", resp.StatusCode, body)
	}
	id := resp.Header.Get("X-Amzn-Requestid")
	if id == "" {
		return 0, "", t1, fmt.Errorf("202 without x-amzn-RequestId")
	}
	return t1.Sub(t0), id, t1, nil
}

// jsBaseline is an embedded nats-server started the way lambada starts its
// own (natsnode, temp DataDir, in-process connection) with a file-backed
// work-queue stream like lambada's event queue.
type jsBaseline struct {
	js jetstream.JetStream
}

func newJSBaseline(b *testing.B) *jsBaseline {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node := natsnode.New(natsnode.Config{DataDir: b.TempDir()})
	if err := node.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = node.Close(ctx)
	})
	js, err := jetstream.New(node.Conn())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "BENCH_EVENTS", Subjects: []string{"bench.events.>"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Replicas: 1,
	}); err != nil {
		b.Fatal(err)
	}
	return &jsBaseline{js: js}
}

// storedEvent is a message the size and shape of what lambada stores for
// one Event invoke of payload (its queue envelope: request id, function,
// payload, accept time).
func storedEvent(payload []byte) []byte {
	m, _ := json.Marshal(map[string]any{
		"requestId": "0b6f0a3e-5d1c-4f5e-9a7b-2c8d9e0f1a2b", "function": "echo",
		"payload": json.RawMessage(payload), "accepted": time.Now().UTC(),
	})
	return m
}

// publish is one acked JetStream publish of data.
func (j *jsBaseline) publish(data []byte, i int) (time.Duration, error) {
	msg := nats.NewMsg("bench.events.echo")
	msg.Data = data
	msg.Header.Set("Lambada-Request-Id", strconv.Itoa(i))
	t0 := time.Now()
	_, err := j.js.PublishMsg(context.Background(), msg)
	return time.Since(t0), err
}

// BenchmarkEventEnqueue: Event invokes accepted per second through the full
// API — raw SigV4-signed POSTs (signed before the clock) with
// X-Amz-Invocation-Type: Event and the ~100 B echo payload, each answered
// 202 only after JetStream acknowledged the stored event — at concurrency 1
// and 16. The function has reserved concurrency 0, so the workers that
// drain the queue meanwhile take each event and end it with
// ZeroReservedConcurrency without starting a function process: what is
// measured is the enqueue path plus the queue's own consumption, not
// function runs competing for the CPU. The ceiling, in the same run: acked
// nats.go JetStream publishes of a message of the same size and shape to a
// file-backed work-queue stream on a separate embedded nats-server
// started like lambada's, at the same concurrency.
func BenchmarkEventEnqueue(b *testing.B) {
	ib := newInvokeBench(b)
	if _, err := ib.s.Client.PutFunctionConcurrency(context.Background(), &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String("echo"), ReservedConcurrentExecutions: aws.Int32(0),
	}); err != nil {
		b.Fatal(err)
	}
	jb := newJSBaseline(b)
	data := storedEvent(echoPayload)
	for _, c := range []int{1, 16} {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			// Warm connections and both paths.
			warm := 50 * c
			if _, _, err := fanOut(warm, c, func(i int) (time.Duration, error) { return jb.publish(data, i) }); err != nil {
				b.Fatal(err)
			}
			reqs := make([]*http.Request, warm)
			for i := range reqs {
				reqs[i] = ib.eventReq(b, echoPayload)
			}
			if _, _, err := fanOut(warm, c, func(i int) (time.Duration, error) {
				d, _, _, err := sendEvent(ib.hc, reqs[i])
				return d, err
			}); err != nil {
				b.Fatal(err)
			}
			reqs = make([]*http.Request, b.N)
			for i := range reqs {
				reqs[i] = ib.eventReq(b, echoPayload)
			}
			b.ResetTimer()
			jsTotal, jsLat, err := fanOut(b.N, c, func(i int) (time.Duration, error) { return jb.publish(data, i) })
			if err != nil {
				b.Fatal(err)
			}
			evTotal, evLat, err := fanOut(b.N, c, func(i int) (time.Duration, error) {
				d, _, _, err := sendEvent(ib.hc, reqs[i])
				return d, err
			})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			jsRate := float64(b.N) / jsTotal.Seconds()
			evRate := float64(b.N) / evTotal.Seconds()
			b.ReportMetric(jsRate, "jetstream-pub/s")
			b.ReportMetric(evRate, "accepted/s")
			b.ReportMetric(evRate/jsRate, "accepted-x-jetstream")
			b.ReportMetric(us(jsLat.pct(0.50)), "jetstream-p50-µs")
			b.ReportMetric(us(jsLat.pct(0.99)), "jetstream-p99-µs")
			b.ReportMetric(us(evLat.pct(0.50)), "event-p50-µs")
			b.ReportMetric(us(evLat.pct(0.99)), "event-p99-µs")
			b.ReportMetric(float64(evLat.pct(0.50))/float64(jsLat.pct(0.50)), "event-p50-x-jetstream")
		})
	}
}

// runSink is a tiny HTTP server the "record" op posts to: it notes when
// each request id's run reached it.
type runSink struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen map[string]time.Time
	all  chan struct{} // closed when want distinct ids have arrived
	want int
}

func newRunSink(b *testing.B) *runSink {
	s := &runSink{seen: map[string]time.Time{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		var rec struct {
			RequestID string `json:"requestId"`
		}
		_ = json.NewDecoder(r.Body).Decode(&rec)
		s.mu.Lock()
		if _, dup := s.seen[rec.RequestID]; !dup && rec.RequestID != "" {
			s.seen[rec.RequestID] = now
			if s.all != nil && len(s.seen) == s.want {
				close(s.all)
				s.all = nil
			}
		}
		s.mu.Unlock()
	}))
	b.Cleanup(s.srv.Close)
	return s
}

// expect resets the sink to wait for n runs and returns the channel closed
// when they have all arrived.
func (s *runSink) expect(n int) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = make(map[string]time.Time, n)
	s.want = n
	ch := make(chan struct{})
	s.all = ch
	return ch
}

func (s *runSink) snapshot() map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]time.Time, len(s.seen))
	for k, v := range s.seen {
		out[k] = v
	}
	return out
}

// BenchmarkEventDrain: end to end, b.N Event invokes of the echo function's
// "record" op (it POSTs its request id to an in-test sink and returns) are
// enqueued as fast as 16 client goroutines can (signed before the clock),
// and the clock runs until the sink has seen every one of them run. A
// first untimed batch of 300 lets the pool start its environments (the
// async service runs up to 256 attempts at once), so the timed batch
// measures a warm pool. Reported: events/s end to end, the accept rate of
// the enqueue phase, and per event the delay from its 202 reaching the
// client to its run reaching the sink (matched by request id: the 202's
// x-amzn-RequestId is the function's request id; it can be negative, since
// a worker may take the event as soon as JetStream stored it, while the 202
// is still on its way), and the time from the last 202 to the last run.
// The baseline, in the same
// run: the same b.N "record" invokes made synchronously over 16 client
// goroutines (the same function work plus one sink POST each).
func BenchmarkEventDrain(b *testing.B) {
	ib := newInvokeBench(b)
	sink := newRunSink(b)
	ev := []byte(`{"op":"record","url":"` + sink.srv.URL + `/run","note":"a small async drain payload"}`)
	const c = 16

	batch := func(n int) (enqueue, drain time.Duration, accepted map[string]time.Time) {
		reqs := make([]*http.Request, n)
		for i := range reqs {
			reqs[i] = ib.eventReq(b, ev)
		}
		done := sink.expect(n)
		ids := make([]string, n)
		at := make([]time.Time, n)
		t0 := time.Now()
		enq, _, err := fanOut(n, c, func(i int) (time.Duration, error) {
			d, id, t, err := sendEvent(ib.hc, reqs[i])
			ids[i], at[i] = id, t
			return d, err
		})
		if err != nil {
			b.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(120 * time.Second):
			b.Fatalf("only %d of %d events ran within 120 s", len(sink.snapshot()), n)
		}
		drain = time.Since(t0)
		accepted = make(map[string]time.Time, n)
		for i, id := range ids {
			accepted[id] = at[i]
		}
		return enq, drain, accepted
	}

	batch(300) // start the pool's environments, warm connections
	syncReqs := make([]*http.Request, b.N)
	for i := range syncReqs {
		syncReqs[i] = ib.req(b, ev)
	}
	b.ResetTimer()
	syncTotal, _, err := fanOut(b.N, c, func(i int) (time.Duration, error) {
		d, _, err := do(ib.hc, syncReqs[i])
		return d, err
	})
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	// The sync baseline's runs reached the sink too; reset it first.
	sink.expect(0)
	b.StartTimer()
	enq, drain, accepted := batch(b.N)
	b.StopTimer()

	ran := sink.snapshot()
	delay := make(latencies, 0, len(accepted))
	for id, t := range accepted {
		r, ok := ran[id]
		if !ok {
			b.Fatalf("request %s was accepted but never ran", id)
		}
		delay = append(delay, r.Sub(t))
	}
	syncRate := float64(b.N) / syncTotal.Seconds()
	rate := float64(b.N) / drain.Seconds()
	b.ReportMetric(syncRate, "sync-invokes/s")
	b.ReportMetric(float64(b.N)/enq.Seconds(), "accepted/s")
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(rate/syncRate, "events-x-sync")
	b.ReportMetric(drain.Seconds(), "drain-s")
	b.ReportMetric(us(drain-enq)/1e3, "tail-after-last-202-ms")
	b.ReportMetric(us(delay.pct(0.50))/1e3, "start-delay-p50-ms")
	b.ReportMetric(us(delay.pct(0.90))/1e3, "start-delay-p90-ms")
	b.ReportMetric(us(delay.pct(0.99))/1e3, "start-delay-p99-ms")
}
