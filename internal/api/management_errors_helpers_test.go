package api_test

// Every bad input of docs/behaviour/management.md and docs/behaviour/api-common.md for the
// function-management operations, sent with the real aws-sdk-go-v2 Lambda
// client — or, where the SDK refuses to send the input (a missing required
// member, bytes that are not JSON, a non-integer MaxItems, a body of 70 MB),
// as a raw request signed with the SDK's own SigV4 signer. Each case checks
// the error code, the HTTP status and (where the spec gives it) the exact
// message, and that the server's state is the same afterwards.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
)

// Texts copied from the spec, not imported from the server: the test checks
// the server against the reference, not against itself.
const (
	arnPrefix = "arn:aws:lambda:us-east-1:000000000000:function:"

	patFunctionName = `(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`
	patNamespaced   = `(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?`
	patQualifier    = `\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+`
	patAlias        = `(?!^[0-9]+$)([a-zA-Z0-9-_]+)`
	patVersion      = `\$LATEST|[0-9]+`
	patRole         = `arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`
	patEnvKey       = `[a-zA-Z]([a-zA-Z0-9_])+`

	msgRevision    = "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
	msgNotZip      = "Could not unzip uploaded file. Please check your file, then try to upload again."
	msgZipped      = "Zipped size must be smaller than 52428800 bytes"
	msgHandler     = "Runtime and Handler are mandatory parameters for functions created with deployment packages."
	msgMismatch    = "The derived qualifier from the function name does not match the specified qualifier."
	msgConcQual    = "This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN."
	msgConcMin     = "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100]."
	msgReserved    = "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: "
	msgEnvTooBig   = "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: "
	msgDelLatest   = "$LATEST version cannot be deleted without deleting the function."
	msgDelAlias    = "Deletion of aliases is not currently supported."
	msgMapValue    = "Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]"
	msgMapKeys     = "Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]"
	msgArchEnum    = "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]"
	msgUnknownOp   = "Unknown operation"
	msgBadSig      = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgUnknownKey  = "The security token included in the request is invalid."
	msgMissingAuth = "Missing Authentication Token"
	maxCodeBody    = 70_167_211
)

const (
	errValidation = "ValidationException"
	errInvalid    = "InvalidParameterValueException"
	errContent    = "InvalidRequestContentException"
	errNotFound   = "ResourceNotFoundException"
	errConflict   = "ResourceConflictException"
	errPrecond    = "PreconditionFailedException"
	errTooLarge   = "RequestEntityTooLargeException"
	errDenied     = "AccessDeniedException"
)

// viol is one violation of a ValidationException text (docs/behaviour/api-common.md §5.3);
// value carries its quotes ('x') or is null.
func viol(value, path, rule string) string {
	return "Value " + value + " at '" + path + "' failed to satisfy constraint: " + rule
}

// one is the whole text of a single-violation ValidationException.
func one(value, path, rule string) string {
	return "1 validation error detected: " + viol(value, path, rule)
}

func q(s string) string { return "'" + s + "'" }

func pattern(p string) string { return "Member must satisfy regular expression pattern: " + p }

// want is the error a case expects.
type want struct {
	code   string
	status int
	// msg is the exact message unless free is set; then only prefix and
	// suffix are checked (the spec leaves the text open), or match.
	msg            string
	free           bool
	prefix, suffix string
	match          func(t *testing.T, msg string)
}

func validation(msg string) want { return want{code: errValidation, status: 400, msg: msg} }
func invalid(msg string) want    { return want{code: errInvalid, status: 400, msg: msg} }
func invalidAny() want           { return want{code: errInvalid, status: 400, free: true} }
func notSupported() want {
	return want{code: errInvalid, status: 400, free: true, suffix: " is not supported by this server."}
}
func notFound(msg string) want { return want{code: errNotFound, status: 404, msg: msg} }
func conflict(msg string) want { return want{code: errConflict, status: 409, msg: msg} }
func precondition() want       { return want{code: errPrecond, status: 412, msg: msgRevision} }
func badContent() want {
	return want{code: errContent, status: 400, free: true, prefix: "Could not parse request body into json: "}
}
func tooLarge(msg string) want { return want{code: errTooLarge, status: 413, msg: msg} }

// denied is AccessDeniedException as the SDK reports it: lambada sends {}
// (docs/behaviour/api-common.md §5.4) and aws-sdk-go-v2 fills in "UnknownError" as the
// message of an unmodeled error without one. The raw body is checked in
// TestErrorWireShape.
func denied() want { return want{code: errDenied, status: 403, msg: "UnknownError"} }
func fnNotFound(nameAndQualifier string) want {
	return notFound("Function not found: " + arnPrefix + nameAndQualifier)
}

func (w want) verify(t *testing.T, code, msg string, status int) {
	t.Helper()
	if code != w.code || status != w.status {
		t.Errorf("got %s (HTTP %d) %q, want %s (HTTP %d)", code, status, msg, w.code, w.status)
		return
	}
	switch {
	case w.match != nil:
		w.match(t, msg)
	case w.free:
		if !strings.HasPrefix(msg, w.prefix) || !strings.HasSuffix(msg, w.suffix) || (msg == "" && w.code != errDenied) {
			t.Errorf("message %q, want %q…%q", msg, w.prefix, w.suffix)
		}
	default:
		if msg != w.msg {
			t.Errorf("message\n got: %s\nwant: %s", msg, w.msg)
		}
	}
}

// sdk checks an error returned by the SDK.
func (w want) sdk(t *testing.T, err error) {
	t.Helper()
	if w.code == "" { // a request that must succeed and change nothing
		if err != nil {
			t.Errorf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Errorf("no error, want %s", w.code)
		return
	}
	code, msg, status := apiError(err)
	if code == "" {
		t.Errorf("not an API error: %v", err)
		return
	}
	w.verify(t, code, msg, status)
}

// raw checks a raw response the way aws-sdk-go-v2 reads it (docs/behaviour/api-common.md
// §5.2): code from X-Amzn-ErrorType, message from the member named message
// in any casing. It also checks the parts of the shape every error shares.
func (w want) raw(t *testing.T, r rawResp) {
	t.Helper()
	r.commonShape(t)
	body := r.object(t)
	msg := ""
	for k, v := range body {
		if strings.EqualFold(k, "message") {
			msg, _ = v.(string)
		}
	}
	w.verify(t, r.header.Get("X-Amzn-ErrorType"), msg, r.status)
}

// --- raw, SigV4-signed requests -------------------------------------------

type rawReq struct {
	method string
	target string // path and query, already percent-encoded
	body   string
	// size > 0 streams that many bytes of a JSON-looking filler instead of body.
	size int64
	// unsigned sends no Authorization header.
	unsigned bool
}

type rawResp struct {
	status int
	header http.Header
	body   []byte
}

var reRequestID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// commonShape checks what every error response carries (docs/behaviour/api-common.md §1, §5.1).
func (r rawResp) commonShape(t *testing.T) {
	t.Helper()
	if id := r.header.Get("x-amzn-RequestId"); !reRequestID.MatchString(id) {
		t.Errorf("x-amzn-RequestId %q is not a lower-case UUID v4", id)
	}
	if r.header.Get("X-Amzn-ErrorType") == "" {
		t.Errorf("no X-Amzn-ErrorType header (status %d, body %s)", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
}

func (r rawResp) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %q", err, r.body)
	}
	return m
}

// awsEscape percent-encodes a path label as the SDKs do: every byte outside
// A-Z a-z 0-9 - _ . ~ (docs/behaviour/api-common.md §2).
func awsEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// filler is an endless stream of spaces: a valid JSON prefix of any size.
type filler struct{}

var spaces = bytes.Repeat([]byte{' '}, 64<<10)

func (filler) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], spaces)
	}
	return n, nil
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// call sends a raw request signed with the SDK's SigV4 signer and the
// server's credentials.
func call(t *testing.T, s *servertest.Server, rq rawReq) rawResp {
	t.Helper()
	var body io.Reader = strings.NewReader(rq.body)
	size := int64(len(rq.body))
	sum := sha256.Sum256([]byte(rq.body))
	if rq.size > 0 {
		size = rq.size
		h := sha256.New()
		if _, err := io.CopyN(h, filler{}, size); err != nil {
			t.Fatal(err)
		}
		copy(sum[:], h.Sum(nil))
		body = io.LimitReader(filler{}, size)
	}
	req, err := http.NewRequest(rq.method, s.URL()+rq.target, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	if size > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	if !rq.unsigned {
		creds := aws.Credentials{AccessKeyID: s.Creds.AccessKeyID, SecretAccessKey: s.Creds.SecretAccessKey}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", rq.method, rq.target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawResp{status: resp.StatusCode, header: resp.Header, body: b}
}

// --- state ------------------------------------------------------------------

// snapshot renders everything a failed request must leave alone: every
// function and version (revision, code, time), every alias, every
// reservation, and the account's usage.
func snapshot(t *testing.T, c *lambda.Client) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	var names []string
	p := lambda.NewListFunctionsPaginator(c, &lambda.ListFunctionsInput{FunctionVersion: types.FunctionVersionAll})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("snapshot: ListFunctions: %v", err)
		}
		for _, f := range out.Functions {
			n := aws.ToString(f.FunctionName)
			if len(names) == 0 || names[len(names)-1] != n {
				names = append(names, n)
			}
			env := map[string]string(nil)
			if f.Environment != nil {
				env = f.Environment.Variables
			}
			fmt.Fprintf(&b, "fn %s:%s rev=%s sha=%s mod=%s rt=%s t=%d m=%d desc=%q env=%v\n", n, aws.ToString(f.Version),
				aws.ToString(f.RevisionId), aws.ToString(f.CodeSha256), aws.ToString(f.LastModified), f.Runtime,
				aws.ToInt32(f.Timeout), aws.ToInt32(f.MemorySize), aws.ToString(f.Description), env)
		}
	}
	for _, n := range names {
		ap := lambda.NewListAliasesPaginator(c, &lambda.ListAliasesInput{FunctionName: aws.String(n)})
		for ap.HasMorePages() {
			out, err := ap.NextPage(ctx)
			if err != nil {
				t.Fatalf("snapshot: ListAliases %s: %v", n, err)
			}
			for _, a := range out.Aliases {
				var w map[string]float64
				if a.RoutingConfig != nil {
					w = a.RoutingConfig.AdditionalVersionWeights
				}
				fmt.Fprintf(&b, "alias %s:%s -> %s %v rev=%s desc=%q\n", n, aws.ToString(a.Name),
					aws.ToString(a.FunctionVersion), w, aws.ToString(a.RevisionId), aws.ToString(a.Description))
			}
		}
		cc, err := c.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(n)})
		if err != nil {
			t.Fatalf("snapshot: GetFunctionConcurrency %s: %v", n, err)
		}
		if cc.ReservedConcurrentExecutions != nil {
			fmt.Fprintf(&b, "concurrency %s %d\n", n, *cc.ReservedConcurrentExecutions)
		}
	}
	acct, err := c.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	if err != nil {
		t.Fatalf("snapshot: GetAccountSettings: %v", err)
	}
	fmt.Fprintf(&b, "account functions=%d code=%d unreserved=%d\n", acct.AccountUsage.FunctionCount,
		acct.AccountUsage.TotalCodeSize, aws.ToInt32(acct.AccountLimit.UnreservedConcurrentExecutions))
	return b.String()
}

// unchanged runs f and fails when the server's state differs afterwards.
func unchanged(t *testing.T, c *lambda.Client, f func()) {
	t.Helper()
	before := snapshot(t, c)
	f()
	if after := snapshot(t, c); after != before {
		t.Errorf("state changed:\n--- before\n%s--- after\n%s", before, after)
	}
}

// --- cases ------------------------------------------------------------------

type sdkCall func(ctx context.Context, c *lambda.Client) error

// tc is one bad request: an SDK call or a raw request, and its error.
type tc struct {
	name string
	sdk  sdkCall
	raw  *rawReq
	want want
}

func run(t *testing.T, s *servertest.Server, cases []tc) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			unchanged(t, s.Client, func() {
				if c.raw != nil {
					c.want.raw(t, call(t, s, *c.raw))
					return
				}
				c.want.sdk(t, c.sdk(context.Background(), s.Client))
			})
		})
	}
}

func mustCreate(t *testing.T, c *lambda.Client, name string, mod func(*lambda.CreateFunctionInput)) *lambda.CreateFunctionOutput {
	t.Helper()
	in := createInput(t, name)
	if mod != nil {
		mod(in)
	}
	out, err := c.CreateFunction(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateFunction %s: %v", name, err)
	}
	return out
}

// setupOK returns a function that fails the test when a setup call fails:
// ok(c.PublishVersion(…)).
func setupOK(t *testing.T) func(any, error) {
	return func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("setup: %v", err)
		}
	}
}

// architectures returns the host's Lambda architecture and the other one.
func architectures() (host, other string) {
	if runtime.GOARCH == "arm64" {
		return "arm64", "x86_64"
	}
	return "x86_64", "arm64"
}

// runtimeEnum checks the enum text of docs/behaviour/management.md §2: no quotes, no
// "1 validation error detected:" prefix, a comma-space list of identifiers
// of the model's enum that AWS accepts for new functions.
func runtimeEnum(rt string) want {
	return want{code: errInvalid, status: 400, match: func(t *testing.T, msg string) {
		t.Helper()
		pre := "Value " + rt + " at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: ["
		const suf = "] or be a valid ARN"
		if !strings.HasPrefix(msg, pre) || !strings.HasSuffix(msg, suf) {
			t.Errorf("message %q, want %q…%q", msg, pre, suf)
			return
		}
		list := strings.Split(msg[len(pre):len(msg)-len(suf)], ", ")
		model := types.Runtime("").Values()
		seen := map[string]bool{}
		for _, id := range list {
			if seen[id] || !slices.Contains(model, types.Runtime(id)) {
				t.Errorf("enum list item %q repeated or not in the model's Runtime enum: %s", id, msg)
			}
			seen[id] = true
		}
		for _, id := range []string{"nodejs22.x", "python3.13", "provided.al2023"} {
			if !seen[id] {
				t.Errorf("enum list lacks %s: %s", id, msg)
			}
		}
		for _, id := range []string{"nodejs", "nodejs4.3", "python2.7", "go1.x", "java8", "dotnetcore1.0", "ruby2.5"} {
			if seen[id] {
				t.Errorf("enum list offers %s, which AWS no longer accepts for new functions: %s", id, msg)
			}
		}
	}}
}

// --- CreateFunction -------------------------------------------------------------
