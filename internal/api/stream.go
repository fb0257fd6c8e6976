package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/lambada-dev/lambada/internal/invoke"
)

// invokeStream is InvokeWithResponseStream (docs/behaviour/streaming.md):
// errors known before the function runs are ordinary JSON errors; once the
// head is sent the status is 200 and every outcome travels in the final
// InvokeComplete event.
func (h *Handler) invokeStream(q *request) (response, error) {
	in := invokeRequest(q)
	s := &eventSink{w: q.w, rc: http.NewResponseController(q.w), timeout: h.door.Limits().WriteTimeout}
	res, err := h.cfg.Invoker.InvokeStream(q.r.Context(), in, s)
	if err != nil {
		if s.finish() {
			// The head is out (a platform failure after the runtime began
			// its response): the failure can only be reported in-stream.
			s.complete(invokeComplete{ErrorCode: "ServiceException", ErrorDetails: err.Error()})
			return response{status: http.StatusOK, written: true}, nil
		}
		return response{}, err
	}
	if res.Status != http.StatusOK {
		s.finish()
		return response{status: res.Status, headers: map[string]string{}}, nil
	}
	s.finish()
	s.head(res.ExecutedVersion, "")
	ic := invokeComplete{LogResult: res.LogResult}
	if res.FunctionError != "" {
		ic.ErrorCode, ic.ErrorDetails = res.ErrorType, string(res.Payload)
	}
	s.complete(ic)
	return response{status: http.StatusOK, written: true}, nil
}

// invokeComplete is the InvokeComplete event's payload.
type invokeComplete struct {
	ErrorCode    string `json:",omitempty"`
	ErrorDetails string `json:",omitempty"`
	LogResult    string `json:",omitempty"`
}

// eventSink writes an event stream to the caller. The environment calls
// Start and Write from the runtime's request goroutine; the handler calls
// finish once InvokeStream returned, after which those calls are refused
// (an invocation that timed out mid-stream may still be relaying).
type eventSink struct {
	mu  sync.Mutex
	w   http.ResponseWriter
	enc *eventstream.Encoder
	// rc and timeout give each write its deadline: a caller that stops
	// reading is cut off timeout after a write began, however long the
	// function has been running (docs/security.md, "Answers").
	rc      *http.ResponseController
	timeout time.Duration
	started bool
	done    bool
	failed  bool // a write to the caller failed: it went away
}

var errStreamClosed = errors.New("event stream closed")

var _ invoke.StreamSink = (*eventSink)(nil)

// Start sends the response head (docs/behaviour/streaming.md §3).
func (s *eventSink) Start(version, contentType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		s.writeHead(version, contentType)
	}
}

// Write sends chunk as PayloadChunk events of at most maxChunk bytes.
func (s *eventSink) Write(chunk []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done || !s.started {
		return errStreamClosed
	}
	for len(chunk) > 0 {
		n := min(len(chunk), maxChunk)
		if err := s.event("PayloadChunk", "application/octet-stream", chunk[:n]); err != nil {
			return err
		}
		chunk = chunk[n:]
	}
	s.flush()
	return nil
}

// maxChunk caps one PayloadChunk (docs/behaviour/streaming.md §8).
const maxChunk = 64 << 10

// finish refuses further Start and Write calls and reports whether the
// head was sent.
func (s *eventSink) finish() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	return s.started
}

// head sends the head if Start never did (the function failed before its
// /response, or returned an empty body through it).
func (s *eventSink) head(version, contentType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeHead(version, contentType)
}

func (s *eventSink) writeHead(version, contentType string) {
	if s.started {
		return
	}
	s.started = true
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	// Content-Type is the runtime's (SDK ResponseStreamContentType), not
	// the framing's media type: docs/behaviour/streaming.md §3. No SDK reads it to parse.
	s.deadline()
	hd := s.w.Header()
	hd.Set("Content-Type", contentType)
	hd.Set("X-Amz-Executed-Version", version)
	s.w.WriteHeader(http.StatusOK)
	s.flush()
}

// complete sends the final InvokeComplete event.
func (s *eventSink) complete(ic invokeComplete) {
	s.mu.Lock()
	defer s.mu.Unlock()
	payload, _ := json.Marshal(ic)
	_ = s.event("InvokeComplete", "application/json", payload)
	s.flush()
}

// event encodes one message with the headers in the order docs/behaviour/streaming.md
// §4.1 gives.
func (s *eventSink) event(eventType, contentType string, payload []byte) error {
	if s.failed {
		return errStreamClosed
	}
	if s.enc == nil {
		s.enc = eventstream.NewEncoder()
	}
	s.deadline()
	if err := s.enc.Encode(s.w, newEvent(eventType, contentType, payload)); err != nil {
		s.failed = true
		return err
	}
	return nil
}

func newEvent(eventType, contentType string, payload []byte) eventstream.Message {
	var m eventstream.Message
	m.Headers.Set(":event-type", eventstream.StringValue(eventType))
	m.Headers.Set(":content-type", eventstream.StringValue(contentType))
	m.Headers.Set(":message-type", eventstream.StringValue("event"))
	m.Payload = payload
	return m
}

func (s *eventSink) deadline() {
	if s.rc != nil {
		_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	}
}

func (s *eventSink) flush() {
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
}
