package sigv4

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/lambada-dev/lambada/internal/awserr"
)

// FuzzVerify feeds Verify arbitrary Authorization headers, request-targets,
// dates, content hashes and bodies. It must never panic, must refuse with a
// 403 of §7.4 only, and what it accepts must not survive a changed body.
func FuzzVerify(f *testing.F) {
	v := testVerifier()
	for _, c := range []clientRequest{
		{method: "POST", target: "/2015-03-31/functions/my-fn%3Aprod/invocations?Qualifier=prod", body: []byte(`{"k":"v"}`), signContentLength: true},
		jsRequest("POST", "/2015-03-31/functions", "application/json", []byte(createBody)),
		{target: "/2015-03-31/functions?Marker=a%20b&MaxItems=5"},
		{method: "POST", target: "/2015-03-31/functions/f/invocations", body: []byte("x"), contentSHA: UnsignedPayload},
	} {
		r, body := c.server(f)
		method, auth, target, date, sha := r.Method, r.Header.Get("Authorization"), r.RequestURI,
			r.Header.Get("X-Amz-Date"), r.Header.Get("X-Amz-Content-Sha256")
		// The seeds must verify, so that the fuzzer starts from accepted requests.
		if _, err := v.Verify(fuzzRequest(method, auth, target, date, sha, body), body); err != nil {
			f.Fatalf("seed %s %s: %v", c.method, c.target, err)
		}
		f.Add(method, auth, target, date, sha, body)
	}
	f.Add("GET", "AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=;;;, Signature=", "*", "20260101T120000Z", "", []byte(nil))
	f.Add("GET", "AWS4-HMAC-SHA256 ,,,==,Credential=////", "http://h/%zz?%", "20261340T250000Z", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", []byte{0})

	f.Fuzz(func(t *testing.T, method, auth, target, amzDate, contentSHA string, body []byte) {
		r := fuzzRequest(method, auth, target, amzDate, contentSHA, body)
		principal, err := v.Verify(r, body)
		if err != nil {
			var e *awserr.Error
			if !errors.As(err, &e) || e.Status != http.StatusForbidden {
				t.Fatalf("refusal %v is not a 403 *awserr.Error", err)
			}
			switch e.Code {
			case awserr.MissingAuthToken, awserr.IncompleteSignature, awserr.UnrecognizedClient, awserr.InvalidSignature:
			default:
				t.Fatalf("refusal code %s", e.Code)
			}
			return
		}
		if principal != testAKID {
			t.Fatalf("accepted with principal %q", principal)
		}
		if contentSHA == UnsignedPayload {
			return
		}
		if _, err := v.Verify(r, append(body[:len(body):len(body)], 0)); err == nil {
			t.Fatalf("a changed body still verifies")
		}
	})
}

// fuzzRequest builds a server-side request; the fixed headers are those the
// seeds sign (jsRequest's).
func fuzzRequest(method, auth, target, amzDate, contentSHA string, body []byte) *http.Request {
	r := &http.Request{
		Method:     method,
		RequestURI: target,
		Host:       testHost,
		URL:        &url.URL{},
		Header: http.Header{
			"Authorization":         {auth},
			"X-Amz-Date":            {amzDate},
			"Content-Length":        {strconv.Itoa(len(body))},
			"Content-Type":          {"application/json"},
			"Amz-Sdk-Invocation-Id": {"6c7b3a2e-1b1f-4c1e-9a57-0e5d3c1f2a4b"},
			"Amz-Sdk-Request":       {"attempt=1; max=3"},
			"X-Amz-User-Agent":      {"aws-sdk-js/3.700.0"},
		},
	}
	if u, err := url.ParseRequestURI(target); err == nil {
		r.URL = u
	}
	if contentSHA != "" {
		r.Header.Set("X-Amz-Content-Sha256", contentSHA)
	}
	return r
}
