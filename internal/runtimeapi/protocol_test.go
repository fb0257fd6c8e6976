package runtimeapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lambada-dev/lambada/internal/waitfor"
)

// scripted is a hand-driven runtime: it does exactly what each test says,
// including the wrong thing.
type scripted struct {
	t      *testing.T
	addr   string
	env    *fakeEnv
	client *http.Client
}

func newScripted(t *testing.T) *scripted {
	t.Helper()
	env := newFakeEnv()
	addr := startServer(t, env)
	tr := &http.Transport{Proxy: nil}
	t.Cleanup(tr.CloseIdleConnections)
	return &scripted{t: t, addr: addr, env: env, client: &http.Client{Transport: tr}}
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (s *scripted) do(method, path string, header http.Header, body io.Reader) reply {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+s.addr+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, string(b)}
}

func (s *scripted) post(path string, header http.Header, body string) reply {
	s.t.Helper()
	return s.do(http.MethodPost, path, header, strings.NewReader(body))
}

// next dispatches inv and fetches it as the runtime.
func (s *scripted) next(inv *Invocation) reply {
	s.t.Helper()
	s.env.dispatch(inv)
	r := s.do(http.MethodGet, nextPath, nil, nil)
	if r.status != http.StatusOK {
		s.t.Fatalf("next: %d %s", r.status, r.body)
	}
	return r
}

const (
	nextPath      = "/2018-06-01/runtime/invocation/next"
	initErrorPath = "/2018-06-01/runtime/init/error"
	accepted      = `{"status":"OK"}`
)

func responsePath(id string) string { return "/2018-06-01/runtime/invocation/" + id + "/response" }
func errorPath(id string) string    { return "/2018-06-01/runtime/invocation/" + id + "/error" }

func wantReply(t *testing.T, got reply, status int, body string) {
	t.Helper()
	if got.status != status || got.body != body {
		t.Errorf("got %d %s\nwant %d %s", got.status, got.body, status, body)
	}
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

func wantError(t *testing.T, got reply, status int, errorType string) {
	t.Helper()
	if got.status != status || !strings.Contains(got.body, `"errorType":"`+errorType+`"`) || !strings.HasPrefix(got.body, `{"errorMessage":"`) {
		t.Errorf("got %d %s, want %d %s", got.status, got.body, status, errorType)
	}
}

const invalidID = `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}`

func TestNextHeaders(t *testing.T) {
	t.Parallel()
	s := newScripted(t)
	deadline := time.UnixMilli(1_800_000_000_123)
	r := s.next(&Invocation{
		RequestID:          "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
		Deadline:           deadline,
		InvokedFunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:fn",
		TraceID:            "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=0;Lineage=a87bd80c:1",
		ClientContext:      "{\"custom\":\n{\"k\":\"v\"}}",
		Payload:            []byte(`{"a":1}`),
	})
	want := map[string]string{
		"Lambda-Runtime-Aws-Request-Id":       "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
		"Lambda-Runtime-Deadline-Ms":          "1800000000123",
		"Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:000000000000:function:fn",
		"Lambda-Runtime-Trace-Id":             "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=0;Lineage=a87bd80c:1",
		"Lambda-Runtime-Client-Context":       `{"custom": {"k":"v"}}`,
		"Content-Type":                        "application/json",
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"Lambda-Runtime-Cognito-Identity", "Lambda-Runtime-Aws-Tenant-Id"} {
		if _, ok := r.header[k]; ok {
			t.Errorf("%s sent without a value", k)
		}
	}
	if r.body != `{"a":1}` {
		t.Errorf("body %q", r.body)
	}
	wantReply(t, s.post(responsePath("8476a536-e9f4-11e8-9739-2dfe598c3fcd"), nil, "ok"), 202, accepted)
	s.env.wait(t)

	// Empty payload → {}; headers without a value are omitted.
	r = s.next(&Invocation{RequestID: "r2", Deadline: deadline})
	if r.body != "{}" || r.header.Get("Content-Length") != "2" {
		t.Errorf("empty payload sent as %q", r.body)
	}
	for _, k := range []string{"Lambda-Runtime-Client-Context", "Lambda-Runtime-Invoked-Function-Arn", "Lambda-Runtime-Trace-Id"} {
		if _, ok := r.header[k]; ok {
			t.Errorf("%s sent without a value", k)
		}
	}
}

func TestResponse(t *testing.T) {
	t.Parallel()
	s := newScripted(t)

	s.next(&Invocation{RequestID: "r1"})
	wantReply(t, s.post(responsePath("r1"), nil, "plain bytes"), 202, accepted)
	d := s.env.wait(t)
	if d.kind != "response" || string(d.body) != "plain bytes" || d.contentType != "" || d.streaming || d.trailer != nil {
		t.Errorf("delivery %+v", d)
	}

	s.next(&Invocation{RequestID: "r2"})
	h := http.Header{"Lambda-Runtime-Function-Response-Mode": {"streaming"}, "Content-Type": {"text/event-stream"}}
	wantReply(t, s.post(responsePath("r2"), h, "data"), 202, accepted)
	if d := s.env.wait(t); !d.streaming || d.contentType != "text/event-stream" || string(d.body) != "data" {
		t.Errorf("delivery %+v", d)
	}

	// An id with an escaped character reaches the Bridge unescaped.
	s.next(&Invocation{RequestID: "a/b c"})
	wantReply(t, s.post("/2018-06-01/runtime/invocation/a%2Fb%20c/response", nil, "x"), 202, accepted)
	s.env.wait(t)
}

// TestTrailers posts chunked bodies with trailers the way aws-lambda-go does.
func TestTrailers(t *testing.T) {
	t.Parallel()
	s := newScripted(t)
	post := func(id string, trailer http.Header, fill func(http.Header)) delivery {
		t.Helper()
		s.next(&Invocation{RequestID: id})
		pr, pw := io.Pipe()
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+responsePath(id), pr)
		req.Trailer = trailer
		go func() {
			pw.Write([]byte("partial;"))
			fill(trailer)
			pw.Close()
		}()
		resp, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 202 || string(b) != accepted {
			t.Errorf("%d %s", resp.StatusCode, b)
		}
		return s.env.wait(t)
	}
	declared := func() http.Header {
		return http.Header{"Lambda-Runtime-Function-Error-Type": nil, "Lambda-Runtime-Function-Error-Body": nil}
	}

	if d := post("ok", declared(), func(http.Header) {}); d.trailer != nil || string(d.body) != "partial;" {
		t.Errorf("declared but empty trailers: %+v", d.trailer)
	}
	doc := `{"errorMessage":"mid","errorType":"Function.Mine"}`
	d := post("fail", declared(), func(h http.Header) {
		h.Set("Lambda-Runtime-Function-Error-Type", "Function.Mine")
		h.Set("Lambda-Runtime-Function-Error-Body", base64.StdEncoding.EncodeToString([]byte(doc)))
	})
	if d.trailer == nil || d.trailer.Type != "Function.Mine" || string(d.trailer.Document) != doc {
		t.Errorf("trailer %+v", d.trailer)
	}
	// net/http cannot read trailers over its 4 KiB buffer: the result is a
	// function error saying so, not a truncated body.
	d = post("long", declared(), func(h http.Header) {
		h.Set("Lambda-Runtime-Function-Error-Type", "errorString")
		h.Set("Lambda-Runtime-Function-Error-Body", base64.StdEncoding.EncodeToString(
			[]byte(`{"errorMessage":"`+strings.Repeat("m", 5000)+`","errorType":"errorString"}`)))
	})
	if d.readErr != nil || string(d.body) != "partial;" || d.trailer == nil ||
		string(d.trailer.Document) != string(errorDocument(longTrailerMessage, ErrorTypeUnknown)) {
		t.Errorf("long trailer: read err %v, body %q, trailer %+v", d.readErr, d.body, d.trailer)
	}
	d = post("typeonly", declared(), func(h http.Header) { h.Set("Lambda-Runtime-Function-Error-Type", "Function.X") })
	if d.trailer == nil || string(d.trailer.Document) != `{"errorMessage":"","errorType":"Function.X"}` {
		t.Errorf("trailer %+v", d.trailer)
	}
	d = post("notbase64", declared(), func(h http.Header) { h.Set("Lambda-Runtime-Function-Error-Body", "%%%") })
	if d.trailer == nil || string(d.trailer.Document) != `{"errorMessage":"%%%","errorType":"Runtime.Unknown"}` {
		t.Errorf("trailer %+v", d.trailer)
	}
}

func TestErrorDocuments(t *testing.T) {
	t.Parallel()
	s := newScripted(t)
	cases := []struct {
		name, headerType, body string
		wantType, wantDoc      string
	}{
		{"JSON verbatim", "", `{"errorType":"customErr","errorMessage":"boom","stackTrace":[{"path":"a.go","line":3,"label":"f"}]}`,
			"customErr", `{"errorType":"customErr","errorMessage":"boom","stackTrace":[{"path":"a.go","line":3,"label":"f"}]}`},
		{"header type wins", "Function.Custom", `{"errorType":"x","errorMessage":"m"}`, "Function.Custom", `{"errorType":"x","errorMessage":"m"}`},
		{"empty body with header", "Runtime.Crash", "", "Runtime.Crash", `{"errorMessage":"","errorType":"Runtime.Crash"}`},
		{"empty body", "", "", "Runtime.Unknown", `{"errorMessage":"","errorType":"Runtime.Unknown"}`},
		{"text body", "", "it \"broke\"", "Runtime.Unknown", `{"errorMessage":"it \"broke\"","errorType":"Runtime.Unknown"}`},
		{"JSON without errorType", "", `{"errorMessage":"m"}`, "Runtime.Unknown", `{"errorMessage":"m"}`},
	}
	for i, c := range cases {
		id := fmt.Sprintf("e%d", i)
		s.next(&Invocation{RequestID: id})
		h := http.Header{"Lambda-Runtime-Function-Xray-Error-Cause": {`{"working_directory":"/var/task"}`}}
		if c.headerType != "" {
			h.Set("Lambda-Runtime-Function-Error-Type", c.headerType)
		}
		wantReply(t, s.post(errorPath(id), h, c.body), 202, accepted)
		d := s.env.wait(t)
		if d.kind != "error" || d.ferr.Type != c.wantType || string(d.ferr.Document) != c.wantDoc {
			t.Errorf("%s: got %s %s, want %s %s", c.name, d.ferr.Type, d.ferr.Document, c.wantType, c.wantDoc)
		}
	}

	// aws-lambda-go sends an X-Ray cause of up to 1 MiB as a header.
	s.next(&Invocation{RequestID: "xray"})
	h := http.Header{"Lambda-Runtime-Function-Xray-Error-Cause": {strings.Repeat("c", 1<<20-1)}}
	wantReply(t, s.post(errorPath("xray"), h, `{"errorMessage":"m","errorType":"t"}`), 202, accepted)
	s.env.wait(t)
}

func TestInitError(t *testing.T) {
	t.Parallel()
	s := newScripted(t)
	doc := `{"errorMessage":"Unable to import module 'app': No module named 'app'","errorType":"Runtime.ImportModuleError","requestId":"","stackTrace":[]}`
	wantReply(t, s.post(initErrorPath, nil, doc), 202, accepted)
	if d := s.env.wait(t); d.kind != "init" || d.ferr.Type != "Runtime.ImportModuleError" || string(d.ferr.Document) != doc {
		t.Errorf("delivery %+v", d)
	}
	// After init (the first next), init errors are refused.
	s.next(&Invocation{RequestID: "r1"})
	wantError(t, s.post(initErrorPath, nil, doc), 403, "InvalidStateTransition")
	s.env.expectNone(t)
}

// TestFailures does the wrong thing on purpose for every failure row of
// docs/behaviour/runtime-api.md §2.
func TestFailures(t *testing.T) {
	t.Parallel()

	t.Run("wrong id", func(t *testing.T) {
		t.Parallel()
		s := newScripted(t)
		s.next(&Invocation{RequestID: "r1"})
		wantReply(t, s.post(responsePath("nope"), nil, "x"), 400, invalidID)
		wantReply(t, s.post(errorPath("nope"), nil, "{}"), 400, invalidID)
		wantReply(t, s.post(responsePath(""), nil, "x"), 400, invalidID)
		s.env.expectNone(t)
		wantReply(t, s.post(responsePath("r1"), nil, "x"), 202, accepted)
	})

	t.Run("late answer after timeout", func(t *testing.T) {
		t.Parallel()
		s := newScripted(t)
		s.next(&Invocation{RequestID: "r1"})
		s.env.timeOut()
		wantReply(t, s.post(responsePath("r1"), nil, "late"), 400, invalidID)
		wantReply(t, s.post(errorPath("r1"), nil, "{}"), 400, invalidID)
		s.env.expectNone(t)
	})

	t.Run("second result", func(t *testing.T) {
		t.Parallel()
		s := newScripted(t)
		s.next(&Invocation{RequestID: "r1"})
		wantReply(t, s.post(responsePath("r1"), nil, "one"), 202, accepted)
		wantError(t, s.post(responsePath("r1"), nil, "two"), 403, "InvalidStateTransition")
		wantError(t, s.post(errorPath("r1"), nil, "{}"), 403, "InvalidStateTransition")
		s.next(&Invocation{RequestID: "r2"})
		wantReply(t, s.post(errorPath("r2"), nil, "{}"), 202, accepted)
		wantError(t, s.post(responsePath("r2"), nil, "late"), 403, "InvalidStateTransition")
	})

	t.Run("error after the response began", func(t *testing.T) {
		t.Parallel()
		s := newScripted(t)
		s.next(&Invocation{RequestID: "r1"})
		began := make(chan struct{}, 1)
		s.env.setOnChunk(func([]byte) { began <- struct{}{} })
		pr, pw := io.Pipe()
		done := make(chan reply, 1)
		go func() { done <- s.do(http.MethodPost, responsePath("r1"), nil, pr) }()
		pw.Write([]byte("first"))
		<-began
		wantError(t, s.post(errorPath("r1"), nil, "{}"), 403, "InvalidStateTransition")
		pw.Close()
		wantReply(t, <-done, 202, accepted)
		if d := s.env.wait(t); string(d.body) != "first" {
			t.Errorf("body %q", d.body)
		}
	})

	t.Run("next while busy", func(t *testing.T) {
		t.Parallel()
		s := newScripted(t)
		s.next(&Invocation{RequestID: "r1"})
		wantReply(t, s.do(http.MethodGet, nextPath, nil, nil), 403,
			`{"errorMessage":"Invalid state transition: /next called while the current invocation has no result.","errorType":"InvalidStateTransition"}`)
	})

	t.Run("oversize buffered result", func(t *testing.T) {
		t.Parallel()
		s := newScripted(t)
		s.next(&Invocation{RequestID: "r1"})
		body := bytes.Repeat([]byte("x"), MaxBufferedResponse+1)
		r := s.do(http.MethodPost, responsePath("r1"), nil, bytes.NewReader(body))
		wantReply(t, r, 413, `{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}`)
		d := s.env.wait(t)
		if !errors.Is(d.readErr, ErrResponseTooLarge) || len(d.body) != MaxBufferedResponse {
			t.Errorf("read %d bytes, err %v", len(d.body), d.readErr)
		}
	})

	t.Run("exactly the limit", func(t *testing.T) {
		t.Parallel()
		s := newScripted(t)
		s.next(&Invocation{RequestID: "r1", ResponseLimit: 10})
		wantReply(t, s.post(responsePath("r1"), nil, "0123456789"), 202, accepted)
		s.env.wait(t)
		s.next(&Invocation{RequestID: "r2", ResponseLimit: 10})
		wantReply(t, s.post(responsePath("r2"), nil, "0123456789A"), 413,
			`{"errorMessage":"Exceeded maximum allowed payload size (10 bytes).","errorType":"RequestEntityTooLarge"}`)
		if d := s.env.wait(t); string(d.body) != "0123456789" {
			t.Errorf("body %q", d.body)
		}
	})

	t.Run("oversize error document", func(t *testing.T) {
		t.Parallel()
		s := newScripted(t)
		s.next(&Invocation{RequestID: "r1"})
		r := s.do(http.MethodPost, errorPath("r1"), nil, bytes.NewReader(make([]byte, MaxBufferedResponse+1)))
		wantError(t, r, 413, "RequestEntityTooLarge")
		d := s.env.wait(t)
		want := `{"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}`
		if d.kind != "error" || d.ferr.Type != ErrorTypeResponseTooLarge || string(d.ferr.Document) != want {
			t.Errorf("delivery %s %+v", d.kind, d.ferr)
		}
	})

	t.Run("bad response mode", func(t *testing.T) {
		t.Parallel()
		s := newScripted(t)
		s.next(&Invocation{RequestID: "r1"})
		r := s.post(responsePath("r1"), http.Header{"Lambda-Runtime-Function-Response-Mode": {"buffered"}}, "x")
		wantError(t, r, 400, "InvalidFunctionResponseMode")
		d := s.env.wait(t)
		if d.kind != "error" || d.ferr.Type != ErrorTypeInvalidResponseMode {
			t.Errorf("delivery %s %+v", d.kind, d.ferr)
		}
		// With a wrong id the id is the complaint.
		r = s.post(responsePath("nope"), http.Header{"Lambda-Runtime-Function-Response-Mode": {"Streaming"}}, "x")
		wantReply(t, r, 400, invalidID)
	})

	t.Run("truncated body", func(t *testing.T) {
		t.Parallel()
		s := newScripted(t)
		raw := func(id, head, body string, halfClose bool) (reply, bool) {
			t.Helper()
			s.next(&Invocation{RequestID: id})
			conn, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: runtime\r\n%s\r\n%s", responsePath(id), head, body)
			if !halfClose {
				return reply{}, false
			}
			conn.(*net.TCPConn).CloseWrite()
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			return reply{resp.StatusCode, resp.Header, string(b)}, true
		}
		check := func(body string) {
			t.Helper()
			d := s.env.wait(t)
			if !errors.Is(d.readErr, ErrTruncated) || string(d.body) != body {
				t.Errorf("read %q, err %v", d.body, d.readErr)
			}
		}

		r, _ := raw("cl", "Content-Length: 100\r\n", "0123456789", true)
		wantError(t, r, 400, "TruncatedHTTPRequest")
		check("0123456789")

		r, _ = raw("chunked", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n", true)
		wantError(t, r, 400, "TruncatedHTTPRequest")
		check("hello")

		raw("closed", "Content-Length: 100\r\n", "0123456789", false) // closes without reading
		check("0123456789")
	})

	t.Run("unknown paths", func(t *testing.T) {
		t.Parallel()
		s := newScripted(t)
		const notFound = `{"errorMessage":"Not found","errorType":"NotFound"}`
		for _, c := range []struct{ method, path string }{
			{"POST", "/2020-01-01/extension/register"},
			{"GET", "/2020-01-01/extension/event/next"},
			{"PUT", "/2020-08-15/logs"},
			{"PUT", "/2022-07-01/telemetry"},
			{"GET", "/"},
			{"GET", "/2018-06-01/runtime/invocation/next/"},
			{"POST", "/2018-06-01/runtime/invocation/next"},
			{"HEAD", "/2018-06-01/runtime/invocation/next"},
			{"GET", "/2018-06-01/runtime/invocation/r1/response"},
			{"PUT", "/2018-06-01/runtime/invocation/r1/error"},
			{"GET", "/2018-06-01/runtime/init/error"},
			{"POST", "/2018-06-01/runtime/invocation/r1/responses"},
			{"POST", "/2018-06-01/runtime/invocation/r1/response/x"},
			{"POST", "/2018-06-01/runtime/invocation/r1"},
			{"POST", "/2019-01-01/runtime/init/error"},
			{"POST", "//2018-06-01/runtime/init/error"},
		} {
			r := s.do(c.method, c.path, nil, nil)
			if c.method == "HEAD" {
				r.body = notFound // no body on HEAD
			}
			if r.status != 404 || r.body != notFound {
				t.Errorf("%s %s: %d %s", c.method, c.path, r.status, r.body)
			}
		}
		s.env.expectNone(t)
	})

	t.Run("environment failure", func(t *testing.T) {
		t.Parallel()
		s := newScripted(t)
		s.env.nextErr = errors.New("sandbox lost")
		wantError(t, s.do(http.MethodGet, nextPath, nil, nil), 500, "InternalServerError")
	})
}

// TestServeStops: stopping Serve ends a parked long poll and waits for it.
func TestServeStops(t *testing.T) {
	t.Parallel()
	env := newFakeEnv()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- NewServer(env, nil).Serve(ctx, ln) }()

	polled := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + nextPath)
		if err == nil {
			resp.Body.Close()
		}
		polled <- err
	}()
	waitfor.True(t, 5*time.Second, "next parked", func() bool { return env.parkedNext() != 0 })
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if n := env.parkedNext(); n != 0 {
		t.Errorf("%d Next calls still running after Serve returned", n)
	}
	<-polled
	// Asked of the listener itself: a dial to its freed port can reach
	// another test's new listener, or connect to itself (the kernel may
	// pick the same port as the source), as the full suite once saw.
	if err := ln.(*net.TCPListener).SetDeadline(time.Now()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("listener not closed after Serve returned: %v", err)
	}
}
