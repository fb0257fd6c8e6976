package sigv4

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/lambada-dev/lambada/internal/awserr"
)

const (
	testAKID   = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testRegion = "us-east-1"
	testHost   = "127.0.0.1:9070"
)

// t0 is the server clock of the unit tests.
var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func testVerifier() *Verifier {
	return &Verifier{
		Region: testRegion,
		Creds:  StaticCredentials{testAKID: testSecret},
		Now:    func() time.Time { return t0 },
	}
}

// clientRequest describes a request as a client builds and signs it.
type clientRequest struct {
	method string
	// target is the request-target as the client sends it: raw path, "?", raw query.
	target string
	body   []byte
	// signed headers are set before signing; unsigned ones after.
	signed, unsigned map[string]string
	// signContentLength sets ContentLength before signing (Go and JS sign
	// content-length when > 0; botocore never does).
	signContentLength bool
	// contentSHA is sent as X-Amz-Content-Sha256 and signed when non-empty;
	// "body" means the hex SHA-256 of body (what JS v3 sends).
	contentSHA string

	akid, secret, token string
	region, service     string
	at                  time.Time
	// refSigner signs with signRef (docs/behaviour/api-common.md §7.2 written out) instead of the SDK's signer.
	refSigner bool
}

func (c clientRequest) withDefaults() clientRequest {
	if c.method == "" {
		c.method = http.MethodGet
	}
	if c.akid == "" {
		c.akid = testAKID
	}
	if c.secret == "" {
		c.secret = testSecret
	}
	if c.region == "" {
		c.region = testRegion
	}
	if c.service == "" {
		c.service = DefaultService
	}
	if c.at.IsZero() {
		c.at = t0
	}
	if c.contentSHA == "body" {
		c.contentSHA = sha256Hex(c.body)
	}
	return c
}

// sign returns the client's signed *http.Request, ready to be written.
func (c clientRequest) sign(t testing.TB) *http.Request {
	t.Helper()
	c = c.withDefaults()
	u, err := url.Parse("http://" + testHost + c.target)
	if err != nil {
		t.Fatalf("target %q: %v", c.target, err)
	}
	req, err := http.NewRequest(c.method, "http://"+testHost, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Keep the raw path byte for byte, as smithy-go does (Path + RawPath).
	rawPath, rawQuery, _ := strings.Cut(c.target, "?")
	req.URL.Path = u.Path
	req.URL.RawPath = rawPath
	req.URL.RawQuery = rawQuery
	if req.URL.EscapedPath() != rawPath {
		// Bytes Go would escape (a client that sends "|" raw): Opaque keeps
		// them on the wire and in the canonical URI.
		req.URL.Path, req.URL.RawPath, req.URL.Opaque = "", "", rawPath
	}
	for k, v := range c.signed {
		req.Header[k] = []string{v} // keys as given: lower-case ones escape the signer's ignore list
	}
	payload := sha256Hex(c.body)
	if c.contentSHA != "" {
		req.Header.Set("X-Amz-Content-Sha256", c.contentSHA)
		payload = c.contentSHA
	}
	if c.signContentLength {
		req.ContentLength = int64(len(c.body))
	}
	if c.refSigner {
		signRef(req, payload, c.akid, c.secret, c.token, c.region, c.service, c.at)
	} else {
		creds := aws.Credentials{AccessKeyID: c.akid, SecretAccessKey: c.secret, SessionToken: c.token}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payload, c.service, c.region, c.at); err != nil {
			t.Fatal(err)
		}
	}
	// Headers signed under a lower-case key go on the wire canonically.
	for k, vs := range req.Header {
		if ck := http.CanonicalHeaderKey(k); ck != k {
			delete(req.Header, k)
			req.Header[ck] = vs
		}
	}
	for k, v := range c.unsigned {
		req.Header.Set(k, v)
	}
	req.ContentLength = int64(len(c.body))
	req.Body = io.NopCloser(bytes.NewReader(c.body))
	if len(c.body) == 0 {
		req.Body = nil
	}
	return req
}

// server writes req on the wire and reads it back as net/http's server
// would, so that Host, RequestURI and headers are what a handler sees.
func (c clientRequest) server(t testing.TB) (*http.Request, []byte) {
	t.Helper()
	return onWire(t, c.sign(t))
}

func onWire(t testing.TB, req *http.Request) (*http.Request, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatal(err)
	}
	r, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatalf("reading back %q: %v", buf.String(), err)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return r, body
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// signRef is docs/behaviour/api-common.md §7.2 written out independently of aws-sdk-go-v2: an
// oracle for the tests, and the only way to produce what JS signs for an
// empty Uint8Array payload (content-length:0), which the SDK's signer never
// signs. It signs every header present on req plus host and x-amz-*.
func signRef(req *http.Request, payloadHash, akid, secret, token, region, service string, at time.Time) {
	amzDate := at.UTC().Format(TimeFormat)
	day := amzDate[:8]
	req.Header.Set("X-Amz-Date", amzDate)
	if token != "" {
		req.Header.Set("X-Amz-Security-Token", token)
	}
	headers := map[string][]string{"host": {req.Host}}
	if req.Host == "" {
		headers["host"] = []string{req.URL.Host}
	}
	if req.ContentLength > 0 && req.Header.Get("Content-Length") == "" {
		headers["content-length"] = []string{strconv.FormatInt(req.ContentLength, 10)}
	}
	for k, vs := range req.Header {
		headers[strings.ToLower(k)] = append(headers[strings.ToLower(k)], vs...)
	}
	names := make([]string, 0, len(headers))
	for k := range headers {
		names = append(names, k)
	}
	sort.Strings(names)
	var canonHeaders strings.Builder
	for _, n := range names {
		vals := make([]string, len(headers[n]))
		for i, v := range headers[n] {
			vals[i] = strings.Join(strings.Fields(v), " ")
		}
		canonHeaders.WriteString(n + ":" + strings.Join(vals, ",") + "\n")
	}
	signedHeaders := strings.Join(names, ";")

	q, _ := url.ParseQuery(req.URL.RawQuery)
	var pairs []string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, awsEscape(k, true)+"="+awsEscape(v, true))
		}
	}
	sort.Strings(pairs)

	canonical := strings.Join([]string{
		req.Method,
		awsEscape(cmp.Or(req.URL.Opaque, req.URL.EscapedPath()), false),
		strings.Join(pairs, "&"),
		canonHeaders.String(),
		signedHeaders,
		payloadHash,
	}, "\n")
	scope := day + "/" + region + "/" + service + "/aws4_request"
	stringToSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + sha256Hex([]byte(canonical))
	mac := func(key []byte, s string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(s))
		return h.Sum(nil)
	}
	k := mac(mac(mac(mac([]byte("AWS4"+secret), day), region), service), "aws4_request")
	sig := hex.EncodeToString(mac(k, stringToSign))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+akid+"/"+scope+
		", SignedHeaders="+signedHeaders+", Signature="+sig)
}

// awsEscape encodes every byte outside A-Z a-z 0-9 - _ . ~ (and "/" unless
// slash is set).
func awsEscape(s string, slash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !slash) {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}

// signedHeadersOf returns the SignedHeaders part of an Authorization header.
func signedHeadersOf(auth string) string {
	_, rest, _ := strings.Cut(auth, "SignedHeaders=")
	v, _, _ := strings.Cut(rest, ",")
	return v
}

// wantAWSError checks err is the AWS error code/message, status 403.
func wantAWSError(t testing.TB, err error, code, msg string) {
	t.Helper()
	var e *awserr.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *awserr.Error %s", err, err, code)
	}
	if e.Code != code || e.Message != msg || e.Status != http.StatusForbidden {
		t.Fatalf("error = %d %s %q\n want 403 %s %q", e.Status, e.Code, e.Message, code, msg)
	}
}
