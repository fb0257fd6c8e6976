package sigv4

import (
	"net/http"
	"testing"
)

// TestFastPathAgreesWithSigner: the fast path (fast.go) takes the shapes
// the SDKs send for Invoke and reproduces the SDK signer's verdict; where
// it says "match" the signer does too, and a tampered request matches
// neither.
func TestFastPathAgreesWithSigner(t *testing.T) {
	body := []byte(`{"op":"echo"}`)
	const invoke = "/2015-03-31/functions/echo/invocations"
	cases := []struct {
		name string
		c    clientRequest
		fast bool // the fast path must decide it
	}{
		{"go sdk invoke", clientRequest{method: http.MethodPost, target: invoke, body: body, signContentLength: true,
			signed: map[string]string{"amz-sdk-invocation-id": "0e2d1b5e-1111-2222-3333-444455556666", "amz-sdk-request": "attempt=1; max=3", "content-type": "application/json"}}, true},
		{"js sdk invoke", clientRequest{method: http.MethodPost, target: invoke, body: body, signContentLength: true, contentSHA: "body",
			signed: map[string]string{"x-amz-user-agent": "aws-sdk-js/3.0.0", "content-type": "application/json"}}, true},
		{"session token", clientRequest{method: http.MethodPost, target: invoke, body: body, signContentLength: true, token: "tok"}, false},
		{"no body", clientRequest{method: http.MethodGet, target: "/2015-03-31/functions/echo"}, true},
		{"query", clientRequest{method: http.MethodPost, target: invoke + "?Qualifier=prod", body: body, signContentLength: true}, false},
		{"escaped path", clientRequest{method: http.MethodGet, target: "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Aecho"}, true},
		{"spaces in a value", clientRequest{method: http.MethodGet, target: "/x", signed: map[string]string{"x-note": "a  b   c"}}, false},
		{"unsigned extras", clientRequest{method: http.MethodPost, target: invoke, body: body, signContentLength: true,
			unsigned: map[string]string{"User-Agent": "x", "X-Amzn-Trace-Id": "Root=1-0-0"}}, true},
		{"padded value", clientRequest{method: http.MethodGet, target: "/x", signed: map[string]string{"x-a": " one "}}, true},
		{"reference signer", clientRequest{method: http.MethodPost, target: invoke, body: body, signContentLength: true, refSigner: true,
			signed: map[string]string{"content-type": "application/json"}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := testVerifier()
			r, got := tc.c.server(t)
			if tc.c.token != "" {
				v.Creds = tokenCreds{akid: testAKID, secret: testSecret, token: tc.c.token}
			}
			p, err := v.Check(r)
			if err != nil {
				t.Fatal(err)
			}
			ph, ok := payloadHash(r.Header, got)
			if !ok {
				t.Fatal("payload hash refused")
			}
			fast := v.fastMatch(r, ph, p.auth, p.secret, p.token, p.signingTime)
			slow := v.sdkMatch(r, ph, p.auth, p.secret, p.token, p.signingTime)
			if !slow {
				t.Fatal("the SDK's signer refuses a request it signed")
			}
			if tc.fast && !fast {
				t.Fatal("the fast path did not decide a shape it must take")
			}
			if _, err := v.Verify(r, got); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			// Tampered: a signed header's value changed after signing.
			r.Host = "127.0.0.1:9071"
			if v.fastMatch(r, ph, p.auth, p.secret, p.token, p.signingTime) || v.sdkMatch(r, ph, p.auth, p.secret, p.token, p.signingTime) {
				t.Fatal("a tampered request matched")
			}
		})
	}
}

// BenchmarkVerify: one signed Invoke-shaped request verified (the fast
// path), allocations included.
func BenchmarkVerify(b *testing.B) {
	v := testVerifier()
	c := clientRequest{method: http.MethodPost, target: "/2015-03-31/functions/echo/invocations", body: []byte(`{"op":"echo"}`), signContentLength: true,
		signed: map[string]string{"amz-sdk-invocation-id": "0e2d1b5e-1111-2222-3333-444455556666", "content-type": "application/json"}}
	r, body := c.server(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}
