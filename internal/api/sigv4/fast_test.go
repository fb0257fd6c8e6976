package sigv4

import (
	"net/http"
	"net/url"
	"strings"
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
		{"session token", clientRequest{method: http.MethodPost, target: invoke, body: body, signContentLength: true, token: "tok"}, true},
		{"no body", clientRequest{method: http.MethodGet, target: "/2015-03-31/functions/echo"}, true},
		{"qualifier", clientRequest{method: http.MethodPost, target: invoke + "?Qualifier=prod", body: body, signContentLength: true}, true},
		{"sorted pairs", clientRequest{target: "/2015-03-31/functions?FunctionVersion=ALL&Marker=m-1.x_~&MaxItems=5"}, true},
		{"same name twice, values sorted", clientRequest{target: "/x?a=1&a=2&b="}, true},
		{"pairs out of order", clientRequest{target: "/2015-03-31/functions?MaxItems=5&Marker=m"}, false},
		{"values out of order", clientRequest{target: "/x?a=2&a=1"}, false},
		{"escaped value", clientRequest{target: "/2015-03-31/functions?Marker=a%20b"}, false},
		{"name without a value", clientRequest{target: "/x?Qualifier"}, false},
		{"trailing ampersand", clientRequest{target: "/x?a=1&"}, false},
		{"reserved character", clientRequest{target: "/x?a=b:c"}, false},
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

// TestCanonicalQuery: the raw queries the fast path takes as their own
// canonical form, and those it leaves to the signer.
func TestCanonicalQuery(t *testing.T) {
	for q, want := range map[string]bool{
		"": true, "Qualifier=prod": true, "Qualifier=": true, "a=1&b=2": true, "a=1&a=1": true, "A=1&a=1": true,
		"b=1&a=2": false, "a=2&a=1": false, "a": false, "=1": false, "a=1&": false, "&a=1": false, "a=1&&b=2": false,
		"a=b=c": false, "a=%41": false, "a=+": false, "a=b;c": false, "a=é": false,
	} {
		if got := canonicalQuery(q); got != want {
			t.Errorf("canonicalQuery(%q) = %v, want %v", q, got, want)
		}
	}
}

// FuzzFastQuery: for any query, the fast path says "match" only where the
// SDK's signer does, and a request signed by the SDK with a query the fast
// path takes as canonical is matched by it.
func FuzzFastQuery(f *testing.F) {
	for _, q := range []string{"Qualifier=prod", "a=1&a=2", "b=1&a=2", "Marker=a%20b", "a", "a=1&", "x=~._-"} {
		f.Add(q)
	}
	v := testVerifier()
	f.Fuzz(func(t *testing.T, q string) {
		if _, err := url.ParseQuery(q); err != nil || strings.IndexFunc(q, func(c rune) bool { return c <= ' ' || c >= 0x7f || c == '#' }) >= 0 {
			return // not a query a client sends as it is
		}
		c := clientRequest{method: http.MethodPost, target: "/2015-03-31/functions/echo/invocations?" + q, body: []byte(`{}`), signContentLength: true}
		r, got := c.server(t)
		p, err := v.Check(r)
		if err != nil {
			t.Fatal(err)
		}
		ph, _ := payloadHash(r.Header, got)
		fast := v.fastMatch(r, ph, p.auth, p.secret, p.token, p.signingTime)
		slow := v.sdkMatch(r, ph, p.auth, p.secret, p.token, p.signingTime)
		if fast && !slow {
			t.Fatalf("the fast path matched %q, the signer did not", q)
		}
		if canonicalQuery(q) && !fast {
			t.Fatalf("the fast path did not match %q, which it takes as canonical", q)
		}
	})
}

// BenchmarkVerify: one signed Invoke-shaped request verified (the fast
// path), allocations included; without and with a Qualifier.
func BenchmarkVerify(b *testing.B) {
	for _, target := range []string{"/2015-03-31/functions/echo/invocations", "/2015-03-31/functions/echo/invocations?Qualifier=prod"} {
		name := "plain"
		if strings.Contains(target, "?") {
			name = "qualifier"
		}
		b.Run(name, func(b *testing.B) {
			v := testVerifier()
			c := clientRequest{method: http.MethodPost, target: target, body: []byte(`{"op":"echo"}`), signContentLength: true,
				signed: map[string]string{"amz-sdk-invocation-id": "0e2d1b5e-1111-2222-3333-444455556666", "content-type": "application/json"}}
			r, body := c.server(b)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(r, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
