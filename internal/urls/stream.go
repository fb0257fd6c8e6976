package urls

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/lambada-dev/lambada/internal/invoke"
)

// RESPONSE_STREAM (docs/behaviour/function-urls.md §10): the function is
// invoked like InvokeWithResponseStream and its body relayed as it
// arrives, flushed per piece. A body of the HTTP integration type starts
// with a JSON prelude (status, headers, cookies) ended by 8 NUL bytes;
// any other body is sent as is with status 200.

// maxPrelude caps the prelude lambada reads before the delimiter.
const maxPrelude = 64 << 10

var delimiter = make([]byte, 8)

// httpSink relays a streamed result to the URL's caller. Start and Write
// come from the runtime's request goroutine, finish from the handler;
// after finish they are refused (a timed-out invocation may still relay).
type httpSink struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	setCORS func(http.Header)

	started  bool // the runtime began its /response
	framed   bool // the body carries a prelude
	prelude  []byte
	headSent bool
	done     bool
	failed   bool   // a write failed (the caller left) or the prelude is bad
	bad      string // why the prelude could not be used
}

var _ invoke.StreamSink = (*httpSink)(nil)

// Start implements invoke.StreamSink.
func (s *httpSink) Start(_, contentType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done || s.started {
		return
	}
	s.started = true
	if contentType == contentStream {
		s.framed = true
		return
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	s.w.Header().Set("Content-Type", contentType)
	s.head(http.StatusOK)
}

// Write implements invoke.StreamSink.
func (s *httpSink) Write(chunk []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done || !s.started || s.failed {
		return errClosed
	}
	if !s.headSent {
		s.prelude = append(s.prelude, chunk...)
		i := bytes.Index(s.prelude, delimiter)
		if i < 0 {
			if len(s.prelude) > maxPrelude {
				s.failed, s.bad = true, "prelude larger than 64 KiB"
				return errClosed
			}
			return nil
		}
		if err := s.applyPrelude(s.prelude[:i]); err != nil {
			s.failed, s.bad = true, "bad prelude: "+err.Error()
			return errClosed
		}
		chunk = s.prelude[i+len(delimiter):]
		s.prelude = nil
		if len(chunk) == 0 {
			return nil
		}
	}
	if _, err := s.w.Write(chunk); err != nil {
		s.failed = true
		return err
	}
	s.flush()
	return nil
}

type preludeDoc struct {
	StatusCode json.RawMessage            `json:"statusCode"`
	Headers    map[string]json.RawMessage `json:"headers"`
	Cookies    []string                   `json:"cookies"`
}

// applyPrelude sends the head the prelude describes; a missing statusCode
// is 200.
func (s *httpSink) applyPrelude(b []byte) error {
	var p preludeDoc
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	status := http.StatusOK
	if len(p.StatusCode) > 0 && !isNull(p.StatusCode) {
		n, err := statusCode(p.StatusCode)
		if err != nil {
			return err
		}
		status = n
	}
	hd := s.w.Header()
	for _, k := range sortedKeys(p.Headers) {
		if !validHeaderName(k) {
			return errBadResponse
		}
		hd.Set(k, scalar(p.Headers[k]))
	}
	if hd.Get("Content-Type") == "" {
		hd.Set("Content-Type", "application/octet-stream")
	}
	for _, c := range p.Cookies {
		hd.Add("Set-Cookie", c)
	}
	s.head(status)
	return nil
}

func (s *httpSink) head(status int) {
	s.setCORS(s.w.Header())
	s.headSent = true
	s.w.WriteHeader(status)
	s.flush()
}

func (s *httpSink) flush() {
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
}

// finish refuses further calls and reports the state the handler
// concludes from.
func (s *httpSink) finish() (headSent bool, bad string, pending []byte, framed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	return s.headSent, s.bad, s.prelude, s.framed
}

// stream runs a RESPONSE_STREAM invocation and returns the failure reason
// for the log ("" when it ended well); cut asks the caller to truncate the
// answer (a failure after the head was sent).
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, req *invoke.Request, setCORS func(http.Header)) (reason string, cut bool) {
	s := &httpSink{w: w, setCORS: setCORS}
	res, err := h.cfg.Invoker.InvokeStream(r.Context(), req, s)
	headSent, bad, pending, framed := s.finish()
	switch {
	case err != nil && headSent:
		// A platform failure after the head: the status is out, only
		// truncating tells the caller.
		return "after the head: " + err.Error(), true
	case err != nil:
		f := invokeFailure(err)
		f.write(w)
		return f.reason, false
	case res.FunctionError != "" && headSent:
		return "function error mid-stream: " + res.ErrorType, true
	case res.FunctionError != "":
		f := badGateway("function error: " + res.ErrorType)
		f.write(w)
		return f.reason, false
	case bad != "":
		f := badGateway(bad)
		f.write(w)
		return f.reason, false
	case !headSent && framed && len(pending) > 0:
		f := badGateway("the stream ended inside its prelude")
		f.write(w)
		return f.reason, false
	case !headSent:
		// An empty body (or an empty framed one: status 200, no prelude).
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/octet-stream")
		}
		setCORS(w.Header())
		w.WriteHeader(http.StatusOK)
	}
	return "", false
}

// abort ends the answer without its last chunk: the caller sees a
// truncated body, never a complete-looking one (§10).
func abort() {
	panic(http.ErrAbortHandler)
}
