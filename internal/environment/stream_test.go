package environment

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// recSink records what a streamed invocation relayed.
type recSink struct {
	mu      sync.Mutex
	ct      []string
	chunks  []string
	arrived []time.Time
}

func (s *recSink) Start(ct string) { s.mu.Lock(); s.ct = append(s.ct, ct); s.mu.Unlock() }
func (s *recSink) Write(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(b) == 0 {
		return fmt.Errorf("empty chunk")
	}
	s.chunks = append(s.chunks, string(b))
	s.arrived = append(s.arrived, time.Now())
	return nil
}

func streamInvoke(t *testing.T, e *Env, payload string) (Result, *recSink) {
	t.Helper()
	reqN++
	s := &recSink{}
	r, err := e.Invoke(context.Background(), Request{ID: fmt.Sprintf("s-%d-%d", reqN, time.Now().UnixNano()), Payload: []byte(payload), NeedLog: true, Stream: s})
	if err != nil {
		t.Fatal(err)
	}
	return r, s
}

func TestStreamRelay(t *testing.T) {
	e := start(t, 3, nil)

	r, s := streamInvoke(t, e, `{"op":"stream","n":3,"ms":200}`)
	end := time.Now()
	if r.FunctionError != nil || r.Body != nil {
		t.Fatalf("result %+v", r)
	}
	if strings.Join(s.chunks, "") != "chunk-0;chunk-1;chunk-2;" || len(s.chunks) < 2 || len(s.ct) != 1 {
		t.Fatalf("chunks %q, starts %q", s.chunks, s.ct)
	}
	if end.Sub(s.arrived[0]) < 300*time.Millisecond {
		t.Fatalf("first chunk only %v before the end", end.Sub(s.arrived[0]))
	}

	r, s = streamInvoke(t, e, `{"op":"stream","n":1,"ms":10,"fail":true}`)
	if r.FunctionError == nil || r.FunctionError.Type != "errorString" ||
		string(r.FunctionError.Document) != `{"errorMessage":"mid-stream failure","errorType":"errorString"}` {
		t.Fatalf("result %+v", r)
	}
	if strings.Join(s.chunks, "") != "chunk-0;partial;" {
		t.Fatalf("chunks %q", s.chunks)
	}

	// A plain result is relayed too; the environment stays usable for a
	// buffered invocation afterwards.
	_, s = streamInvoke(t, e, `{"op":"echo","x":1}`)
	if strings.Join(s.chunks, "") != `{"op":"echo","x":1}` {
		t.Fatalf("chunks %q", s.chunks)
	}
	if b := invoke(t, e, `{"op":"echo","y":2}`); string(b.Body) != `{"op":"echo","y":2}` {
		t.Fatalf("buffered after streamed: %q", b.Body)
	}

	// An /error before any byte: no Start, no chunk.
	r, s = streamInvoke(t, e, `{"op":"error","msg":"boom"}`)
	if r.FunctionError == nil || len(s.ct) != 0 || len(s.chunks) != 0 {
		t.Fatalf("result %+v, sink %+v", r, s)
	}
}

func TestStreamTimeoutMidStream(t *testing.T) {
	e := start(t, 1, nil)
	r, s := streamInvoke(t, e, `{"op":"stream","n":30,"ms":100}`)
	if r.FunctionError == nil || r.FunctionError.Type != "Sandbox.Timedout" {
		t.Fatalf("result %+v", r)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.chunks) == 0 || !strings.HasPrefix(strings.Join(s.chunks, ""), "chunk-0;") {
		t.Fatalf("chunks %q", s.chunks)
	}
}
