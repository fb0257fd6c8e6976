package runtimeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fuzzBridge answers from the fuzzer's choice byte: bits 0-1 pick the error
// every method returns (none, invalid id, state, internal); bit 2 makes
// Respond skip reading the body; bits 4-7 set a small response limit.
type fuzzBridge struct {
	choice  byte
	payload []byte
}

func (b *fuzzBridge) err() error {
	switch b.choice & 3 {
	case 1:
		return ErrInvalidRequestID
	case 2:
		return ErrInvalidStateTransition
	case 3:
		return errors.New("internal")
	}
	return nil
}

func (b *fuzzBridge) Next(context.Context) (*Invocation, error) {
	if err := b.err(); err != nil {
		return nil, err
	}
	s := string(b.payload)
	return &Invocation{
		RequestID: "r1", Deadline: time.UnixMilli(int64(len(s))), InvokedFunctionARN: s,
		TraceID: s, ClientContext: s, CognitoIdentity: s, Payload: b.payload,
		ResponseLimit: int64(b.choice >> 4),
	}, nil
}

func (b *fuzzBridge) Respond(_ context.Context, _ string, resp *Response) error {
	if err := b.err(); err != nil {
		return err
	}
	if b.choice&4 != 0 {
		return nil
	}
	_, err := io.Copy(io.Discard, resp.Body)
	if ferr := resp.TrailerError(); ferr != nil && !json.Valid(ferr.Document) {
		panic("trailer error document is not JSON: " + string(ferr.Document))
	}
	return err
}

func (b *fuzzBridge) Fail(_ context.Context, _ string, ferr *FunctionError) error {
	if !json.Valid(ferr.Document) || ferr.Type == "" {
		panic("bad function error: " + ferr.Type + " " + string(ferr.Document))
	}
	return b.err()
}

func (b *fuzzBridge) InitError(ctx context.Context, ferr *FunctionError) error {
	return b.Fail(ctx, "", ferr)
}

// cutReader ends with io.ErrUnexpectedEOF instead of io.EOF: a body cut off.
type cutReader struct{ r io.Reader }

func (c cutReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// FuzzRuntimeAPI feeds arbitrary requests to the handler: it must never
// panic, and every answer must be one of the spec's, in its JSON shape.
func FuzzRuntimeAPI(f *testing.F) {
	f.Add("GET", "/2018-06-01/runtime/invocation/next", "", []byte(`{"a":1}`), byte(0))
	f.Add("POST", "/2018-06-01/runtime/invocation/r1/response", "Content-Type: application/json", []byte(`{"ok":true}`), byte(0xf0))
	f.Add("POST", "/2018-06-01/runtime/invocation/r1/response", "Lambda-Runtime-Function-Response-Mode: streaming\nLambda-Runtime-Function-Error-Type: E\nLambda-Runtime-Function-Error-Body: e30=", []byte("partial"), byte(8))
	f.Add("POST", "/2018-06-01/runtime/invocation/r1/response", "Lambda-Runtime-Function-Response-Mode: buffered", []byte("x"), byte(0))
	f.Add("POST", "/2018-06-01/runtime/invocation/r1/error", "Lambda-Runtime-Function-Error-Type: Runtime.X", []byte("not json"), byte(0))
	f.Add("POST", "/2018-06-01/runtime/invocation/r%2F1/error", "", []byte(`{"errorType":1}`), byte(1))
	f.Add("POST", "/2018-06-01/runtime/init/error", "", []byte(`{"errorMessage":"m","errorType":"t"}`), byte(2))
	f.Add("PUT", "/2020-01-01/extension/register", "", []byte{}, byte(3))
	f.Add("GET", "/2018-06-01/runtime/invocation/next", "", []byte("\x00\n\r\x7f"), byte(0))

	f.Fuzz(func(t *testing.T, method, target, headers string, body []byte, choice byte) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			u = &url.URL{Path: target}
		}
		h := http.Header{}
		for _, line := range strings.Split(headers, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
		}
		var r io.Reader = bytes.NewReader(body)
		if choice&8 != 0 {
			r = cutReader{r}
		}
		req := (&http.Request{
			Method: method, URL: u, Header: h, Trailer: h.Clone(),
			Body: io.NopCloser(r), ContentLength: int64(len(body)),
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Host: "runtime",
		}).WithContext(context.Background())
		rec := httptest.NewRecorder()
		NewServer(&fuzzBridge{choice: choice, payload: body}, nil).ServeHTTP(rec, req)

		got := rec.Body.Bytes()
		switch rec.Code {
		case 200:
			if len(body) == 0 && string(got) != "{}" {
				t.Fatalf("empty payload sent as %q", got)
			}
			return
		case 202:
			if string(got) != `{"status":"OK"}` {
				t.Fatalf("202 body %q", got)
			}
			return
		case 400, 403, 404, 413, 500:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		var doc struct {
			ErrorMessage *string `json:"errorMessage"`
			ErrorType    *string `json:"errorType"`
		}
		if err := json.Unmarshal(got, &doc); err != nil || doc.ErrorMessage == nil || doc.ErrorType == nil || *doc.ErrorType == "" {
			t.Fatalf("%d body %q", rec.Code, got)
		}
	})
}
