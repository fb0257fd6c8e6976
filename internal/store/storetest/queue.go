package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/lambada-dev/lambada/internal/store"
)

// LargeMessageSize is beyond the 1 MB max_payload NATS servers have by
// default: such messages must still be published and read back whole.
const LargeMessageSize = 3<<20 + 7

// StreamReader is a stream that can be read back.
type StreamReader interface {
	store.Stream
	store.Reader
}

// largeBody is n bytes heavy in the characters JSON encoders like to
// escape, so that no layer may grow or change them.
func largeBody(n int) []byte {
	return bytes.Repeat([]byte(`<&>"\`), n/5+1)[:n]
}

// RunStream runs the Stream+Reader conformance suite. open returns an
// empty stream accepting subjects under prefix (e.g. "t1.").
func RunStream(t *testing.T, open func(t *testing.T) (s StreamReader, prefix string)) {
	for _, size := range []int{10, LargeMessageSize} {
		t.Run("PublishRead"+sizeName(size), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), Timeout)
			defer cancel()
			s, prefix := open(t)
			body := largeBody(size)
			if err := s.Publish(ctx, store.Message{Subject: prefix + "a", Data: body, Header: map[string]string{"K": "v"}}); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			if err := s.Publish(ctx, store.Message{Subject: prefix + "b", Data: []byte("other")}); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			msgs, err := s.Read(ctx, prefix+"a", 0, 10)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if len(msgs) != 1 {
				t.Fatalf("Read: %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if !bytes.Equal(m.Data, body) || m.Header["K"] != "v" || m.Subject != prefix+"a" || m.Seq == 0 {
				t.Fatalf("read back %d bytes (equal %v), header %v, subject %s, seq %d", len(m.Data), bytes.Equal(m.Data, body), m.Header, m.Subject, m.Seq)
			}
			if more, err := s.Read(ctx, prefix+"a", m.Seq, 10); err != nil || len(more) != 0 {
				t.Fatalf("Read after the last: %d, %v", len(more), err)
			}
		})
	}
}

// RunQueue runs the Queue conformance suite. open returns an empty queue
// accepting subjects under prefix.
func RunQueue(t *testing.T, open func(t *testing.T) (q store.Queue, prefix string)) {
	for _, size := range []int{10, LargeMessageSize} {
		t.Run("RetryAck"+sizeName(size), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), Timeout)
			defer cancel()
			q, prefix := open(t)
			body := largeBody(size)
			if err := q.Publish(ctx, store.Message{Subject: prefix + "a", Data: body, Header: map[string]string{"K": "v"}}); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			type seen struct {
				m          store.Message
				err        error
				deliveries int
			}
			got := make(chan seen, 4)
			cctx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() {
				done <- q.Consume(cctx, 2, func(d store.Delivery) {
					m, err := d.Message()
					got <- seen{m, err, d.Deliveries()}
					if d.Deliveries() == 1 {
						_ = d.Retry(10 * time.Millisecond)
					} else {
						_ = d.Ack()
					}
				})
			}()
			for i := 1; i <= 2; i++ {
				select {
				case s := <-got:
					if s.err != nil || !bytes.Equal(s.m.Data, body) || s.m.Header["K"] != "v" || s.deliveries != i {
						t.Fatalf("delivery %d: %d bytes (equal %v), header %v, deliveries %d, err %v",
							i, len(s.m.Data), bytes.Equal(s.m.Data, body), s.m.Header, s.deliveries, s.err)
					}
				case <-ctx.Done():
					t.Fatalf("delivery %d never came", i)
				}
			}
			// Acknowledged: gone from the queue.
			for {
				n, _, err := q.Depth(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("depth %d after Ack", n)
				}
				time.Sleep(10 * time.Millisecond)
			}
			stop()
			if err := <-done; err != nil {
				t.Fatalf("Consume: %v", err)
			}
			select {
			case s := <-got:
				t.Fatalf("a third delivery: %+v", s.deliveries)
			default:
			}
		})
	}
}

func sizeName(n int) string {
	if n > 1<<20 {
		return "Large"
	}
	return "Small"
}
