package api_test

// Every bad input of shared/spec/management.md and api-common.md for the
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
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
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

	"github.com/lambada-dev/lambada/internal/server"
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

// viol is one violation of a ValidationException text (api-common.md §5.3);
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
// (api-common.md §5.4) and aws-sdk-go-v2 fills in "UnknownError" as the
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

// raw checks a raw response the way aws-sdk-go-v2 reads it (api-common.md
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

// commonShape checks what every error response carries (api-common.md §1, §5.1).
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
// A-Z a-z 0-9 - _ . ~ (api-common.md §2).
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

// runtimeEnum checks the enum text of management.md §2: no quotes, no
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

func TestCreateFunctionErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	mustCreate(t, s.Client, "exists", nil)
	host, other := architectures()
	zip := servertest.Zip(t, map[string]string{"bootstrap": "#!/bin/sh\necho new"})
	zipB64 := base64.StdEncoding.EncodeToString(zip)

	create := func(mod func(in *lambda.CreateFunctionInput)) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := createInput(t, "new-fn")
			mod(in)
			_, err := c.CreateFunction(ctx, in)
			return err
		}
	}
	named := func(name string) sdkCall {
		return create(func(in *lambda.CreateFunctionInput) { in.FunctionName = aws.String(name) })
	}
	withRuntime := func(rt string) sdkCall {
		return create(func(in *lambda.CreateFunctionInput) { in.Runtime = types.Runtime(rt) })
	}
	withEnv := func(vars map[string]string) sdkCall {
		return create(func(in *lambda.CreateFunctionInput) { in.Environment = &types.Environment{Variables: vars} })
	}
	withArch := func(a ...string) sdkCall {
		return create(func(in *lambda.CreateFunctionInput) {
			in.Architectures = []types.Architecture{}
			for _, x := range a {
				in.Architectures = append(in.Architectures, types.Architecture(x))
			}
		})
	}
	rawCreate := func(body string) *rawReq {
		return &rawReq{method: "POST", target: "/2015-03-31/functions", body: body}
	}
	const roleJSON = `"Role":"arn:aws:iam::000000000000:role/lambda-role"`
	long65 := strings.Repeat("a", 65)
	long141 := strings.Repeat("a", 141)
	// {"BIG":"…"} is 10 bytes plus the value: 4097 bytes of JSON text.
	big := map[string]string{"BIG": strings.Repeat("x", 4087)}

	run(t, s, []tc{
		// FunctionName (api-common.md §6, management.md §2).
		{"name pattern", named("bad name!"), nil, validation(one(q("bad name!"), "functionName", pattern(patFunctionName)))},
		{"name two qualifiers", named("new-fn:1:2"), nil, validation(one(q("new-fn:1:2"), "functionName", pattern(patFunctionName)))},
		{"name empty", named(""), nil, validation(one(q(""), "functionName", "Member must have length greater than or equal to 1"))},
		{"name over 140", named(long141), nil, validation(one(q(long141), "functionName", "Member must have length less than or equal to 140"))},
		{"bare name over 64", named(long65), nil, invalid(one(q(long65), "functionName", "Member must have length less than or equal to 64"))},
		{"name with version qualifier", named("new-fn:1"), nil, invalidAny()},
		{"name with $LATEST", named("new-fn:$LATEST"), nil, invalidAny()},
		{"ARN with qualifier", named(arnPrefix + "new-fn:live"), nil, invalidAny()},
		{"ARN of another region", named("arn:aws:lambda:us-west-2:000000000000:function:new-fn"), nil,
			notFound("Functions from 'us-west-2' are not reachable in this region ('us-east-1')")},
		{"ARN of another account", named("arn:aws:lambda:us-east-1:111111111111:function:new-fn"), nil, denied()},
		{"partial ARN of another account", named("111111111111:function:new-fn"), nil, denied()},
		{"name exists", named("exists"), nil, conflict("Function already exist: exists")},
		{"name exists, given as our ARN", named(arnPrefix + "exists"), nil, conflict("Function already exist: exists")},

		// Role.
		{"role pattern", create(func(in *lambda.CreateFunctionInput) { in.Role = aws.String("lambda-role") }), nil,
			validation(one(q("lambda-role"), "role", pattern(patRole)))},
		{"role of another service", create(func(in *lambda.CreateFunctionInput) { in.Role = aws.String("arn:aws:iam::000000000000:user/bob") }), nil,
			validation(one(q("arn:aws:iam::000000000000:user/bob"), "role", pattern(patRole)))},

		// Runtime and Handler.
		{"runtime not in enum", withRuntime("python9"), nil, runtimeEnum("python9")},
		{"runtime enum is case-sensitive", withRuntime("Python3.12"), nil, runtimeEnum("Python3.12")},
		{"runtime deprecated python2.7", withRuntime("python2.7"), nil, want{code: errInvalid, status: 400, free: true,
			prefix: "The runtime parameter of python2.7 is no longer supported for creating or updating AWS Lambda functions."}},
		{"runtime deprecated nodejs16.x", withRuntime("nodejs16.x"), nil, want{code: errInvalid, status: 400, free: true,
			prefix: "The runtime parameter of nodejs16.x is no longer supported for creating or updating AWS Lambda functions."}},
		{"runtime java21 unsupported", withRuntime("java21"), nil, invalid("The runtime parameter of java21 is not supported by this server.")},
		{"runtime dotnet8 unsupported", withRuntime("dotnet8"), nil, invalid("The runtime parameter of dotnet8 is not supported by this server.")},
		{"runtime ruby3.3 unsupported", withRuntime("ruby3.3"), nil, invalid("The runtime parameter of ruby3.3 is not supported by this server.")},
		{"runtime missing", withRuntime(""), nil, invalid(msgHandler)},
		{"handler missing for nodejs", create(func(in *lambda.CreateFunctionInput) { in.Runtime, in.Handler = types.RuntimeNodejs22x, nil }), nil, invalid(msgHandler)},
		{"handler missing for python", create(func(in *lambda.CreateFunctionInput) { in.Runtime, in.Handler = types.RuntimePython313, nil }), nil, invalid(msgHandler)},
		{"handler with whitespace", create(func(in *lambda.CreateFunctionInput) { in.Handler = aws.String("index handler") }), nil,
			validation(one(q("index handler"), "handler", pattern(`[^\s]+`)))},
		{"handler over 128", create(func(in *lambda.CreateFunctionInput) { in.Handler = aws.String(strings.Repeat("h", 129)) }), nil,
			validation(one(q(strings.Repeat("h", 129)), "handler", "Member must have length less than or equal to 128"))},
		{"description over 256", create(func(in *lambda.CreateFunctionInput) { in.Description = aws.String(strings.Repeat("d", 257)) }), nil,
			validation(one(q(strings.Repeat("d", 257)), "description", "Member must have length less than or equal to 256"))},

		// Numbers.
		{"timeout 0", create(func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(0) }), nil,
			validation(one(q("0"), "timeout", "Member must have value greater than or equal to 1"))},
		{"timeout 901", create(func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(901) }), nil,
			invalid(one(q("901"), "timeout", "Member must have value less than or equal to 900"))},
		{"memory 127", create(func(in *lambda.CreateFunctionInput) { in.MemorySize = aws.Int32(127) }), nil,
			validation(one(q("127"), "memorySize", "Member must have value greater than or equal to 128"))},
		{"memory 10241", create(func(in *lambda.CreateFunctionInput) { in.MemorySize = aws.Int32(10241) }), nil,
			invalid(one(q("10241"), "memorySize", "Member must have value less than or equal to 10240"))},
		{"timeout 0 and memory 127", create(func(in *lambda.CreateFunctionInput) { in.Timeout, in.MemorySize = aws.Int32(0), aws.Int32(127) }), nil,
			validation("2 validation errors detected: " + viol(q("0"), "timeout", "Member must have value greater than or equal to 1") +
				"; " + viol(q("127"), "memorySize", "Member must have value greater than or equal to 128"))},
		{"ephemeral 511", create(func(in *lambda.CreateFunctionInput) {
			in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(511)}
		}), nil,
			validation(one(q("511"), "ephemeralStorage.size", "Member must have value greater than or equal to 512"))},
		{"ephemeral 10241", create(func(in *lambda.CreateFunctionInput) {
			in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(10241)}
		}), nil,
			validation(one(q("10241"), "ephemeralStorage.size", "Member must have value less than or equal to 10240"))},

		// Architectures.
		{"architectures empty", withArch(), nil, validation(one(q("[]"), "architectures", "Member must have length greater than or equal to 1"))},
		{"architectures two", withArch("x86_64", "arm64"), nil,
			validation(one(q("[x86_64, arm64]"), "architectures", "Member must have length less than or equal to 1"))},
		{"architecture of another host", withArch(other), nil,
			invalid(fmt.Sprintf("Architecture %s is not supported by this server (host architecture: %s).", other, host))},
		{"architecture misspelt", withArch("x86"), nil, validation(one(q("[x86]"), "architectures", msgArchEnum))},
		{"architecture in upper case", withArch("ARM64"), nil, validation(one(q("[ARM64]"), "architectures", msgArchEnum))},

		// Environment.
		{"env key starts with a digit", withEnv(map[string]string{"1BAD": "x"}), nil,
			validation(one(q("{1BAD=x}"), "environment.variables", "Map keys must satisfy constraint: ["+pattern(patEnvKey)+"]"))},
		{"env key of one letter", withEnv(map[string]string{"A": "x"}), nil,
			validation(one(q("{A=x}"), "environment.variables", "Map keys must satisfy constraint: ["+pattern(patEnvKey)+"]"))},
		{"env reserved keys", withEnv(map[string]string{"AWS_REGION": "x", "OK_VAR": "y", "AWS_LAMBDA_FUNCTION_NAME": "z"}), nil,
			invalid(msgReserved + "AWS_LAMBDA_FUNCTION_NAME, AWS_REGION")},
		{"env reserved TZ", withEnv(map[string]string{"TZ": "Europe/Paris"}), nil, invalid(msgReserved + "TZ")},
		{"env reserved credentials", withEnv(map[string]string{"AWS_SECRET_ACCESS_KEY": "s", "AWS_ACCESS_KEY_ID": "k"}), nil,
			invalid(msgReserved + "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY")},
		{"env over 4KB", withEnv(big), nil, invalid(msgEnvTooBig + `{"BIG":"` + big["BIG"] + `"}`)},

		// Settings lambada cannot honour.
		{"layers", create(func(in *lambda.CreateFunctionInput) {
			in.Layers = []string{"arn:aws:lambda:us-east-1:000000000000:layer:deps:1"}
		}), nil, invalid("Layers is not supported by this server.")},
		{"vpc", create(func(in *lambda.CreateFunctionInput) {
			in.VpcConfig = &types.VpcConfig{SubnetIds: []string{"subnet-1"}, SecurityGroupIds: []string{"sg-1"}}
		}), nil, invalid("VpcConfig is not supported by this server.")},
		{"kms key", create(func(in *lambda.CreateFunctionInput) {
			in.KMSKeyArn = aws.String("arn:aws:kms:us-east-1:000000000000:key/1234")
		}), nil, invalid("KMSKeyArn is not supported by this server.")},
		{"snapstart published versions", create(func(in *lambda.CreateFunctionInput) {
			in.SnapStart = &types.SnapStart{ApplyOn: types.SnapStartApplyOnPublishedVersions}
		}), nil, invalid("SnapStart is not supported by this server.")},
		{"file systems", create(func(in *lambda.CreateFunctionInput) {
			in.FileSystemConfigs = []types.FileSystemConfig{{Arn: aws.String("arn:aws:elasticfilesystem:us-east-1:000000000000:access-point/fsap-1"), LocalMountPath: aws.String("/mnt/x")}}
		}), nil, invalid("FileSystemConfigs is not supported by this server.")},
		{"image config", create(func(in *lambda.CreateFunctionInput) {
			in.ImageConfig = &types.ImageConfig{Command: []string{"app"}}
		}), nil, invalid("ImageConfig is not supported by this server.")},
		{"code signing", create(func(in *lambda.CreateFunctionInput) {
			in.CodeSigningConfigArn = aws.String("arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-1")
		}), nil, invalid("CodeSigningConfigArn is not supported by this server.")},
		{"logging JSON", create(func(in *lambda.CreateFunctionInput) {
			in.LoggingConfig = &types.LoggingConfig{LogFormat: types.LogFormatJson}
		}), nil, notSupported()},
		{"logging application level", create(func(in *lambda.CreateFunctionInput) {
			in.LoggingConfig = &types.LoggingConfig{ApplicationLogLevel: types.ApplicationLogLevelDebug}
		}), nil, notSupported()},
		{"tracing mode", create(func(in *lambda.CreateFunctionInput) {
			in.TracingConfig = &types.TracingConfig{Mode: "Sometimes"}
		}), nil, validation(one(q("Sometimes"), "tracingConfig.mode", "Member must satisfy enum value set: [Active, PassThrough]"))},

		// Code.
		{"code from S3", create(func(in *lambda.CreateFunctionInput) {
			in.Code = &types.FunctionCode{S3Bucket: aws.String("bucket"), S3Key: aws.String("code.zip")}
		}), nil, invalidAny()},
		{"code from an image", create(func(in *lambda.CreateFunctionInput) {
			in.Code = &types.FunctionCode{ImageUri: aws.String("000000000000.dkr.ecr.us-east-1.amazonaws.com/app:1")}
		}), nil, invalidAny()},
		{"package type Image", create(func(in *lambda.CreateFunctionInput) { in.PackageType = types.PackageTypeImage }), nil, invalidAny()},
		{"not a zip", create(func(in *lambda.CreateFunctionInput) { in.Code = &types.FunctionCode{ZipFile: []byte("hello, world")} }), nil, invalid(msgNotZip)},
		{"zip entry climbs out", create(func(in *lambda.CreateFunctionInput) {
			in.Code = &types.FunctionCode{ZipFile: servertest.Zip(t, map[string]string{"../evil": "x"})}
		}), nil, invalid(msgNotZip)},
		{"undecodable base64", nil, rawCreate(`{"FunctionName":"new-fn",` + roleJSON + `,"Runtime":"provided.al2023","Code":{"ZipFile":"%%%not base64"}}`), invalid(msgNotZip)},

		// Bodies the SDK would never send.
		{"malformed JSON", nil, rawCreate(`{"FunctionName":"new-fn",`), badContent()},
		{"body is not an object", nil, rawCreate(`["new-fn"]`), badContent()},
		{"timeout is a string", nil, rawCreate(`{"FunctionName":"new-fn",` + roleJSON + `,"Runtime":"provided.al2023","Timeout":"3","Code":{"ZipFile":"` + zipB64 + `"}}`), badContent()},
		{"publish is a string", nil, rawCreate(`{"FunctionName":"new-fn",` + roleJSON + `,"Runtime":"provided.al2023","Publish":"yes","Code":{"ZipFile":"` + zipB64 + `"}}`), badContent()},
		{"required members missing", nil, rawCreate(`{}`), validation("3 validation errors detected: " +
			viol("null", "functionName", "Member must not be null") + "; " + viol("null", "role", "Member must not be null") + "; " +
			viol("null", "code", "Member must not be null"))},
		{"empty body", nil, rawCreate(``), validation("3 validation errors detected: " +
			viol("null", "functionName", "Member must not be null") + "; " + viol("null", "role", "Member must not be null") + "; " +
			viol("null", "code", "Member must not be null"))},
		{"code missing", nil, rawCreate(`{"FunctionName":"new-fn",` + roleJSON + `,"Runtime":"provided.al2023"}`),
			validation(one("null", "code", "Member must not be null"))},
		{"bad name and role missing", nil, rawCreate(`{"FunctionName":"bad name","Runtime":"provided.al2023","Code":{"ZipFile":"` + zipB64 + `"}}`),
			validation("2 validation errors detected: " + viol(q("bad name"), "functionName", pattern(patFunctionName)) + "; " +
				viol("null", "role", "Member must not be null"))},
		{"ephemeral size missing", nil, rawCreate(`{"FunctionName":"new-fn",` + roleJSON + `,"Runtime":"provided.al2023","EphemeralStorage":{},"Code":{"ZipFile":"` + zipB64 + `"}}`),
			validation(one("null", "ephemeralStorage.size", "Member must not be null"))},
		{"request body over 70167211 bytes", nil, &rawReq{method: "POST", target: "/2015-03-31/functions", size: maxCodeBody + 1},
			tooLarge("Request must be smaller than 70167211 bytes for the CreateFunction operation")},
	})

	t.Run("zip over 52428800 bytes", func(t *testing.T) {
		// 70 MB of JSON costs ~1.5 s end to end, but ~20 s under the race
		// detector (encoding/json and base64 are instrumented byte by byte).
		if raceEnabled() && os.Getenv("LAMBADA_SLOW_TESTS") == "" {
			t.Skip("slow under -race; runs without -race or with LAMBADA_SLOW_TESTS=1")
		}
		// Random-looking bytes: the size is checked before the structure.
		huge := bytes.Repeat([]byte{0x50, 0x4b, 0x03, 0x04}, 52_428_800/4+1)
		unchanged(t, s.Client, func() {
			_, err := s.Client.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
				FunctionName: aws.String("new-fn"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
				Code: &types.FunctionCode{ZipFile: huge},
			})
			tooLarge(msgZipped).sdk(t, err)
		})
	})

	// The bounds themselves are accepted.
	t.Run("bounds accepted", func(t *testing.T) {
		ctx := context.Background()
		name64 := strings.Repeat("b", 64)
		exact := map[string]string{"BIG": strings.Repeat("x", 4086)} // 4096 bytes of JSON
		out, err := s.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(name64), Role: aws.String(role), Runtime: types.RuntimeNodejs22x,
			Handler: aws.String("index.handler"), Code: &types.FunctionCode{ZipFile: zip},
			Timeout: aws.Int32(900), MemorySize: aws.Int32(10240), EphemeralStorage: &types.EphemeralStorage{Size: aws.Int32(10240)},
			Environment: &types.Environment{Variables: exact}, Architectures: []types.Architecture{types.Architecture(host)},
			SnapStart: &types.SnapStart{ApplyOn: types.SnapStartApplyOnNone}, Layers: []string{},
			LoggingConfig: &types.LoggingConfig{LogFormat: types.LogFormatText},
		})
		if err != nil {
			t.Fatalf("CreateFunction at the bounds: %v", err)
		}
		if aws.ToString(out.FunctionName) != name64 || aws.ToInt32(out.Timeout) != 900 {
			t.Fatalf("answer: %+v", out)
		}
		// Missing Handler is fine for provided* (management.md §2, Decision).
		if _, err := s.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String("no-handler"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
			Code: &types.FunctionCode{ZipFile: zip},
		}); err != nil {
			t.Fatalf("provided.al2023 without Handler: %v", err)
		}
	})
}

// --- GetFunction / GetFunctionConfiguration ------------------------------------------

func TestGetFunctionErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	ok := setupOK(t)
	ctx := context.Background()
	mustCreate(t, s.Client, "fx", nil)
	ok(s.Client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fx")}))
	ok(s.Client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("fx"), Name: aws.String("live"), FunctionVersion: aws.String("1")}))

	long65 := strings.Repeat("a", 65)
	long257 := strings.Repeat("a", 257)
	cases := []struct {
		name, fn, qualifier string
		want                want
	}{
		{"missing function", "nope", "", fnNotFound("nope")},
		{"missing function with Qualifier", "nope", "1", fnNotFound("nope:1")},
		{"missing function with qualified name", "nope:live", "", fnNotFound("nope:live")},
		{"missing function by ARN", arnPrefix + "nope", "", fnNotFound("nope")},
		{"missing version", "fx", "7", fnNotFound("fx:7")},
		{"missing version in name", "fx:7", "", fnNotFound("fx:7")},
		{"missing alias", "fx", "ghost", fnNotFound("fx:ghost")},
		{"missing alias in name", "fx:ghost", "", fnNotFound("fx:ghost")},
		{"Qualifier $latest is an alias", "fx", "$latest", fnNotFound("fx:$latest")},
		{"Qualifier $LATEST.PUBLISHED", "fx", "$LATEST.PUBLISHED", fnNotFound("fx:$LATEST.PUBLISHED")},
		{"name $LATEST.PUBLISHED", "fx:$LATEST.PUBLISHED", "", fnNotFound("fx:$LATEST.PUBLISHED")},
		{"bare name over 64", long65, "", fnNotFound(long65)},
		{"Qualifier pattern", "fx", "bad!", validation(one(q("bad!"), "qualifier", pattern(patQualifier)))},
		{"Qualifier over 128", "fx", strings.Repeat("q", 129),
			validation(one(q(strings.Repeat("q", 129)), "qualifier", "Member must have length less than or equal to 128"))},
		{"name $latest", "fx:$latest", "", validation(one(q("fx:$latest"), "functionName", pattern(patNamespaced)))},
		{"name two qualifiers", "fx:1:2", "", validation(one(q("fx:1:2"), "functionName", pattern(patNamespaced)))},
		{"name with a space", "f x", "", validation(one(q("f x"), "functionName", pattern(patNamespaced)))},
		{"ARN of another service", "arn:aws:s3:::bucket", "", validation(one(q("arn:aws:s3:::bucket"), "functionName", pattern(patNamespaced)))},
		{"name over 256", long257, "", validation(one(q(long257), "functionName", "Member must have length less than or equal to 256"))},
		{"qualifier mismatch", "fx:1", "live", invalid(msgMismatch)},
		{"qualifier mismatch on a missing function", "nope:1", "2", invalid(msgMismatch)},
		{"ARN of another region", "arn:aws:lambda:eu-west-1:000000000000:function:fx", "",
			notFound("Functions from 'eu-west-1' are not reachable in this region ('us-east-1')")},
		{"ARN of another region and account", "arn:aws:lambda:eu-west-1:111111111111:function:fx", "",
			notFound("Functions from 'eu-west-1' are not reachable in this region ('us-east-1')")},
		{"ARN of another account", "arn:aws:lambda:us-east-1:111111111111:function:fx", "", denied()},
		{"partial ARN of another account", "111111111111:function:fx:1", "", denied()},
	}
	var all []tc
	for _, c := range cases {
		var qual *string
		if c.qualifier != "" {
			qual = aws.String(c.qualifier)
		}
		all = append(all,
			tc{"GetFunction/" + c.name, func(ctx context.Context, cl *lambda.Client) error {
				_, err := cl.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(c.fn), Qualifier: qual})
				return err
			}, nil, c.want},
			tc{"GetFunctionConfiguration/" + c.name, func(ctx context.Context, cl *lambda.Client) error {
				_, err := cl.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(c.fn), Qualifier: qual})
				return err
			}, nil, c.want})
	}
	run(t, s, all)

	// Equal qualifiers in the name and the query are fine.
	if _, err := s.Client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fx:live"), Qualifier: aws.String("live")}); err != nil {
		t.Errorf("same qualifier twice: %v", err)
	}
}

// --- UpdateFunctionConfiguration / UpdateFunctionCode ---------------------------------

func TestUpdateFunctionErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	ok := setupOK(t)
	ctx := context.Background()
	host, other := architectures()
	mustCreate(t, s.Client, "fx", func(in *lambda.CreateFunctionInput) {
		in.Environment = &types.Environment{Variables: map[string]string{"KEEP": "1"}}
	})
	ok(s.Client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fx")}))
	mustCreate(t, s.Client, "no-handler", func(in *lambda.CreateFunctionInput) { in.Handler = nil })
	cur, err := s.Client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("fx")})
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	stale := "00000000-0000-4000-8000-000000000000"
	newZip := servertest.Zip(t, map[string]string{"bootstrap": "#!/bin/sh\necho v2"})
	zipB64 := base64.StdEncoding.EncodeToString(newZip)

	config := func(mod func(in *lambda.UpdateFunctionConfigurationInput)) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx")}
			mod(in)
			_, err := c.UpdateFunctionConfiguration(ctx, in)
			return err
		}
	}
	code := func(mod func(in *lambda.UpdateFunctionCodeInput)) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("fx"), ZipFile: newZip}
			mod(in)
			_, err := c.UpdateFunctionCode(ctx, in)
			return err
		}
	}
	arch := func(a ...string) func(in *lambda.UpdateFunctionCodeInput) {
		return func(in *lambda.UpdateFunctionCodeInput) {
			in.Architectures = []types.Architecture{}
			for _, x := range a {
				in.Architectures = append(in.Architectures, types.Architecture(x))
			}
		}
	}
	big := map[string]string{"BIG": strings.Repeat("x", 4087)}

	run(t, s, []tc{
		// UpdateFunctionConfiguration.
		{"config/qualified name", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.FunctionName = aws.String("fx:1") }), nil, invalidAny()},
		{"config/name with $LATEST", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.FunctionName = aws.String("fx:$LATEST") }), nil, invalidAny()},
		{"config/qualified ARN", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.FunctionName = aws.String(arnPrefix + "fx:1") }), nil, invalidAny()},
		{"config/missing function", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.FunctionName, in.Timeout = aws.String("nope"), aws.Int32(5)
		}), nil, fnNotFound("nope")},
		{"config/ARN of another account", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.FunctionName = aws.String("arn:aws:lambda:us-east-1:111111111111:function:fx")
		}), nil, denied()},
		{"config/stale RevisionId", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.RevisionId, in.Timeout = aws.String(stale), aws.Int32(5)
		}), nil, precondition()},
		{"config/timeout 0", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.Timeout = aws.Int32(0) }), nil,
			validation(one(q("0"), "timeout", "Member must have value greater than or equal to 1"))},
		{"config/timeout 901", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.Timeout = aws.Int32(901) }), nil,
			invalid(one(q("901"), "timeout", "Member must have value less than or equal to 900"))},
		{"config/memory 127", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.MemorySize = aws.Int32(127) }), nil,
			validation(one(q("127"), "memorySize", "Member must have value greater than or equal to 128"))},
		{"config/memory 10241", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.MemorySize = aws.Int32(10241) }), nil,
			invalid(one(q("10241"), "memorySize", "Member must have value less than or equal to 10240"))},
		{"config/ephemeral 511", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(511)}
		}), nil, validation(one(q("511"), "ephemeralStorage.size", "Member must have value greater than or equal to 512"))},
		{"config/ephemeral 10241", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(10241)}
		}), nil, validation(one(q("10241"), "ephemeralStorage.size", "Member must have value less than or equal to 10240"))},
		{"config/role pattern", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.Role = aws.String("admin") }), nil,
			validation(one(q("admin"), "role", pattern(patRole)))},
		{"config/runtime not in enum", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.Runtime = "python9" }), nil, runtimeEnum("python9")},
		{"config/runtime deprecated", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.Runtime = "python2.7" }), nil,
			want{code: errInvalid, status: 400, free: true, prefix: "The runtime parameter of python2.7 is no longer supported for creating or updating AWS Lambda functions."}},
		{"config/runtime unsupported", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.Runtime = types.RuntimeJava21 }), nil,
			invalid("The runtime parameter of java21 is not supported by this server.")},
		{"config/nodejs without handler", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("no-handler"), Runtime: types.RuntimeNodejs22x})
			return err
		}, nil, invalid(msgHandler)},
		{"config/handler emptied on nodejs", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx"),
				Runtime: types.RuntimePython313, Handler: aws.String("")})
			return err
		}, nil, invalid(msgHandler)},
		{"config/env bad key", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"bad-key": "x"}}
		}), nil, validation(one(q("{bad-key=x}"), "environment.variables", "Map keys must satisfy constraint: ["+pattern(patEnvKey)+"]"))},
		{"config/env reserved keys", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"LAMBDA_TASK_ROOT": "/tmp", "AWS_EXECUTION_ENV": "x"}}
		}), nil, invalid(msgReserved + "AWS_EXECUTION_ENV, LAMBDA_TASK_ROOT")},
		{"config/env over 4KB", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.Environment = &types.Environment{Variables: big}
		}), nil, invalid(msgEnvTooBig + `{"BIG":"` + big["BIG"] + `"}`)},
		{"config/layers", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.Layers = []string{"arn:aws:lambda:us-east-1:000000000000:layer:deps:1"}
		}), nil, invalid("Layers is not supported by this server.")},
		{"config/vpc", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.VpcConfig = &types.VpcConfig{SubnetIds: []string{"subnet-1"}}
		}), nil, invalid("VpcConfig is not supported by this server.")},
		{"config/kms key", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.KMSKeyArn = aws.String("arn:aws:kms:us-east-1:000000000000:key/1234")
		}), nil, invalid("KMSKeyArn is not supported by this server.")},
		{"config/snapstart", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.SnapStart = &types.SnapStart{ApplyOn: types.SnapStartApplyOnPublishedVersions}
		}), nil, invalid("SnapStart is not supported by this server.")},
		{"config/logging JSON", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.LoggingConfig = &types.LoggingConfig{LogFormat: types.LogFormatJson}
		}), nil, notSupported()},
		{"config/logging system level", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.LoggingConfig = &types.LoggingConfig{SystemLogLevel: types.SystemLogLevelWarn}
		}), nil, notSupported()},
		{"config/malformed JSON", nil, &rawReq{method: "PUT", target: "/2015-03-31/functions/fx/configuration", body: `{"Timeout":`}, badContent()},
		{"config/wrong member type", nil, &rawReq{method: "PUT", target: "/2015-03-31/functions/fx/configuration", body: `{"Environment":{"Variables":["A"]}}`}, badContent()},

		// UpdateFunctionCode.
		{"code/qualified name", code(func(in *lambda.UpdateFunctionCodeInput) { in.FunctionName = aws.String("fx:1") }), nil, invalidAny()},
		{"code/qualified ARN", code(func(in *lambda.UpdateFunctionCodeInput) { in.FunctionName = aws.String(arnPrefix + "fx:$LATEST") }), nil, invalidAny()},
		{"code/missing function", code(func(in *lambda.UpdateFunctionCodeInput) { in.FunctionName = aws.String("nope") }), nil, fnNotFound("nope")},
		{"code/name pattern", code(func(in *lambda.UpdateFunctionCodeInput) { in.FunctionName = aws.String("fx!") }), nil,
			validation(one(q("fx!"), "functionName", pattern(patFunctionName)))},
		{"code/stale RevisionId", code(func(in *lambda.UpdateFunctionCodeInput) { in.RevisionId = aws.String(stale) }), nil, precondition()},
		{"code/stale RevisionId with Publish", code(func(in *lambda.UpdateFunctionCodeInput) { in.RevisionId, in.Publish = aws.String(stale), true }), nil, precondition()},
		{"code/DryRun with stale RevisionId", code(func(in *lambda.UpdateFunctionCodeInput) { in.RevisionId, in.DryRun = aws.String(stale), true }), nil, precondition()},
		{"code/not a zip", code(func(in *lambda.UpdateFunctionCodeInput) { in.ZipFile = []byte("nope") }), nil, invalid(msgNotZip)},
		{"code/DryRun not a zip", code(func(in *lambda.UpdateFunctionCodeInput) { in.ZipFile, in.DryRun = []byte("nope"), true }), nil, invalid(msgNotZip)},
		{"code/from S3", code(func(in *lambda.UpdateFunctionCodeInput) {
			in.ZipFile, in.S3Bucket, in.S3Key = nil, aws.String("bucket"), aws.String("code.zip")
		}), nil, invalidAny()},
		{"code/from an image", code(func(in *lambda.UpdateFunctionCodeInput) {
			in.ZipFile, in.ImageUri = nil, aws.String("000000000000.dkr.ecr.us-east-1.amazonaws.com/app:1")
		}), nil, invalidAny()},
		{"code/no code", code(func(in *lambda.UpdateFunctionCodeInput) { in.ZipFile = nil }), nil, invalidAny()},
		{"code/architectures empty", code(arch()), nil, validation(one(q("[]"), "architectures", "Member must have length greater than or equal to 1"))},
		{"code/architectures two", code(arch("arm64", "x86_64")), nil,
			validation(one(q("[arm64, x86_64]"), "architectures", "Member must have length less than or equal to 1"))},
		{"code/architecture misspelt", code(arch("amd64")), nil, validation(one(q("[amd64]"), "architectures", msgArchEnum))},
		{"code/architecture of another host", code(arch(other)), nil,
			invalid(fmt.Sprintf("Architecture %s is not supported by this server (host architecture: %s).", other, host))},
		{"code/undecodable base64", nil, &rawReq{method: "PUT", target: "/2015-03-31/functions/fx/code", body: `{"ZipFile":"@@@"}`}, invalid(msgNotZip)},
		{"code/malformed JSON", nil, &rawReq{method: "PUT", target: "/2015-03-31/functions/fx/code", body: `{"ZipFile":"` + zipB64}, badContent()},
		{"code/wrong member type", nil, &rawReq{method: "PUT", target: "/2015-03-31/functions/fx/code", body: `{"ZipFile":"` + zipB64 + `","DryRun":1}`}, badContent()},
		{"code/request body over 70167211 bytes", nil, &rawReq{method: "PUT", target: "/2015-03-31/functions/fx/code", size: maxCodeBody + 1},
			tooLarge("Request must be smaller than 70167211 bytes for the UpdateFunctionCode operation")},
	})

	t.Run("DryRun changes nothing", func(t *testing.T) {
		unchanged(t, s.Client, func() {
			out, err := s.Client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
				FunctionName: aws.String("fx"), ZipFile: newZip, DryRun: true, RevisionId: cur.RevisionId,
			})
			if err != nil {
				t.Fatalf("DryRun: %v", err)
			}
			if aws.ToString(out.CodeSha256) != aws.ToString(cur.CodeSha256) || aws.ToString(out.RevisionId) != aws.ToString(cur.RevisionId) ||
				aws.ToString(out.Version) != "$LATEST" {
				t.Errorf("DryRun answered %s/%s/%s, want the current %s/%s/$LATEST", aws.ToString(out.CodeSha256), aws.ToString(out.RevisionId),
					aws.ToString(out.Version), aws.ToString(cur.CodeSha256), aws.ToString(cur.RevisionId))
			}
			// DryRun with Publish publishes nothing either.
			if _, err := s.Client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
				FunctionName: aws.String("fx"), ZipFile: newZip, DryRun: true, Publish: true,
			}); err != nil {
				t.Fatalf("DryRun+Publish: %v", err)
			}
		})
	})

	t.Run("current RevisionId accepted", func(t *testing.T) {
		out, err := s.Client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String("fx"), RevisionId: cur.RevisionId, Description: aws.String("next"),
		})
		if err != nil {
			t.Fatalf("UpdateFunctionConfiguration with the current RevisionId: %v", err)
		}
		// The old RevisionId is stale now.
		_, err = s.Client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("fx"), ZipFile: newZip, RevisionId: cur.RevisionId})
		precondition().sdk(t, err)
		if _, err := s.Client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("fx"), ZipFile: newZip, RevisionId: out.RevisionId}); err != nil {
			t.Fatalf("UpdateFunctionCode with the current RevisionId: %v", err)
		}
	})
}

// --- PublishVersion / DeleteFunction ----------------------------------------------------

func TestPublishAndDeleteErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	ok := setupOK(t)
	ctx := context.Background()
	c := s.Client
	mustCreate(t, c, "fx", nil)
	ok(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fx")}))
	ok(c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx"), Timeout: aws.Int32(10)}))
	ok(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fx")}))
	ok(c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx"), Timeout: aws.Int32(20)}))
	ok(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fx")}))
	ok(c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("fx"), Name: aws.String("live"), FunctionVersion: aws.String("1")}))
	ok(c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("fx"), Name: aws.String("canary"), FunctionVersion: aws.String("1"),
		RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.1}}}))
	latest, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("fx")})
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	sha := aws.ToString(latest.CodeSha256)
	otherSha := base64.StdEncoding.EncodeToString(make([]byte, 32))

	publish := func(fn string, in lambda.PublishVersionInput) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in.FunctionName = aws.String(fn)
			_, err := c.PublishVersion(ctx, &in)
			return err
		}
	}
	del := func(fn, qualifier string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.DeleteFunctionInput{FunctionName: aws.String(fn)}
			if qualifier != "" {
				in.Qualifier = aws.String(qualifier)
			}
			_, err := c.DeleteFunction(ctx, in)
			return err
		}
	}

	run(t, s, []tc{
		// PublishVersion.
		{"publish/stale RevisionId with nothing changed", publish("fx", lambda.PublishVersionInput{RevisionId: aws.String("stale")}), nil, precondition()},
		{"publish/stale RevisionId before CodeSha256", publish("fx", lambda.PublishVersionInput{RevisionId: aws.String("stale"), CodeSha256: aws.String(otherSha)}), nil, precondition()},
		{"publish/CodeSha256 mismatch", publish("fx", lambda.PublishVersionInput{CodeSha256: aws.String(otherSha)}), nil,
			invalid(fmt.Sprintf("CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", otherSha, sha))},
		{"publish/description over 256", publish("fx", lambda.PublishVersionInput{Description: aws.String(strings.Repeat("d", 257))}), nil,
			validation(one(q(strings.Repeat("d", 257)), "description", "Member must have length less than or equal to 256"))},
		{"publish/qualified name", publish("fx:1", lambda.PublishVersionInput{}), nil, invalidAny()},
		{"publish/missing function", publish("nope", lambda.PublishVersionInput{}), nil, fnNotFound("nope")},
		{"publish/name pattern", publish("fx fx", lambda.PublishVersionInput{}), nil, validation(one(q("fx fx"), "functionName", pattern(patFunctionName)))},
		{"publish/malformed JSON", nil, &rawReq{method: "POST", target: "/2015-03-31/functions/fx/versions", body: `{"CodeSha256"`}, badContent()},
		{"publish/nothing changed returns the newest version", func(ctx context.Context, c *lambda.Client) error {
			out, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fx"), RevisionId: latest.RevisionId, CodeSha256: aws.String(sha)})
			if err == nil && aws.ToString(out.Version) != "3" {
				return fmt.Errorf("got version %s, want 3 again", aws.ToString(out.Version))
			}
			return err
		}, nil, want{}},

		// DeleteFunction: qualifier rules come before the lookup.
		{"delete/$LATEST", del("fx", "$LATEST"), nil, invalid(msgDelLatest)},
		{"delete/$LATEST in name", del("fx:$LATEST", ""), nil, invalid(msgDelLatest)},
		{"delete/$LATEST of a missing function", del("nope", "$LATEST"), nil, invalid(msgDelLatest)},
		{"delete/alias", del("fx", "live"), nil, invalid(msgDelAlias)},
		{"delete/alias in name", del("fx:live", ""), nil, invalid(msgDelAlias)},
		{"delete/alias of a missing function", del("nope:live", ""), nil, invalid(msgDelAlias)},
		{"delete/qualifier mismatch", del("fx:1", "2"), nil, invalid(msgMismatch)},
		{"delete/qualifier pattern", del("fx", "v 1"), nil, validation(one(q("v 1"), "qualifier", pattern(patQualifier)))},
		{"delete/name pattern", del("fx:$latest", ""), nil, validation(one(q("fx:$latest"), "functionName", pattern(patNamespaced)))},
		{"delete/missing function", del("nope", ""), nil, fnNotFound("nope")},
		{"delete/missing function with a version", del("nope", "3"), nil, fnNotFound("nope")},
		{"delete/missing function with a version in the name", del("nope:3", ""), nil, fnNotFound("nope")},
		{"delete/ARN of another region", del("arn:aws:lambda:ap-south-1:000000000000:function:fx", ""), nil,
			notFound("Functions from 'ap-south-1' are not reachable in this region ('us-east-1')")},
		{"delete/ARN of another account", del("arn:aws:lambda:us-east-1:222222222222:function:fx", ""), nil, denied()},
		{"delete/version referenced by aliases", del("fx", "1"), nil,
			conflict("Unable to delete version because the following aliases reference it: [canary, live]")},
		{"delete/version referenced by weights", del("fx", "2"), nil,
			conflict("Unable to delete version because the following aliases reference it: [canary]")},
		{"delete/missing version is 204", del("fx", "99"), nil, want{}},
	})
}

// --- aliases ------------------------------------------------------------------

func TestAliasErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	ok := setupOK(t)
	ctx := context.Background()
	c := s.Client
	mustCreate(t, c, "fx", nil)
	ok(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fx")}))
	ok(c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx"), Timeout: aws.Int32(10)}))
	ok(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fx")}))
	live, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("fx"), Name: aws.String("live"), FunctionVersion: aws.String("1")})
	if err != nil {
		t.Fatalf("setup: %v", err)
	}

	type weights = map[string]float64
	createAlias := func(fn, name, version string, w weights) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.CreateAliasInput{FunctionName: aws.String(fn), Name: aws.String(name), FunctionVersion: aws.String(version)}
			if w != nil {
				in.RoutingConfig = &types.AliasRoutingConfiguration{AdditionalVersionWeights: w}
			}
			_, err := c.CreateAlias(ctx, in)
			return err
		}
	}
	updateAlias := func(name string, version *string, w weights, rev *string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.UpdateAliasInput{FunctionName: aws.String("fx"), Name: aws.String(name), FunctionVersion: version, RevisionId: rev}
			if w != nil {
				in.RoutingConfig = &types.AliasRoutingConfiguration{AdditionalVersionWeights: w}
			}
			_, err := c.UpdateAlias(ctx, in)
			return err
		}
	}
	getAlias := func(fn, name string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(fn), Name: aws.String(name)})
			return err
		}
	}
	deleteAlias := func(name string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("fx"), Name: aws.String(name)})
			return err
		}
	}
	listAliases := func(fn, version string, maxItems *int32) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.ListAliasesInput{FunctionName: aws.String(fn), MaxItems: maxItems}
			if version != "" {
				in.FunctionVersion = aws.String(version)
			}
			_, err := c.ListAliases(ctx, in)
			return err
		}
	}
	const wpath = "routingConfig.additionalVersionWeights"
	aliasARN := arnPrefix + "fx:"

	run(t, s, []tc{
		// CreateAlias: names.
		{"create/all-digit name", createAlias("fx", "123", "1", nil), nil, validation(one(q("123"), "name", pattern(patAlias)))},
		{"create/name pattern", createAlias("fx", "a.b", "1", nil), nil, validation(one(q("a.b"), "name", pattern(patAlias)))},
		{"create/name over 128", createAlias("fx", strings.Repeat("n", 129), "1", nil), nil,
			validation(one(q(strings.Repeat("n", 129)), "name", "Member must have length less than or equal to 128"))},
		{"create/FunctionVersion pattern", createAlias("fx", "beta", "latest", nil), nil, validation(one(q("latest"), "functionVersion", pattern(patVersion)))},
		{"create/required members missing", nil, &rawReq{method: "POST", target: "/2015-03-31/functions/fx/aliases", body: `{}`},
			validation("2 validation errors detected: " + viol("null", "name", "Member must not be null") + "; " + viol("null", "functionVersion", "Member must not be null"))},
		{"create/malformed JSON", nil, &rawReq{method: "POST", target: "/2015-03-31/functions/fx/aliases", body: `{"Name":"beta"`}, badContent()},
		{"create/weight is a string", nil, &rawReq{method: "POST", target: "/2015-03-31/functions/fx/aliases",
			body: `{"Name":"beta","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":"half"}}}`}, badContent()},
		{"create/exists", createAlias("fx", "live", "2", nil), nil, conflict("Alias already exists: " + aliasARN + "live")},
		{"create/qualified function name", createAlias("fx:1", "beta", "1", nil), nil, invalidAny()},
		{"create/missing function", createAlias("nope", "beta", "1", nil), nil, fnNotFound("nope:1")},
		{"create/missing function, $LATEST", createAlias("nope", "beta", "$LATEST", nil), nil, fnNotFound("nope:$LATEST")},
		{"create/missing version", createAlias("fx", "beta", "9", nil), nil, fnNotFound("fx:9")},

		// RoutingConfig rules in order (management.md §7).
		{"routing 1/weight above 1", createAlias("fx", "beta", "1", weights{"3": 1.5}), nil,
			validation(one("'{3=1.5}'", wpath, msgMapValue))},
		{"routing 1/weight below 0", createAlias("fx", "beta", "1", weights{"2": -0.5}), nil,
			validation(one("'{2=-0.5}'", wpath, msgMapValue))},
		{"routing 1/weight null", nil, &rawReq{method: "POST", target: "/2015-03-31/functions/fx/aliases",
			body: `{"Name":"beta","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":null}}}`},
			validation(one("'{2=null}'", wpath, msgMapValue))},
		{"routing 1/key $LATEST", createAlias("fx", "beta", "1", weights{"$LATEST": 0.5}), nil,
			validation(one("'{$LATEST=0.5}'", wpath, msgMapKeys))},
		{"routing 1/key not a number", createAlias("fx", "beta", "1", weights{"live": 0.5}), nil,
			validation(one("'{live=0.5}'", wpath, msgMapKeys))},
		{"routing 1 before 2", createAlias("fx", "beta", "1", weights{"2": 0.5, "3": 1.5}), nil,
			validation(one("'{2=0.5, 3=1.5}'", wpath, msgMapValue))},
		{"routing 1 before 5 (missing function)", createAlias("nope", "beta", "1", weights{"2": 2}), nil,
			validation(one("'{2=2.0}'", wpath, msgMapValue))},
		{"routing 2/two entries", createAlias("fx", "beta", "1", weights{"2": 0.5, "3": 0.25}), nil,
			invalid("Number of items in AdditionalVersionWeights cannot be greater than 1")},
		{"routing 2 before 4", createAlias("fx", "beta", "1", weights{"1": 0.5, "2": 0.25}), nil,
			invalid("Number of items in AdditionalVersionWeights cannot be greater than 1")},
		{"routing 2 before 5", createAlias("nope", "beta", "1", weights{"2": 0.5, "3": 0.25}), nil,
			invalid("Number of items in AdditionalVersionWeights cannot be greater than 1")},
		{"routing 3/$LATEST with weights", createAlias("fx", "beta", "$LATEST", weights{"2": 0.5}), nil,
			invalid("$LATEST is not supported for an alias pointing to more than 1 version")},
		{"routing 3 before 5", createAlias("nope", "beta", "$LATEST", weights{"2": 0.5}), nil,
			invalid("$LATEST is not supported for an alias pointing to more than 1 version")},
		{"routing 4/weighted version is the target", createAlias("fx", "beta", "1", weights{"1": 0.5}), nil,
			invalid("Invalid function version 1. Function version 1 is already included in routing configuration.")},
		{"routing 4 before 5", createAlias("fx", "beta", "9", weights{"9": 0.5}), nil,
			invalid("Invalid function version 9. Function version 9 is already included in routing configuration.")},
		{"routing 5/weighted version missing", createAlias("fx", "beta", "1", weights{"7": 0.5}), nil, fnNotFound("fx:7")},
		{"routing 5/target missing", createAlias("fx", "beta", "8", weights{"2": 0.5}), nil, fnNotFound("fx:8")},
		{"routing 5/function missing", createAlias("nope", "beta", "1", weights{"2": 0.5}), nil, fnNotFound("nope:1")},

		// GetAlias / UpdateAlias / DeleteAlias / ListAliases.
		{"get/missing alias", getAlias("fx", "ghost"), nil, notFound("Cannot find alias arn: " + aliasARN + "ghost")},
		{"get/all-digit name", getAlias("fx", "1"), nil, validation(one(q("1"), "name", pattern(patAlias)))},
		{"get/qualified function name", getAlias("fx:1", "live"), nil, invalidAny()},
		{"get/missing function", getAlias("nope", "live"), nil, want{code: errNotFound, status: 404, free: true}},
		{"update/missing alias", updateAlias("ghost", aws.String("1"), nil, nil), nil, notFound("Alias not found: " + aliasARN + "ghost")},
		{"update/stale RevisionId", updateAlias("live", aws.String("2"), nil, aws.String("stale")), nil, precondition()},
		{"update/FunctionVersion pattern", updateAlias("live", aws.String("v2"), nil, nil), nil, validation(one(q("v2"), "functionVersion", pattern(patVersion)))},
		{"update/missing version", updateAlias("live", aws.String("9"), nil, nil), nil, fnNotFound("fx:9")},
		{"update/routing 1", updateAlias("live", nil, weights{"2": 1.01}, nil), nil, validation(one("'{2=1.01}'", wpath, msgMapValue))},
		{"update/routing 2", updateAlias("live", nil, weights{"2": 0.5, "3": 0.5}, nil), nil,
			invalid("Number of items in AdditionalVersionWeights cannot be greater than 1")},
		{"update/routing 3", updateAlias("live", aws.String("$LATEST"), weights{"2": 0.5}, nil), nil,
			invalid("$LATEST is not supported for an alias pointing to more than 1 version")},
		{"update/routing 4 against the current target", updateAlias("live", nil, weights{"1": 0.5}, nil), nil,
			invalid("Invalid function version 1. Function version 1 is already included in routing configuration.")},
		{"update/routing 5", updateAlias("live", nil, weights{"5": 0.5}, nil), nil, fnNotFound("fx:5")},
		{"update/malformed JSON", nil, &rawReq{method: "PUT", target: "/2015-03-31/functions/fx/aliases/live", body: `{`}, badContent()},
		{"delete/missing alias is 204", deleteAlias("ghost"), nil, want{}},
		{"delete/all-digit name", deleteAlias("12"), nil, validation(one(q("12"), "name", pattern(patAlias)))},
		{"list/FunctionVersion pattern", listAliases("fx", "one", nil), nil, validation(one(q("one"), "functionVersion", pattern(patVersion)))},
		{"list/missing function", listAliases("nope", "", nil), nil, fnNotFound("nope")},
		{"list/MaxItems 0", listAliases("fx", "", aws.Int32(0)), nil, validation(one(q("0"), "maxItems", "Member must have value greater than or equal to 1"))},
		{"list/MaxItems 10001", listAliases("fx", "", aws.Int32(10001)), nil, validation(one(q("10001"), "maxItems", "Member must have value less than or equal to 10000"))},
		{"list/MaxItems abc", nil, &rawReq{method: "GET", target: "/2015-03-31/functions/fx/aliases?MaxItems=abc"},
			want{code: errValidation, status: 400, free: true, prefix: "1 validation error detected: Value 'abc' at 'maxItems' failed to satisfy constraint: "}},
		{"list/unknown Marker", nil, &rawReq{method: "GET", target: "/2015-03-31/functions/fx/aliases?Marker=%21%21"}, invalidAny()},
	})

	t.Run("current RevisionId accepted", func(t *testing.T) {
		out, err := c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String("fx"), Name: aws.String("live"), RevisionId: live.RevisionId, Description: aws.String("d")})
		if err != nil {
			t.Fatalf("UpdateAlias with the current RevisionId: %v", err)
		}
		_, err = c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String("fx"), Name: aws.String("live"), RevisionId: live.RevisionId})
		precondition().sdk(t, err)
		if aws.ToString(out.RevisionId) == aws.ToString(live.RevisionId) {
			t.Errorf("RevisionId did not change")
		}
	})
}

// --- reserved concurrency -----------------------------------------------------

func TestConcurrencyErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	ok := setupOK(t)
	mustCreate(t, s.Client, "fx", nil)
	mustCreate(t, s.Client, "other", nil)
	ctx := context.Background()
	ok(s.Client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("other"), ReservedConcurrentExecutions: aws.Int32(300)}))

	put := func(fn string, n int32) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(fn), ReservedConcurrentExecutions: aws.Int32(n)})
			return err
		}
	}
	get := func(fn string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(fn)})
			return err
		}
	}
	del := func(fn string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String(fn)})
			return err
		}
	}
	run(t, s, []tc{
		{"put/qualified name", put("fx:1", 5), nil, invalid(msgConcQual)},
		{"put/$LATEST", put("fx:$LATEST", 5), nil, invalid(msgConcQual)},
		{"put/qualified ARN", put(arnPrefix+"fx:live", 5), nil, invalid(msgConcQual)},
		{"get/qualified name", get("fx:live"), nil, invalid(msgConcQual)},
		{"delete/qualified name", del("fx:1"), nil, invalid(msgConcQual)},
		{"put/negative", put("fx", -1), nil, validation(one(q("-1"), "reservedConcurrentExecutions", "Member must have value greater than or equal to 0"))},
		{"put/below the unreserved minimum", put("fx", 601), nil, invalid(msgConcMin)},
		{"put/over the account limit", put("fx", 1001), nil, invalid(msgConcMin)},
		{"put/missing function", put("nope", 5), nil, fnNotFound("nope:$LATEST")},
		{"get/missing function", get("nope"), nil, fnNotFound("nope")},
		{"delete/missing function", del("nope"), nil, fnNotFound("nope:$LATEST")},
		{"put/name pattern", put("f.x", 5), nil, validation(one(q("f.x"), "functionName", pattern(patFunctionName)))},
		{"put/ARN of another account", put("arn:aws:lambda:us-east-1:111111111111:function:fx", 5), nil, denied()},
		{"put/member missing", nil, &rawReq{method: "PUT", target: "/2017-10-31/functions/fx/concurrency", body: `{}`},
			validation(one("null", "reservedConcurrentExecutions", "Member must not be null"))},
		{"put/member is a string", nil, &rawReq{method: "PUT", target: "/2017-10-31/functions/fx/concurrency", body: `{"ReservedConcurrentExecutions":"5"}`}, badContent()},
	})
	// Exactly the minimum left unreserved is accepted.
	if _, err := s.Client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("fx"), ReservedConcurrentExecutions: aws.Int32(600)}); err != nil {
		t.Fatalf("reserving down to the minimum: %v", err)
	}
}

// --- List operations ---------------------------------------------------------------

func TestListErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	mustCreate(t, s.Client, "fx", nil)
	listFunctions := func(in lambda.ListFunctionsInput) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.ListFunctions(ctx, &in)
			return err
		}
	}
	listVersions := func(fn string, in lambda.ListVersionsByFunctionInput) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in.FunctionName = aws.String(fn)
			_, err := c.ListVersionsByFunction(ctx, &in)
			return err
		}
	}
	min1 := func(v string) want {
		return validation(one(q(v), "maxItems", "Member must have value greater than or equal to 1"))
	}
	max10000 := validation(one(q("10001"), "maxItems", "Member must have value less than or equal to 10000"))
	notInt := want{code: errValidation, status: 400, free: true, prefix: "1 validation error detected: Value 'abc' at 'maxItems' failed to satisfy constraint: "}

	run(t, s, []tc{
		{"functions/MaxItems 0", listFunctions(lambda.ListFunctionsInput{MaxItems: aws.Int32(0)}), nil, min1("0")},
		{"functions/MaxItems -1", listFunctions(lambda.ListFunctionsInput{MaxItems: aws.Int32(-1)}), nil, min1("-1")},
		{"functions/MaxItems 10001", listFunctions(lambda.ListFunctionsInput{MaxItems: aws.Int32(10001)}), nil, max10000},
		{"functions/MaxItems abc", nil, &rawReq{method: "GET", target: "/2015-03-31/functions?MaxItems=abc"}, notInt},
		{"functions/FunctionVersion", listFunctions(lambda.ListFunctionsInput{FunctionVersion: "LATEST"}), nil,
			validation(one(q("LATEST"), "functionVersion", "Member must satisfy enum value set: [ALL]"))},
		{"functions/unknown Marker", listFunctions(lambda.ListFunctionsInput{Marker: aws.String("not a marker!")}), nil, invalidAny()},
		{"functions/MasterRegion without ALL", listFunctions(lambda.ListFunctionsInput{MasterRegion: aws.String("us-east-1")}), nil, invalidAny()},
		{"versions/MaxItems 0", listVersions("fx", lambda.ListVersionsByFunctionInput{MaxItems: aws.Int32(0)}), nil, min1("0")},
		{"versions/MaxItems 10001", listVersions("fx", lambda.ListVersionsByFunctionInput{MaxItems: aws.Int32(10001)}), nil, max10000},
		{"versions/MaxItems abc", nil, &rawReq{method: "GET", target: "/2015-03-31/functions/fx/versions?MaxItems=abc"}, notInt},
		{"versions/unknown Marker", listVersions("fx", lambda.ListVersionsByFunctionInput{Marker: aws.String("@@")}), nil, invalidAny()},
		{"versions/missing function", listVersions("nope", lambda.ListVersionsByFunctionInput{}), nil, fnNotFound("nope")},
		{"versions/qualified name", listVersions("fx:1", lambda.ListVersionsByFunctionInput{}), nil, invalidAny()},
		{"versions/ARN of another region", listVersions("arn:aws:lambda:us-west-1:000000000000:function:fx", lambda.ListVersionsByFunctionInput{}), nil,
			notFound("Functions from 'us-west-1' are not reachable in this region ('us-east-1')")},
	})

	// MasterRegion with ALL: lambada has no replicas.
	out, err := s.Client.ListFunctions(context.Background(), &lambda.ListFunctionsInput{MasterRegion: aws.String("us-east-1"), FunctionVersion: types.FunctionVersionAll})
	if err != nil || len(out.Functions) != 0 {
		t.Fatalf("MasterRegion with ALL: %v %+v", err, out)
	}
}

// --- routing and SigV4 through the whole server ---------------------------------------------

func TestUnknownOperationAndSignatureErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	mustCreate(t, s.Client, "fx", nil)
	unknown := want{code: "UnknownOperationException", status: 404, msg: msgUnknownOp}

	cases := []tc{
		{"unknown path", nil, &rawReq{method: "GET", target: "/2015-03-31/nothing"}, unknown},
		{"unknown date prefix", nil, &rawReq{method: "GET", target: "/2015-03-30/functions"}, unknown},
		{"root", nil, &rawReq{method: "GET", target: "/"}, unknown},
		{"unknown method", nil, &rawReq{method: "PATCH", target: "/2015-03-31/functions/fx"}, unknown},
		{"wrong method for the path", nil, &rawReq{method: "POST", target: "/2015-03-31/functions/fx/configuration", body: `{}`}, unknown},
		{"GetFunctionConcurrency on the Put prefix", nil, &rawReq{method: "GET", target: "/2017-10-31/functions/fx/concurrency"}, unknown},
		{"unknown, unsigned", nil, &rawReq{method: "DELETE", target: "/2015-03-31/functions", unsigned: true}, unknown},
		{"no Authorization header", nil, &rawReq{method: "GET", target: "/2015-03-31/functions", unsigned: true},
			want{code: "MissingAuthenticationTokenException", status: 403, msg: msgMissingAuth}},
		{"no Authorization header on CreateFunction", nil, &rawReq{method: "POST", target: "/2015-03-31/functions", unsigned: true,
			body: `{"FunctionName":"new-fn","Role":"` + role + `","Runtime":"provided.al2023","Code":{"ZipFile":"` +
				base64.StdEncoding.EncodeToString(servertest.Zip(t, map[string]string{"bootstrap": "x"})) + `"}}`},
			want{code: "MissingAuthenticationTokenException", status: 403, msg: msgMissingAuth}},
	}
	badClient := func(akid, secret string) *lambda.Client {
		return servertest.NewClient(s.URL(), server.Credentials{AccessKeyID: akid, SecretAccessKey: secret})
	}
	wrongSecret := badClient(s.Creds.AccessKeyID, s.Creds.SecretAccessKey+"x")
	unknownKey := badClient("AKIDUNKNOWN0000000000", s.Creds.SecretAccessKey)
	for _, cl := range []struct {
		name string
		c    *lambda.Client
		want want
	}{
		{"wrong secret", wrongSecret, want{code: "InvalidSignatureException", status: 403, msg: msgBadSig}},
		{"unknown key", unknownKey, want{code: "UnrecognizedClientException", status: 403, msg: msgUnknownKey}},
	} {
		cases = append(cases,
			tc{cl.name + "/ListFunctions", func(ctx context.Context, _ *lambda.Client) error {
				_, err := cl.c.ListFunctions(ctx, &lambda.ListFunctionsInput{})
				return err
			}, nil, cl.want},
			tc{cl.name + "/CreateFunction", func(ctx context.Context, _ *lambda.Client) error {
				_, err := cl.c.CreateFunction(ctx, createInput(t, "new-fn"))
				return err
			}, nil, cl.want},
			tc{cl.name + "/DeleteFunction", func(ctx context.Context, _ *lambda.Client) error {
				_, err := cl.c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("fx")})
				return err
			}, nil, cl.want},
			tc{cl.name + "/UpdateFunctionConfiguration", func(ctx context.Context, _ *lambda.Client) error {
				_, err := cl.c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx"), Timeout: aws.Int32(9)})
				return err
			}, nil, cl.want},
		)
	}
	run(t, s, cases)

	t.Run("unknown operation body", func(t *testing.T) {
		r := call(t, s, rawReq{method: "GET", target: "/2015-03-31/nothing"})
		if string(r.body) != `{"message":"Unknown operation"}` {
			t.Errorf("body %s", r.body)
		}
	})
}

// --- the wire shape, once per category --------------------------------------------

func TestErrorWireShape(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	mustCreate(t, s.Client, "fx", nil)
	zip := base64.StdEncoding.EncodeToString(servertest.Zip(t, map[string]string{"bootstrap": "x"}))
	createBody := func(name string) string {
		return `{"FunctionName":"` + name + `","Role":"` + role + `","Runtime":"provided.al2023","Code":{"ZipFile":"` + zip + `"}}`
	}
	cases := []struct {
		name string
		req  rawReq
		code string
		// members is the exact body; "" for the message means any non-empty text.
		members map[string]string
		status  int
	}{
		{"ValidationException (unmodeled)", rawReq{method: "GET", target: "/2015-03-31/functions?MaxItems=0"}, errValidation,
			map[string]string{"message": one(q("0"), "maxItems", "Member must have value greater than or equal to 1")}, 400},
		{"InvalidParameterValueException", rawReq{method: "DELETE", target: "/2015-03-31/functions/fx?Qualifier=%24LATEST"}, errInvalid,
			map[string]string{"Type": "User", "message": msgDelLatest}, 400},
		{"InvalidRequestContentException", rawReq{method: "POST", target: "/2015-03-31/functions", body: `{`}, errContent,
			map[string]string{"Type": "User", "message": ""}, 400},
		{"ResourceNotFoundException", rawReq{method: "GET", target: "/2015-03-31/functions/nope"}, errNotFound,
			map[string]string{"Type": "User", "Message": "Function not found: " + arnPrefix + "nope"}, 404},
		{"ResourceNotFoundException by ARN", rawReq{method: "GET", target: "/2015-03-31/functions/" + awsEscape(arnPrefix+"nope:$LATEST") + "/configuration"}, errNotFound,
			map[string]string{"Type": "User", "Message": "Function not found: " + arnPrefix + "nope:$LATEST"}, 404},
		{"ResourceConflictException", rawReq{method: "POST", target: "/2015-03-31/functions", body: createBody("fx")}, errConflict,
			map[string]string{"Type": "User", "message": "Function already exist: fx"}, 409},
		{"PreconditionFailedException", rawReq{method: "PUT", target: "/2015-03-31/functions/fx/configuration", body: `{"RevisionId":"x","Timeout":5}`}, errPrecond,
			map[string]string{"Type": "User", "message": msgRevision}, 412},
		{"RequestEntityTooLargeException (unmodeled)", rawReq{method: "POST", target: "/2015-03-31/functions", size: maxCodeBody + 1}, errTooLarge,
			map[string]string{"message": "Request must be smaller than 70167211 bytes for the CreateFunction operation"}, 413},
		{"AccessDeniedException", rawReq{method: "GET", target: "/2015-03-31/functions/" + awsEscape("arn:aws:lambda:us-east-1:111111111111:function:fx")}, errDenied,
			map[string]string{}, 403},
		{"UnknownOperationException", rawReq{method: "GET", target: "/2015-03-31/nothing"}, "UnknownOperationException",
			map[string]string{"message": msgUnknownOp}, 404},
		{"MissingAuthenticationTokenException", rawReq{method: "GET", target: "/2015-03-31/functions", unsigned: true}, "MissingAuthenticationTokenException",
			map[string]string{"message": msgMissingAuth}, 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			unchanged(t, s.Client, func() {
				r := call(t, s, c.req)
				r.commonShape(t)
				if r.status != c.status || r.header.Get("X-Amzn-ErrorType") != c.code {
					t.Errorf("HTTP %d %s, want %d %s", r.status, r.header.Get("X-Amzn-ErrorType"), c.status, c.code)
				}
				body := r.object(t)
				if len(body) != len(c.members) {
					t.Errorf("body %s, want exactly the members %v", r.body, c.members)
				}
				for k, v := range c.members {
					got, ok := body[k].(string)
					if !ok || (v != "" && got != v) || got == "" {
						t.Errorf("member %s = %v, want %q (body %s)", k, body[k], v, r.body)
					}
				}
			})
		})
	}

	// The SDK turns the wire shape into its typed exceptions.
	_, err := s.Client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("nope")})
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) || aws.ToString(rnf.Message) != "Function not found: "+arnPrefix+"nope" || aws.ToString(rnf.Type) != "User" {
		t.Errorf("GetFunction of a missing function: %v", err)
	}
	_, err = s.Client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("fx"), Qualifier: aws.String("$LATEST")})
	var ipv *types.InvalidParameterValueException
	if !errors.As(err, &ipv) || aws.ToString(ipv.Message) != msgDelLatest || aws.ToString(ipv.Type) != "User" {
		t.Errorf("DeleteFunction $LATEST: %v", err)
	}
	_, err = s.Client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx"), RevisionId: aws.String("x")})
	var pf *types.PreconditionFailedException
	if !errors.As(err, &pf) || aws.ToString(pf.Message) != msgRevision {
		t.Errorf("stale RevisionId: %v", err)
	}
	_, err = s.Client.CreateFunction(ctx, createInput(t, "fx"))
	var rc *types.ResourceConflictException
	if !errors.As(err, &rc) || aws.ToString(rc.Message) != "Function already exist: fx" {
		t.Errorf("duplicate CreateFunction: %v", err)
	}
}
