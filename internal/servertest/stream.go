package servertest

import (
	"context"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Streamed is what one InvokeWithResponseStream call delivered.
type Streamed struct {
	Out      *lambda.InvokeWithResponseStreamOutput
	Chunks   []string
	Arrived  []time.Time // when each chunk was read
	Complete *types.InvokeWithResponseStreamCompleteEvent
}

// Body is the chunks joined.
func (s *Streamed) Body() string { return strings.Join(s.Chunks, "") }

// ReadStream calls InvokeWithResponseStream and reads the stream to its
// end with the SDK's event reader, failing the test on anything but
// PayloadChunks followed by exactly one InvokeComplete. A refused call
// returns the SDK's error; a non-200 status returns no events.
func ReadStream(t testing.TB, c *lambda.Client, in *lambda.InvokeWithResponseStreamInput) (*Streamed, error) {
	t.Helper()
	out, err := c.InvokeWithResponseStream(context.Background(), in)
	if err != nil {
		return nil, err
	}
	r := &Streamed{Out: out}
	if out.StatusCode != 200 {
		return r, nil
	}
	st := out.GetStream()
	defer st.Close()
	for ev := range st.Events() {
		switch v := ev.(type) {
		case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
			if r.Complete != nil {
				t.Fatalf("PayloadChunk after InvokeComplete")
			}
			r.Chunks = append(r.Chunks, string(v.Value.Payload))
			r.Arrived = append(r.Arrived, time.Now())
		case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
			if r.Complete != nil {
				t.Fatalf("second InvokeComplete")
			}
			r.Complete = &v.Value
		default:
			t.Fatalf("unexpected event %T", ev)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatalf("stream error: %v (chunks %q)", err, r.Chunks)
	}
	if r.Complete == nil {
		t.Fatalf("no InvokeComplete after %q", r.Chunks)
	}
	return r, nil
}

// LiveHeap is the heap the last GC found live: what the process retains,
// not the garbage it has yet to collect.
func LiveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// PeakLiveHeap samples LiveHeap every few milliseconds until the returned
// function is called, which returns the highest value seen.
func PeakLiveHeap() (stop func() uint64) {
	done := make(chan struct{})
	result := make(chan uint64)
	go func() {
		var peak uint64
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				result <- max(peak, LiveHeap())
				return
			case <-t.C:
				peak = max(peak, LiveHeap())
			}
		}
	}()
	return func() uint64 { close(done); return <-result }
}
