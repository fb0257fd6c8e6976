package sigv4

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/lambada-dev/lambada/internal/awserr"
)

const createBody = `{"FunctionName":"f","Role":"arn:aws:iam::000000000000:role/r","Code":{"ZipFile":"UEsFBg=="}}`

// jsRequest builds a request the way @aws-sdk/client-lambda (v3) does:
// X-Amz-Content-Sha256 always, amz-sdk-* and x-amz-user-agent signed,
// content-length signed when a body is set, user-agent not signed.
func jsRequest(method, target, contentType string, body []byte) clientRequest {
	signed := map[string]string{
		"Amz-Sdk-Invocation-Id": "6c7b3a2e-1b1f-4c1e-9a57-0e5d3c1f2a4b",
		"Amz-Sdk-Request":       "attempt=1; max=3",
		"X-Amz-User-Agent":      "aws-sdk-js/3.700.0",
	}
	if contentType != "" {
		signed["Content-Type"] = contentType
	}
	return clientRequest{
		method: method, target: target, body: body,
		signed:            signed,
		unsigned:          map[string]string{"User-Agent": "aws-sdk-js/3.700.0 ua/2.1 os/linux#6.8 lang/js md/nodejs#22.11.0 api/lambda#3.700.0"},
		signContentLength: len(body) > 0,
		contentSHA:        "body",
	}
}

// botocoreRequest builds a request the way botocore / the AWS CLI does:
// only host, x-amz-date, x-amz-* and content-type (when sent) are signed;
// amz-sdk-*, user-agent and content-length are added after signing.
func botocoreRequest(method, target, contentType string, body []byte, amz map[string]string) clientRequest {
	signed := map[string]string{}
	if contentType != "" {
		signed["Content-Type"] = contentType
	}
	for k, v := range amz {
		signed[k] = v
	}
	return clientRequest{
		method: method, target: target, body: body,
		signed: signed,
		unsigned: map[string]string{
			"User-Agent":            "aws-cli/2.22.0 md/awscrt#0.23.4 ua/2.0 os/linux#6.8 md/arch#x86_64 lang/python#3.12.6",
			"Amz-Sdk-Invocation-Id": "0b4f1a6a-3c2d-4e5f-8a9b-1c2d3e4f5a6b",
			"Amz-Sdk-Request":       "attempt=1",
		},
	}
}

func TestOtherClients(t *testing.T) {
	tests := []struct {
		name              string
		req               clientRequest
		wantSignedHeaders string
	}{
		{"js GetFunction", jsRequest("GET", "/2015-03-31/functions/my-fn%3Aprod", "", nil),
			"amz-sdk-invocation-id;amz-sdk-request;host;x-amz-content-sha256;x-amz-date;x-amz-user-agent"},
		{"js GetFunction ARN", jsRequest("GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af%3A%24LATEST", "", nil), ""},
		{"js ListFunctions", jsRequest("GET", "/2015-03-31/functions?Marker=a%20b%2Fc&MaxItems=5", "", nil), ""},
		{"js CreateFunction", jsRequest("POST", "/2015-03-31/functions", "application/json", []byte(createBody)),
			"amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-user-agent"},
		{"js Invoke", jsRequest("POST", "/2015-03-31/functions/f/invocations?Qualifier=%24LATEST", "application/octet-stream", []byte(`{"a":1}`)), ""},
		{"js Invoke no payload", jsRequest("POST", "/2015-03-31/functions/f/invocations", "", nil), ""},

		{"botocore GetFunction", botocoreRequest("GET", "/2015-03-31/functions/my-fn%3Aprod", "", nil, nil),
			"host;x-amz-date"},
		{"botocore old trailing slash", botocoreRequest("GET", "/2015-03-31/functions/", "", nil, nil), "host;x-amz-date"},
		{"botocore CreateFunction", botocoreRequest("POST", "/2015-03-31/functions", "application/json", []byte(createBody), nil),
			"content-type;host;x-amz-date"},
		{"botocore PublishVersion {}", botocoreRequest("POST", "/2015-03-31/functions/f/versions", "application/json", []byte(`{}`), nil), ""},
		{"botocore Invoke", botocoreRequest("POST", "/2015-03-31/functions/f%3A1/invocations", "", []byte(`{"a":1}`),
			map[string]string{"X-Amz-Log-Type": "Tail", "X-Amz-Invocation-Type": "RequestResponse"}),
			"host;x-amz-date;x-amz-invocation-type;x-amz-log-type"},
	}
	for _, tt := range tests {
		for _, ref := range []bool{false, true} {
			name := tt.name + "/sdk signer"
			if ref {
				name = tt.name + "/reference signer"
			}
			t.Run(name, func(t *testing.T) {
				c := tt.req
				c.refSigner = ref
				r, body := c.server(t)
				if tt.wantSignedHeaders != "" {
					if got := signedHeadersOf(r.Header.Get("Authorization")); got != tt.wantSignedHeaders {
						t.Fatalf("test builds the wrong request: SignedHeaders=%s, want %s", got, tt.wantSignedHeaders)
					}
				}
				principal, err := testVerifier().Verify(r, body)
				if err != nil || principal != testAKID {
					t.Fatalf("Verify = %q, %v", principal, err)
				}
			})
		}
	}
}

func TestAccepted(t *testing.T) {
	tests := []struct {
		name string
		req  clientRequest
		edit func(r *http.Request) // after the wire, before Verify
	}{
		{"unsigned payload", clientRequest{method: "POST", target: "/2015-03-31/functions/f/invocations",
			body: []byte("x"), contentSHA: UnsignedPayload}, nil},
		{"upper-case hex content hash", clientRequest{method: "POST", target: "/2015-03-31/functions/f/invocations",
			body: []byte("x"), contentSHA: strings.ToUpper(sha256Hex([]byte("x")))}, nil},
		{"lower-case hex in path keeps its case", clientRequest{target: "/2015-03-31/functions/my-fn%3aprod"}, nil},
		{"+ for a space in the query", clientRequest{target: "/2015-03-31/functions?Marker=a%20b"}, func(r *http.Request) {
			r.RequestURI = "/2015-03-31/functions?Marker=a+b"
			r.URL.RawQuery = "Marker=a+b"
		}},
		{"session token", clientRequest{target: "/2015-03-31/functions", token: "tok"}, nil},
		{"clock at -5 min", clientRequest{target: "/", at: t0.Add(-5 * time.Minute)}, nil},
		{"clock at +5 min", clientRequest{target: "/", at: t0.Add(5 * time.Minute)}, nil},
		{"unsigned headers change freely", clientRequest{target: "/", unsigned: map[string]string{"X-Amzn-Trace-Id": "Root=1-2-3"}},
			func(r *http.Request) { r.Header.Set("User-Agent", "other"); r.Header.Set("X-Amzn-Trace-Id", "Root=9") }},
		{"repeated and spaced header values", clientRequest{target: "/", signed: map[string]string{"X-Amz-Meta": "  a   b  "}},
			func(r *http.Request) { r.Header["X-Amz-Meta"] = []string{"a b"} }},
		// A client that signs headers aws-sdk-go-v2 never signs (AWS SDK for
		// Java v1 signs user-agent): the lower-case keys get them signed again.
		{"signed user-agent and x-amzn-trace-id", clientRequest{target: "/", signed: map[string]string{
			"user-agent": "aws-sdk-java/1.12.700", "x-amzn-trace-id": "Root=1-abc"}, refSigner: true}, nil},
		// Canonical URI = the raw path encoded once more, byte for byte, even
		// for bytes Go itself would have escaped.
		{"raw bytes Go would escape", clientRequest{target: "/2015-03-31/functions/a|b^c/configuration", refSigner: true}, nil},
		{"absolute-form request-target", clientRequest{target: "/2015-03-31/functions/my-fn%3Aprod?Qualifier=1"},
			func(r *http.Request) { r.RequestURI = "http://" + testHost + r.RequestURI }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := testVerifier()
			if tt.req.token != "" {
				v.Creds = tokenCreds{akid: testAKID, secret: testSecret, token: tt.req.token}
			}
			r, body := tt.req.server(t)
			if tt.edit != nil {
				tt.edit(r)
			}
			if _, err := v.Verify(r, body); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

// TestRefused covers every row of docs/behaviour/api-common.md §7.4 plus the cases AWS answers that
// the docs leaves out, in the docs's check order.
func TestRefused(t *testing.T) {
	const (
		missingCred   = "Authorization header requires 'Credential' parameter."
		missingSig    = "Authorization header requires 'Signature' parameter."
		missingSigned = "Authorization header requires 'SignedHeaders' parameter."
	)
	base := clientRequest{method: "POST", target: "/2015-03-31/functions/my-fn%3Aprod/invocations?Qualifier=prod",
		body: []byte(`{"k":"v"}`), signContentLength: true,
		signed: map[string]string{"Content-Type": "application/octet-stream", "X-Amz-Log-Type": "Tail"}}
	with := func(f func(*clientRequest)) clientRequest { c := base; f(&c); return c }
	js := jsRequest("POST", "/2015-03-31/functions", "application/json", []byte(createBody))
	setAuth := func(v string) func(*http.Request) { return func(r *http.Request) { r.Header.Set("Authorization", v) } }
	replaceAuth := func(old, new string) func(*http.Request) {
		return func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
		}
	}

	tests := []struct {
		name      string
		req       clientRequest
		edit      func(r *http.Request)
		code, msg string
	}{
		// Header present.
		{"no Authorization", base, func(r *http.Request) { r.Header.Del("Authorization") },
			awserr.MissingAuthToken, msgMissingToken},
		{"empty Authorization", base, setAuth(""), awserr.MissingAuthToken, msgMissingToken},
		// Parse.
		{"other scheme", base, setAuth("Basic dXNlcjpwYXNz"), awserr.IncompleteSignature,
			missingCred + " " + missingSig + " " + missingSigned},
		{"algorithm only", base, setAuth("AWS4-HMAC-SHA256"), awserr.IncompleteSignature,
			missingCred + " " + missingSig + " " + missingSigned},
		{"lower-case algorithm", base, func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), Algorithm, "aws4-hmac-sha256", 1))
		}, awserr.IncompleteSignature, missingCred + " " + missingSig + " " + missingSigned},
		{"no Signature", base, func(r *http.Request) {
			a, _, _ := strings.Cut(r.Header.Get("Authorization"), ", Signature=")
			r.Header.Set("Authorization", a)
		}, awserr.IncompleteSignature, missingSig},
		{"no Credential nor SignedHeaders", base, setAuth("AWS4-HMAC-SHA256 Signature=abc"),
			awserr.IncompleteSignature, missingCred + " " + missingSigned},
		{"empty SignedHeaders", base, replaceAuth("SignedHeaders=", "SignedHeaders=, X="),
			awserr.IncompleteSignature, missingSigned},
		{"short Credential", base, setAuth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/lambda, SignedHeaders=host, Signature=00"),
			awserr.IncompleteSignature, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIDEXAMPLE/20260101/us-east-1/lambda'"},
		{"no X-Amz-Date", base, func(r *http.Request) { r.Header.Del("X-Amz-Date") },
			awserr.IncompleteSignature, msgMissingDate},
		{"X-Amz-Date not ISO basic", base, func(r *http.Request) { r.Header.Set("X-Amz-Date", "2026-01-01T12:00:00Z") },
			awserr.IncompleteSignature, msgMissingDate},
		{"X-Amz-Date with Date only", base, func(r *http.Request) {
			r.Header.Del("X-Amz-Date")
			r.Header.Set("Date", "Thu, 01 Jan 2026 12:00:00 GMT")
		}, awserr.IncompleteSignature, msgMissingDate},
		// Key known.
		{"unknown key", with(func(c *clientRequest) { c.akid = "AKIDUNKNOWN" }), nil,
			awserr.UnrecognizedClient, msgUnknownKey},
		{"token not issued by lambada", with(func(c *clientRequest) { c.token = "forged" }), nil,
			awserr.UnrecognizedClient, msgUnknownKey},
		{"unknown key before wrong region", with(func(c *clientRequest) { c.akid = "AKIDUNKNOWN"; c.region = "eu-west-1" }), nil,
			awserr.UnrecognizedClient, msgUnknownKey},
		// Scope.
		{"wrong region", with(func(c *clientRequest) { c.region = "eu-west-1" }), nil,
			awserr.InvalidSignature, msgRegion},
		{"wrong region before expired", with(func(c *clientRequest) { c.region = "eu-west-1"; c.at = t0.Add(-time.Hour) }), nil,
			awserr.InvalidSignature, msgRegion},
		{"wrong service", with(func(c *clientRequest) { c.service = "s3" }), nil,
			awserr.InvalidSignature, "Credential should be scoped to correct service: 'lambda'. "},
		{"wrong terminator", base, replaceAuth("/aws4_request", "/aws5_request"),
			awserr.InvalidSignature, "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "},
		{"scope date is not X-Amz-Date's", base, replaceAuth("/20260101/", "/20251231/"), awserr.InvalidSignature,
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20251231' != '20260101', from '20260101T120000Z'."},
		// Clock.
		{"expired", with(func(c *clientRequest) { c.at = t0.Add(-5*time.Minute - time.Second) }), nil, awserr.InvalidSignature,
			"Signature expired: 20260101T115459Z is now earlier than 20260101T115500Z (20260101T120000Z - 5 min.)"},
		{"not yet current", with(func(c *clientRequest) { c.at = t0.Add(5*time.Minute + time.Second) }), nil, awserr.InvalidSignature,
			"Signature not yet current: 20260101T120501Z is still later than 20260101T120500Z (20260101T120000Z + 5 min.)"},
		// Signature.
		{"wrong secret", with(func(c *clientRequest) { c.secret = "not-the-secret" }), nil, awserr.InvalidSignature, msgSignature},
		{"tampered body", base, tamperBody, awserr.InvalidSignature, msgSignature},
		{"tampered body, js", js, tamperBody, awserr.InvalidSignature, msgSignature},
		{"X-Amz-Content-Sha256 not the body's", with(func(c *clientRequest) { c.contentSHA = sha256Hex([]byte("other")) }), nil,
			awserr.InvalidSignature, msgSignature},
		{"X-Amz-Content-Sha256 not hex", with(func(c *clientRequest) { c.contentSHA = strings.Repeat("z", 64) }), nil,
			awserr.InvalidSignature, msgSignature},
		{"X-Amz-Content-Sha256 streaming", with(func(c *clientRequest) { c.contentSHA = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" }), nil,
			awserr.InvalidSignature, msgSignature},
		{"signed header absent", base, func(r *http.Request) { r.Header.Del("X-Amz-Log-Type") }, awserr.InvalidSignature, msgSignature},
		{"signed content-length absent", base, func(r *http.Request) { r.Header.Del("Content-Length") }, awserr.InvalidSignature, msgSignature},
		{"signed header changed", base, func(r *http.Request) { r.Header.Set("X-Amz-Log-Type", "None") }, awserr.InvalidSignature, msgSignature},
		{"header unsigned but listed", base, replaceAuth("SignedHeaders=", "SignedHeaders=accept;"), awserr.InvalidSignature, msgSignature},
		{"header dropped from list", base, replaceAuth(";x-amz-log-type", ""), awserr.InvalidSignature, msgSignature},
		{"path changed", base, func(r *http.Request) { r.RequestURI = strings.Replace(r.RequestURI, "prod", "dev", 1) },
			awserr.InvalidSignature, msgSignature},
		{"path decoded by a proxy", base, func(r *http.Request) { r.RequestURI = strings.Replace(r.RequestURI, "%3A", ":", 1) },
			awserr.InvalidSignature, msgSignature},
		{"query changed", base, func(r *http.Request) {
			r.RequestURI = strings.Replace(r.RequestURI, "Qualifier=prod", "Qualifier=dev", 1)
		},
			awserr.InvalidSignature, msgSignature},
		{"query pair added", base, func(r *http.Request) { r.RequestURI += "&Qualifier=dev" }, awserr.InvalidSignature, msgSignature},
		{"unparseable query pair added", base, func(r *http.Request) { r.RequestURI += "&a;b=c" }, awserr.InvalidSignature, msgSignature},
		{"method changed", base, func(r *http.Request) { r.Method = http.MethodPut }, awserr.InvalidSignature, msgSignature},
		{"host changed", base, func(r *http.Request) { r.Host = "127.0.0.1:9071" }, awserr.InvalidSignature, msgSignature},
		{"signature upper-case", base, func(r *http.Request) {
			a, sig, _ := strings.Cut(r.Header.Get("Authorization"), "Signature=")
			r.Header.Set("Authorization", a+"Signature="+strings.ToUpper(sig))
		}, awserr.InvalidSignature, msgSignature},
		// Known limitation: JS v3 signs "content-length:0" for an empty
		// Uint8Array payload; aws-sdk-go-v2's signer only signs
		// content-length > 0, so such a request cannot be verified.
		{"signed content-length 0 (limitation)", clientRequest{method: "POST", target: "/2015-03-31/functions/f/invocations",
			contentSHA: "body", signed: map[string]string{"Content-Length": "0"}, refSigner: true}, nil,
			awserr.InvalidSignature, msgSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, body := tt.req.server(t)
			if tt.edit != nil {
				tt.edit(r)
			}
			if tt.edit != nil && r.Header.Get(tamperHeader) != "" {
				r.Header.Del(tamperHeader)
				body = append(body[:len(body)-1:len(body)-1], '!')
			}
			principal, err := testVerifier().Verify(r, body)
			if principal != "" {
				t.Errorf("principal %q on refusal", principal)
			}
			wantAWSError(t, err, tt.code, tt.msg)
		})
	}
}

// tamperBody marks the request so that TestRefused changes the body's last
// byte (same length, so Content-Length still matches).
func tamperBody(r *http.Request) { r.Header.Set(tamperHeader, "1") }

const tamperHeader = "X-Test-Tamper-Body"

// TestPresignedIsMissingToken: query-string auth is treated as no auth.
func TestPresignedIsMissingToken(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+testHost+"/2015-03-31/functions/f", nil)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret},
		req, sha256Hex(nil), DefaultService, testRegion, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u, "X-Amz-Signature=") {
		t.Fatalf("not presigned: %s", u)
	}
	preq, _ := http.NewRequest(http.MethodGet, u, nil)
	r, body := onWire(t, preq)
	_, verr := testVerifier().Verify(r, body)
	wantAWSError(t, verr, awserr.MissingAuthToken, msgMissingToken)
}

func TestMisconfigured(t *testing.T) {
	r, body := clientRequest{target: "/"}.server(t)
	for _, v := range []*Verifier{{Creds: StaticCredentials{}}, {Region: testRegion}} {
		_, err := v.Verify(r, body)
		if !awserr.Is(err, awserr.ServiceException) {
			t.Errorf("%+v: %v, want ServiceException", v, err)
		}
	}
}

func TestVerifierOptions(t *testing.T) {
	v := testVerifier()
	v.MaxSkew = 90 * time.Second
	r, body := clientRequest{target: "/", at: t0.Add(-91 * time.Second)}.server(t)
	_, err := v.Verify(r, body)
	wantAWSError(t, err, awserr.InvalidSignature,
		"Signature expired: 20260101T115829Z is now earlier than 20260101T115830Z (20260101T120000Z - 90 sec.)")

	v = testVerifier()
	v.Service = "execute-api"
	r, body = clientRequest{target: "/", service: "execute-api"}.server(t)
	if _, err := v.Verify(r, body); err != nil {
		t.Fatal(err)
	}
}

func TestStaticCredentials(t *testing.T) {
	s := StaticCredentials{"k": "s"}
	if secret, principal, ok := s.Lookup("k", ""); !ok || secret != "s" || principal != "k" {
		t.Errorf("Lookup(k) = %q %q %v", secret, principal, ok)
	}
	if _, _, ok := s.Lookup("k", "token"); ok {
		t.Error("static key accepted a session token")
	}
	if _, _, ok := s.Lookup("x", ""); ok {
		t.Error("unknown key accepted")
	}
}

// TestParseAmzDate: the hand-written parser accepts exactly what
// time.Parse accepts and formats back to the same text, with the same time.
func TestParseAmzDate(t *testing.T) {
	ref := func(s string) (time.Time, bool) {
		if len(s) != len(TimeFormat) {
			return time.Time{}, false
		}
		tm, err := time.Parse(TimeFormat, s)
		if err != nil || tm.Format(TimeFormat) != s {
			return time.Time{}, false
		}
		return tm, true
	}
	cases := []string{"20261207T023000Z", "20240229T235959Z", "20230229T000000Z", "20260431T000000Z", "20261231T240000Z",
		"20261231T236000Z", "20261231T235960Z", "20261301T000000Z", "20260001T000000Z", "20260100T000000Z", "00000101T000000Z",
		"2026120TT023000Z", "20261207X023000Z", "20261207T023000z", "20261207T02300aZ", "+0261207T023000Z", "2026-12-07T02:30",
		"", "20261207T023000", "20261207T023000ZZ", "99991231T235959Z"}
	for i := 0; i < 2000; i++ { // every day of some years, at varied times
		d := time.Date(2023, 1, 1, i%24, i%60, (i*7)%60, 0, time.UTC).AddDate(0, 0, i)
		cases = append(cases, d.Format(TimeFormat))
	}
	for _, s := range cases {
		got, ok := parseAmzDate(s)
		want, wok := ref(s)
		if ok != wok || !got.Equal(want) || got.Location() != want.Location() {
			t.Errorf("parseAmzDate(%q) = %v, %v; time.Parse gives %v, %v", s, got, ok, want, wok)
		}
	}
}
