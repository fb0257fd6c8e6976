package urls

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// FuzzEvent: any request net/http accepts maps to a valid payload 2.0
// event that aws-lambda-go decodes, with the body recoverable exactly;
// requests it refuses get its clean 400 before lambada sees them.
func FuzzEvent(f *testing.F) {
	f.Add("GET /pa2%2Fth/1?multi=foo&multi=%2Fbar HTTP/1.1\r\nHost: x.lambda-url.r.localhost\r\nCookie: a=1; b=2\r\n\r\n", []byte(nil), "text/plain")
	f.Add("POST /?%zz=%&a HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\n\r\n", []byte("\xff\x00"), "application/json; charset=utf-8")
	f.Add("PUT /%C3%A9 HTTP/1.1\r\nHost: h\r\nCookie: ;;\r\n\r\n", []byte("{}"), "")
	f.Fuzz(func(t *testing.T, head string, body []byte, contentType string) {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewBufferString(head)))
		if err != nil {
			return // net/http answers 400 itself
		}
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		r.RemoteAddr = "127.0.0.1:1234"
		ev := newEvent(r, body, incoming{id: "abc", rawPath: rawPath(r), domain: "abc.lambda-url.r.localhost",
			requestID: "id", trace: "Root=1-00000000-000000000000000000000000", port: "9070", account: "anonymous", now: time.Unix(0, 0)})
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("event does not encode: %v", err)
		}
		var got events.LambdaFunctionURLRequest
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("aws-lambda-go cannot decode the event: %v\n%s", err, b)
		}
		if got.Version != "2.0" || got.RawPath == "" || got.RequestContext.HTTP.Method != r.Method {
			t.Fatalf("event %s", b)
		}
		want := body
		dec := []byte(got.Body)
		if got.IsBase64Encoded {
			if dec, err = base64.StdEncoding.DecodeString(got.Body); err != nil {
				t.Fatalf("body not base64: %v", err)
			}
		}
		if len(want) > 0 && !bytes.Equal(dec, want) {
			t.Fatalf("body %q, want %q", dec, want)
		}
		_, _ = io.Copy(io.Discard, r.Body)
	})
}

// FuzzResult: any result a function returns maps to an answer net/http
// can send (status 100–599, token header names) or to the 502.
func FuzzResult(f *testing.F) {
	for _, s := range []string{`{"statusCode":"418","headers":{"a":1},"cookies":["c"],"body":{"x":1}}`, `"hi"`, `[1,2]`,
		"{\"statusCode\":201}\x00\x00\x00\x00\x00\x00\x00\x00body", `{"statusCode":200,"body":"aGk=","isBase64Encoded":true}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		rp, err := mapResult(payload)
		if err != nil {
			if err != errBadResponse {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if rp.status < 100 || rp.status > 599 {
			t.Fatalf("status %d", rp.status)
		}
		for _, h := range rp.headers {
			if !validHeaderName(h[0]) {
				t.Fatalf("header name %q", h[0])
			}
		}
	})
}
