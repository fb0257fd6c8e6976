// Package sigv4 verifies AWS Signature Version 4 requests signed in the
// Authorization header (docs/behaviour/api-common.md §7).
//
// It does not implement the signing algorithm itself: it rebuilds the request
// the client signed and signs it again with aws-sdk-go-v2's signer, using the
// secret the caller's access key maps to, then compares the two signatures in
// constant time. Every refusal is an *awserr.Error with the type and message
// of docs/behaviour/api-common.md §7.4, checked in the order given there.
package sigv4

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/lambada-dev/lambada/internal/awserr"
)

const (
	// Algorithm is the only signing algorithm accepted.
	Algorithm = "AWS4-HMAC-SHA256"
	// DefaultService is the signing name of the Lambda API.
	DefaultService = "lambda"
	// DefaultMaxSkew is how far X-Amz-Date may be from the server clock.
	DefaultMaxSkew = 5 * time.Minute

	// TimeFormat is the layout of X-Amz-Date and of times in error messages.
	TimeFormat = "20060102T150405Z"

	// UnsignedPayload is the X-Amz-Content-Sha256 value of a request whose
	// body is not covered by the signature.
	UnsignedPayload = "UNSIGNED-PAYLOAD"

	terminator = "aws4_request"
)

// Credentials looks up the secret of an access key. sessionToken is the
// X-Amz-Security-Token header ("" when absent); an implementation must refuse
// a token it did not issue. principal names the caller for the layers above.
type Credentials interface {
	Lookup(accessKeyID, sessionToken string) (secret, principal string, ok bool)
}

// StaticCredentials maps access key ids to secret access keys: the server's
// long-term key pair. They carry no session token; the principal is the
// access key id.
type StaticCredentials map[string]string

var _ Credentials = StaticCredentials(nil)

// Lookup implements Credentials.
func (s StaticCredentials) Lookup(accessKeyID, sessionToken string) (secret, principal string, ok bool) {
	if sessionToken != "" {
		return "", "", false // a token lambada did not issue
	}
	secret, ok = s[accessKeyID]
	if !ok {
		return "", "", false
	}
	return secret, accessKeyID, true
}

// Verifier checks SigV4 Authorization headers. Its fields are read-only once
// it is in use; it is safe for concurrent use.
type Verifier struct {
	// Region is lambada's region; the credential scope must name it. Required.
	Region string

	signers sync.Map // credential → *v4.Signer, see signerFor
	keysMu  sync.Mutex
	keys    map[keyID]*signingKey // the fast path's derived keys (fast.go)
	// Service is the signing name; "" means DefaultService.
	Service string
	// Creds resolves access keys. Required.
	Creds Credentials
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxSkew bounds |X-Amz-Date - now|; <= 0 means DefaultMaxSkew.
	MaxSkew time.Duration
}

// Messages of docs/behaviour/api-common.md §7.4 that do not depend on the request.
const (
	msgMissingToken   = "Missing Authentication Token"
	msgMissingDate    = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
	msgUnknownKey     = "The security token included in the request is invalid."
	msgRegion         = "Credential should be scoped to a valid region. "
	msgSignature      = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgRequiresFormat = "Authorization header requires '%s' parameter."
)

// Verify checks r, whose whole body is body, and returns the caller's
// principal. A refusal is an *awserr.Error (403, docs/behaviour/api-common.md §7.4); a Verifier
// without Region or Creds yields an internal error. It is Check followed
// by the Pending's Verify.
func (v *Verifier) Verify(r *http.Request, body []byte) (principal string, err error) {
	p, err := v.Check(r)
	if err != nil {
		return "", err
	}
	return p.Verify(r, body)
}

// Pending is a request whose Authorization header passed every check that
// needs no body: present, well-formed, a known key, the right scope and a
// date within the clock skew. Only the signature, which covers the body,
// is left.
type Pending struct {
	v           *Verifier
	auth        authorization
	secret      string
	principal   string
	token       string
	signingTime time.Time
}

// Principal names the caller the key belongs to; it is only proven once
// Verify succeeds.
func (p *Pending) Principal() string { return p.principal }

// Check runs steps 1 to 5 of docs/behaviour/api-common.md §7.4 (header present, parse, key known,
// scope, clock) on r's headers alone, so that a request refused by them is
// answered before its body is read.
func (v *Verifier) Check(r *http.Request) (*Pending, error) {
	if v.Region == "" || v.Creds == nil {
		return nil, awserr.Internal(errors.New("sigv4: Verifier needs Region and Creds"))
	}

	// 1. Header present. Presigned query-string auth is not used by SDKs for
	// Lambda and is deliberately not supported: it lands here too.
	header := r.Header.Get("Authorization")
	if header == "" {
		return nil, awserr.New(awserr.MissingAuthToken, msgMissingToken)
	}

	// 2. Parse.
	auth, aerr := parseAuthorization(header)
	if aerr != nil {
		return nil, aerr
	}
	amzDate := r.Header.Get("X-Amz-Date")
	signingTime, ok := parseAmzDate(amzDate)
	if !ok {
		return nil, awserr.New(awserr.IncompleteSignature, msgMissingDate)
	}

	// 3. Key known.
	token := r.Header.Get("X-Amz-Security-Token")
	secret, principal, ok := v.Creds.Lookup(auth.accessKeyID, token)
	if !ok {
		return nil, awserr.New(awserr.UnrecognizedClient, msgUnknownKey)
	}

	// 4. Scope.
	service := v.service()
	switch {
	case auth.region != v.Region:
		return nil, awserr.New(awserr.InvalidSignature, msgRegion)
	case auth.service != service:
		return nil, awserr.New(awserr.InvalidSignature,
			fmt.Sprintf("Credential should be scoped to correct service: '%s'. ", service))
	case auth.terminator != terminator:
		// Not in docs/behaviour/api-common.md §7.4; this is AWS's message for the case.
		return nil, awserr.New(awserr.InvalidSignature,
			fmt.Sprintf("Credential should be scoped with a valid terminator: '%s', not '%s'. ", terminator, auth.terminator))
	case auth.date != amzDate[:8]:
		return nil, awserr.New(awserr.InvalidSignature, fmt.Sprintf(
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			auth.date, amzDate[:8], amzDate))
	}

	// 5. Clock. Whole seconds, so that the message agrees with the decision.
	now := v.now().UTC().Truncate(time.Second)
	skew := v.maxSkew()
	if earliest := now.Add(-skew); signingTime.Before(earliest) {
		return nil, awserr.New(awserr.InvalidSignature, fmt.Sprintf(
			"Signature expired: %s is now earlier than %s (%s - %s.)",
			amzDate, earliest.Format(TimeFormat), now.Format(TimeFormat), skewText(skew)))
	}
	if latest := now.Add(skew); signingTime.After(latest) {
		return nil, awserr.New(awserr.InvalidSignature, fmt.Sprintf(
			"Signature not yet current: %s is still later than %s (%s + %s.)",
			amzDate, latest.Format(TimeFormat), now.Format(TimeFormat), skewText(skew)))
	}
	return &Pending{v: v, auth: auth, secret: secret, principal: principal, token: token, signingTime: signingTime}, nil
}

// Verify is step 6: the signature over r and its whole body. It returns the
// caller's principal.
func (p *Pending) Verify(r *http.Request, body []byte) (principal string, err error) {
	if !p.v.signatureMatches(r, body, p.auth, p.secret, p.token, p.signingTime) {
		return "", awserr.New(awserr.InvalidSignature, msgSignature)
	}
	return p.principal, nil
}

// signatureMatches rebuilds the request the client signed (docs/behaviour/api-common.md §7.3), signs
// it with the SDK's signer and compares the signatures in constant time.
func (v *Verifier) signatureMatches(r *http.Request, body []byte, auth authorization, secret, token string, signingTime time.Time) bool {
	payloadHash, ok := payloadHash(r.Header, body)
	if !ok {
		return false
	}
	if v.fastMatch(r, payloadHash, auth, secret, token, signingTime) {
		return true
	}
	return v.sdkMatch(r, payloadHash, auth, secret, token, signingTime)
}

// sdkMatch rebuilds the request the client signed and has the SDK's
// signer sign it (docs/behaviour/api-common.md §7.3).
func (v *Verifier) sdkMatch(r *http.Request, payloadHash string, auth authorization, secret, token string, signingTime time.Time) bool {

	rawPath, rawQuery := requestTarget(r)
	// The signer builds the canonical query from URL.Query(), which silently
	// drops pairs it cannot parse; refuse those rather than let unsigned
	// bytes through.
	if _, err := url.ParseQuery(rawQuery); err != nil {
		return false
	}
	req := &http.Request{
		Method: r.Method,
		// Opaque "//host/path" makes the signer take the path byte for byte
		// (aws/signer/internal/v4.GetURIPath) and percent-encode it once more,
		// which is the canonical URI of every service but S3. Path+RawPath
		// would do the same for every path an SDK sends, but Go falls back to
		// re-encoding the decoded path when RawPath holds bytes it would
		// escape; Opaque never re-encodes. The host part is a placeholder:
		// the signer reads the host from req.Host.
		URL:    &url.URL{Opaque: "//lambada" + rawPath, RawQuery: rawQuery},
		Host:   r.Host,
		Header: make(http.Header, len(auth.signedHeaders)),
	}

	received := lowerHeaders(r.Header)
	for _, name := range auth.signedHeaders {
		switch name {
		case "host", "x-amz-date", "x-amz-security-token":
			continue // the signer sets these from req.Host, the time and the token
		case "content-length":
			// The signer signs content-length from req.ContentLength, and
			// only when it is > 0: a signed "content-length:0" cannot be
			// reproduced and fails below.
			vals := received[name]
			if len(vals) != 1 {
				return false
			}
			n, err := strconv.ParseInt(vals[0], 10, 64)
			if err != nil || n < 0 || strconv.FormatInt(n, 10) != vals[0] {
				return false
			}
			req.ContentLength = n
			continue
		}
		vals, ok := received[name]
		if !ok {
			return false // signed but absent
		}
		// Lower-case keys on purpose: the signer's ignore list (User-Agent,
		// Expect, X-Amzn-Trace-Id, ...) matches canonical keys only, so the
		// headers the client chose to sign are all signed again.
		req.Header[name] = vals
	}

	creds := aws.Credentials{AccessKeyID: auth.accessKeyID, SecretAccessKey: secret, SessionToken: token}
	err := v.signerFor(creds).SignHTTP(r.Context(), creds, req, payloadHash, v.service(), v.Region, signingTime)
	if err != nil {
		return false
	}
	_, want, found := strings.Cut(req.Header.Get("Authorization"), "Signature=")
	if !found {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(auth.signature)) == 1
}

// payloadHash returns the HashedPayload of the canonical request: the
// X-Amz-Content-Sha256 header when present (checked against the body unless
// it is UNSIGNED-PAYLOAD), else the hex SHA-256 of the body.
func payloadHash(h http.Header, body []byte) (string, bool) {
	sum := sha256.Sum256(body)
	claimed := h.Get("X-Amz-Content-Sha256")
	switch {
	case claimed == "":
		return hex.EncodeToString(sum[:]), true
	case claimed == UnsignedPayload:
		return claimed, true
	case len(claimed) == sha256.Size*2:
		b, err := hex.DecodeString(claimed)
		if err != nil || !bytes.Equal(b, sum[:]) {
			return "", false
		}
		return claimed, true
	default:
		// STREAMING-* (aws-chunked bodies) and anything else: not supported.
		return "", false
	}
}

// requestTarget returns the path and query exactly as the client sent them.
// The raw request-target (RequestURI) is preferred: it keeps the client's
// percent-encoding and hex case, which are part of what was signed.
func requestTarget(r *http.Request) (path, query string) {
	if uri := r.RequestURI; strings.HasPrefix(uri, "/") {
		path, query, _ = strings.Cut(uri, "?")
		return path, query
	}
	// Absolute-form targets and requests built in-process.
	return r.URL.EscapedPath(), r.URL.RawQuery
}

// lowerHeaders indexes h by lower-case name, merging keys that differ only in
// case in the order http.Header holds them.
func lowerHeaders(h http.Header) map[string][]string {
	m := make(map[string][]string, len(h))
	for k, vs := range h {
		lk := strings.ToLower(k)
		m[lk] = append(m[lk], vs...)
	}
	return m
}

// parseAmzDate accepts exactly the yyyymmddThhmmssZ form.
func parseAmzDate(s string) (time.Time, bool) {
	if len(s) != len(TimeFormat) {
		return time.Time{}, false
	}
	// By hand: time.Parse and the Format that checks it are a tenth of
	// a warm invoke's verification. The same strings are accepted: digits
	// in place, 'T' and 'Z', and a date and time that exist as written.
	if s[8] != 'T' || s[15] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, j int) int {
		n := 0
		for ; i < j; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	y, mo, d, h, mi, sec := num(0, 4), num(4, 6), num(6, 8), num(9, 11), num(11, 13), num(13, 15)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	if t.Day() != d { // 31 April, 29 February of a common year
		return time.Time{}, false
	}
	return t, true
}

// signerFor returns the signer kept for exactly this key id, secret and
// token. A signer caches one derived key per region/service, checked against
// the access key id and day but not the secret, so one signer per
// credential (not per key id) never signs with a stale key after a secret
// changes, while warm requests skip the four-HMAC key derivation.
func (v *Verifier) signerFor(c aws.Credentials) *v4.Signer {
	k := c.AccessKeyID + "\x00" + c.SecretAccessKey + "\x00" + c.SessionToken
	if s, ok := v.signers.Load(k); ok {
		return s.(*v4.Signer)
	}
	s, _ := v.signers.LoadOrStore(k, v4.NewSigner())
	return s.(*v4.Signer)
}

func (v *Verifier) service() string {
	if v.Service == "" {
		return DefaultService
	}
	return v.Service
}

func (v *Verifier) now() time.Time {
	if v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew <= 0 {
		return DefaultMaxSkew
	}
	return v.MaxSkew
}

// skewText writes the skew as AWS does ("5 min").
func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + " min"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + " sec"
}
