package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambada-dev/lambada/internal/store"
)

// QueueAckWait is the acknowledgement wait the queue suite's queues must be
// opened with: short, so redelivery tests take seconds.
const QueueAckWait = time.Second

// QueueFixture is one fresh, empty queue opened with QueueAckWait.
type QueueFixture struct {
	// Open returns a handle on the queue; each call is another node's
	// handle on the same queue.
	Open func() store.Queue
	// Subject is a subject the queue takes messages on.
	Subject string
}

// RunQueueDelivery runs the Queue delivery conformance suite (who gets a
// message, when, how often). newQueue returns a fresh queue, used only by
// the test t it is given.
func RunQueueDelivery(t *testing.T, newQueue func(t *testing.T) QueueFixture) {
	tests := []struct {
		name string
		fn   func(t *testing.T, ctx context.Context, f QueueFixture)
	}{
		{"SingleDelivery", testQueueSingleDelivery},
		{"Headers", testQueueHeaders},
		{"RetryDelay", testQueueRetryDelay},
		{"Extend", testQueueExtend},
		{"RedeliveryAfterConsumerDies", testQueueRedelivery},
		{"InFlightBound", testQueueInFlight},
		{"CleanStop", testQueueCleanStop},
		{"Depth", testQueueDepth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), Timeout)
			defer cancel()
			tt.fn(t, ctx, newQueue(t))
		})
	}
}

func publishN(t *testing.T, ctx context.Context, f QueueFixture, q store.Queue, n int) {
	t.Helper()
	for i := range n {
		if err := q.Publish(ctx, store.Message{Subject: f.Subject, Data: fmt.Appendf(nil, "m%d", i)}); err != nil {
			t.Fatalf("Publish %d: %v", i, err)
		}
	}
}

// consume runs q.Consume on its own goroutine until the returned stop is
// called; stop returns Consume's error once it returned.
func consume(t *testing.T, ctx context.Context, q store.Queue, inFlight int, fn func(store.Delivery)) (stop func() error) {
	t.Helper()
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- q.Consume(cctx, inFlight, fn) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(Timeout):
				err = fmt.Errorf("Consume did not return %s after its context ended", Timeout)
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func waitUntil(t *testing.T, ctx context.Context, what string, ok func() bool) {
	t.Helper()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s: %v", what, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Two consumers of one queue share it: each acknowledged message is
// delivered to exactly one of them, once.
func testQueueSingleDelivery(t *testing.T, ctx context.Context, f QueueFixture) {
	const n = 50
	q1, q2 := f.Open(), f.Open()
	publishN(t, ctx, f, q1, n)
	var mu sync.Mutex
	seen := map[string][]int{}
	handler := func(who int) func(store.Delivery) {
		return func(d store.Delivery) {
			m := mustMessage(t, d)
			mu.Lock()
			seen[string(m.Data)] = append(seen[string(m.Data)], who)
			mu.Unlock()
			if err := d.Ack(); err != nil {
				t.Errorf("Ack: %v", err)
			}
		}
	}
	stop1 := consume(t, ctx, q1, 4, handler(1))
	stop2 := consume(t, ctx, q2, 4, handler(2))
	waitUntil(t, ctx, "every message", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == n })
	// Longer than the ack wait: an acknowledged message never comes back.
	time.Sleep(QueueAckWait + QueueAckWait/2)
	if err := stop1(); err != nil {
		t.Fatal(err)
	}
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	for m, who := range seen {
		if len(who) != 1 {
			t.Errorf("message %s delivered %d times (to %v)", m, len(who), who)
		}
	}
	if got, _, err := q1.Depth(ctx); err != nil || got != 0 {
		t.Fatalf("Depth after acking everything = %d, %v; want 0", got, err)
	}
}

// Headers and subject come back as published; Stored and Deliveries
// describe the first delivery.
func testQueueHeaders(t *testing.T, ctx context.Context, f QueueFixture) {
	q := f.Open()
	before := time.Now().Add(-time.Second)
	want := store.Message{Subject: f.Subject, Data: []byte(`{"a":"<b>"}`), Header: map[string]string{"X-Id": "abc"}}
	if err := q.Publish(ctx, want); err != nil {
		t.Fatal(err)
	}
	got := make(chan store.Delivery, 1)
	stop := consume(t, ctx, q, 1, func(d store.Delivery) { got <- d })
	var d store.Delivery
	select {
	case d = <-got:
	case <-ctx.Done():
		t.Fatal("no delivery")
	}
	m := mustMessage(t, d)
	if m.Subject != want.Subject || string(m.Data) != string(want.Data) || m.Header["X-Id"] != "abc" {
		t.Errorf("delivered %+v, want %+v", m, want)
	}
	if d.Deliveries() != 1 {
		t.Errorf("Deliveries = %d, want 1", d.Deliveries())
	}
	if s := d.Stored(); s.Before(before) || s.After(time.Now().Add(time.Second)) {
		t.Errorf("Stored = %v, want about now", s)
	}
	if err := d.Ack(); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// Retry(delay) brings the message back no sooner than delay, counted as a
// second delivery.
func testQueueRetryDelay(t *testing.T, ctx context.Context, f QueueFixture) {
	const delay = 700 * time.Millisecond
	q := f.Open()
	publishN(t, ctx, f, q, 1)
	type got struct {
		at time.Time
		n  int
	}
	ch := make(chan got, 4)
	stop := consume(t, ctx, q, 1, func(d store.Delivery) {
		ch <- got{time.Now(), d.Deliveries()}
		if d.Deliveries() == 1 {
			if err := d.Retry(delay); err != nil {
				t.Errorf("Retry: %v", err)
			}
			return
		}
		if err := d.Ack(); err != nil {
			t.Errorf("Ack: %v", err)
		}
	})
	var first, second got
	for i, g := range []*got{&first, &second} {
		select {
		case *g = <-ch:
		case <-ctx.Done():
			t.Fatalf("delivery %d never came", i+1)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if second.n != 2 {
		t.Errorf("second delivery counted %d, want 2", second.n)
	}
	// Allow for clock granularity, not for an early redelivery.
	if gap := second.at.Sub(first.at); gap < delay-50*time.Millisecond {
		t.Errorf("redelivered after %s, want at least %s", gap, delay)
	}
}

// A consumer that calls Extend keeps its delivery past the ack wait: no
// other consumer gets the message meanwhile.
func testQueueExtend(t *testing.T, ctx context.Context, f QueueFixture) {
	q1, q2 := f.Open(), f.Open()
	publishN(t, ctx, f, q1, 1)
	var deliveries atomic.Int32
	done := make(chan struct{})
	slow := func(d store.Delivery) {
		deliveries.Add(1)
		hold := time.Now().Add(3 * QueueAckWait)
		for time.Now().Before(hold) {
			if err := d.Extend(); err != nil {
				t.Errorf("Extend: %v", err)
			}
			time.Sleep(QueueAckWait / 4)
		}
		if err := d.Ack(); err != nil {
			t.Errorf("Ack: %v", err)
		}
		close(done)
	}
	stop1 := consume(t, ctx, q1, 1, slow)
	// The second consumer starts once the first holds the message.
	waitUntil(t, ctx, "the first delivery", func() bool { return deliveries.Load() == 1 })
	stop2 := consume(t, ctx, q2, 1, func(d store.Delivery) {
		deliveries.Add(1)
		_ = d.Ack()
	})
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the extended delivery never finished")
	}
	time.Sleep(QueueAckWait + QueueAckWait/2)
	if err := stop1(); err != nil {
		t.Fatal(err)
	}
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	if n := deliveries.Load(); n != 1 {
		t.Fatalf("message delivered %d times while extended, want 1", n)
	}
}

// A delivery its consumer never settles (the node died) goes to another
// consumer after the ack wait.
func testQueueRedelivery(t *testing.T, ctx context.Context, f QueueFixture) {
	q1, q2 := f.Open(), f.Open()
	publishN(t, ctx, f, q1, 1)
	dropped := make(chan struct{})
	var once sync.Once
	stop1 := consume(t, ctx, q1, 1, func(store.Delivery) { once.Do(func() { close(dropped) }) })
	select {
	case <-dropped:
	case <-ctx.Done():
		t.Fatal("no first delivery")
	}
	if err := stop1(); err != nil {
		t.Fatal(err)
	}
	diedAt := time.Now()
	got := make(chan store.Delivery, 1)
	stop2 := consume(t, ctx, q2, 1, func(d store.Delivery) {
		_ = d.Ack()
		got <- d
	})
	select {
	case d := <-got:
		if d.Deliveries() != 2 {
			t.Errorf("redelivery counted %d, want 2", d.Deliveries())
		}
		if m := mustMessage(t, d); string(m.Data) != "m0" {
			t.Errorf("redelivered %q", m.Data)
		}
	case <-ctx.Done():
		t.Fatalf("not redelivered %s after the first consumer stopped", time.Since(diedAt))
	}
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
}

// Consume never runs more than inFlight deliveries at once.
func testQueueInFlight(t *testing.T, ctx context.Context, f QueueFixture) {
	const n, inFlight = 12, 3
	q := f.Open()
	publishN(t, ctx, f, q, n)
	var now, peak, acked atomic.Int32
	stop := consume(t, ctx, q, inFlight, func(d store.Delivery) {
		c := now.Add(1)
		for p := peak.Load(); c > p && !peak.CompareAndSwap(p, c); p = peak.Load() {
		}
		time.Sleep(30 * time.Millisecond)
		now.Add(-1)
		if err := d.Ack(); err != nil {
			t.Errorf("Ack: %v", err)
		}
		acked.Add(1)
	})
	waitUntil(t, ctx, "every message", func() bool { return acked.Load() == n })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p > inFlight {
		t.Fatalf("%d deliveries ran at once, inFlight is %d", p, inFlight)
	}
}

// When its context ends, Consume returns only after every delivery it
// started has returned, and starts none afterwards; what it did not take
// stays queued.
func testQueueCleanStop(t *testing.T, ctx context.Context, f QueueFixture) {
	const n = 20
	q := f.Open()
	publishN(t, ctx, f, q, n)
	var running, started, afterStop atomic.Int32
	var stopped atomic.Bool
	release := make(chan struct{})
	stop := consume(t, ctx, q, 2, func(d store.Delivery) {
		if stopped.Load() {
			afterStop.Add(1)
		}
		started.Add(1)
		running.Add(1)
		defer running.Add(-1)
		<-release
		_ = d.Ack()
	})
	waitUntil(t, ctx, "two running deliveries", func() bool { return running.Load() == 2 })
	stopErr := make(chan error, 1)
	go func() { stopErr <- stop() }()
	select {
	case err := <-stopErr:
		t.Fatalf("Consume returned (%v) while deliveries still ran", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-stopErr; err != nil {
		t.Fatal(err)
	}
	stopped.Store(true)
	if r := running.Load(); r != 0 {
		t.Fatalf("%d deliveries still running after Consume returned", r)
	}
	time.Sleep(200 * time.Millisecond)
	if a := afterStop.Load(); a != 0 {
		t.Fatalf("%d deliveries started after Consume returned", a)
	}
	// Acknowledged ones are gone; the rest wait for the next consumer.
	waitUntil(t, ctx, "the untaken messages to stay queued", func() bool {
		got, _, err := q.Depth(ctx)
		return err == nil && got == uint64(n-int(started.Load()))
	})
}

// Depth counts waiting messages and dates the oldest.
func testQueueDepth(t *testing.T, ctx context.Context, f QueueFixture) {
	q := f.Open()
	if got, oldest, err := q.Depth(ctx); err != nil || got != 0 || !oldest.IsZero() {
		t.Fatalf("empty Depth = %d, %v, %v", got, oldest, err)
	}
	if d, err := q.Depths(ctx); err != nil || len(d) != 0 {
		t.Fatalf("empty Depths = %v, %v", d, err)
	}
	before := time.Now().Add(-time.Second)
	publishN(t, ctx, f, q, 3)
	got, oldest, err := q.Depth(ctx)
	if err != nil || got != 3 {
		t.Fatalf("Depth = %d, %v; want 3", got, err)
	}
	if oldest.Before(before) || oldest.After(time.Now().Add(time.Second)) {
		t.Fatalf("oldest = %v, want about now", oldest)
	}
	if d, err := q.Depths(ctx); err != nil || len(d) != 1 || d[f.Subject].N != 3 || !d[f.Subject].Oldest.Equal(oldest) {
		t.Fatalf("Depths = %v, %v; want %s: 3, oldest %v", d, err, f.Subject, oldest)
	}
}

func mustMessage(t *testing.T, d store.Delivery) store.Message {
	m, err := d.Message()
	if err != nil {
		t.Errorf("Message: %v", err)
	}
	return m
}
