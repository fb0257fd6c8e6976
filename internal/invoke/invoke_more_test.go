package invoke_test

// Shared pieces of the Invoke tests beyond the happy path: raw SigV4-signed
// requests (for inputs the SDK will not send, and to see the wire body),
// error decoding, counters read from the server's metrics, and process
// checks. The cases themselves are in invoke_refusals_test.go,
// invoke_results_test.go and invoke_lifecycle_test.go.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// Texts copied from docs/behaviour/invoke.md, not imported from the server.
const (
	arnPrefix        = "arn:aws:lambda:us-east-1:000000000000:function:"
	msgMismatch      = "The derived qualifier from the function name does not match the specified qualifier."
	msgClientContext = "Client context must be a valid Base64-encoded JSON object."
	msgPayloadPrefix = "Could not parse request body into json: Could not parse payload into json: "
	msgTooLargeSync  = "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
	msgRate          = "Rate Exceeded."
	reasonReserved   = "ReservedFunctionConcurrentInvocationLimitExceeded"
	reasonAccount    = "ConcurrentInvocationLimitExceeded"
	maxSyncPayload   = 6_291_456
	maxEventPayload  = 1_048_576
	maxResponse      = 6_291_556
	docResponseSize  = `{"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}`
)

func enumMsg(value, path, set string) string {
	return "1 validation error detected: Value '" + value + "' at '" + path +
		"' failed to satisfy constraint: Member must satisfy enum value set: [" + set + "]"
}

// apiError returns code, message and HTTP status of an SDK error.
func apiError(err error) (code, msg string, status int) { return servertest.APIError(err) }

// wantErr checks an SDK error; msg "" skips the message, a msg ending in
// "*" is a prefix.
func wantErr(t *testing.T, err error, code string, status int, msg string) {
	t.Helper()
	if err == nil {
		t.Errorf("succeeded, want %s (HTTP %d)", code, status)
		return
	}
	c, m, st := apiError(err)
	ok := c == code && st == status
	switch {
	case msg == "":
	case strings.HasSuffix(msg, "*"):
		ok = ok && strings.HasPrefix(m, strings.TrimSuffix(msg, "*"))
	default:
		ok = ok && m == msg
	}
	if !ok {
		t.Errorf("got %s (HTTP %d) %q\nwant %s (HTTP %d) %q", c, st, m, code, status, msg)
	}
}

// noRetry is the server's client without the SDK's retries (429 and 5xx
// would otherwise be retried and hidden).
func noRetry(s *servertest.Server) *lambda.Client {
	return servertest.NoRetry(s.Client)
}

// rawResp is an answer to a raw request.
type rawResp struct {
	status int
	header http.Header
	body   []byte
}

// object decodes the body as a JSON object.
func (r rawResp) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object (%v): %.300s", err, r.body)
	}
	return m
}

// awsError checks an error answer on the wire: status, X-Amzn-ErrorType,
// the body's Type "User" and its message (exact, or prefix when ending in *).
func (r rawResp) awsError(t *testing.T, status int, code, msg string) map[string]any {
	t.Helper()
	if r.status != status || r.header.Get("X-Amzn-ErrorType") != code {
		t.Fatalf("got HTTP %d %q %.300s, want %d %s", r.status, r.header.Get("X-Amzn-ErrorType"), r.body, status, code)
	}
	m := r.object(t)
	got, _ := m["message"].(string)
	if got == "" {
		got, _ = m["Message"].(string) // casing per exception (docs/behaviour/api-common.md §5.4)
	}
	// Unmodeled exceptions carry no Type (docs/behaviour/api-common.md §5.1), except the
	// invoke paths' 413, which AWS sends with Type User (docs/behaviour/invoke.md §3).
	if code != "ValidationException" && m["Type"] != "User" {
		t.Errorf("Type = %v, want User: %s", m["Type"], r.body)
	}
	if p, ok := strings.CutSuffix(msg, "*"); ok && !strings.HasPrefix(got, p) || !ok && got != msg {
		t.Errorf("message %q, want %q", got, msg)
	}
	return m
}

// rawInvoke sends a SigV4-signed Invoke with the given headers and body.
// query is the raw query string ("" or "Qualifier=x").
func rawInvoke(t *testing.T, s *servertest.Server, name, query string, headers map[string]string, body []byte) rawResp {
	t.Helper()
	return rawInvokeSigned(t, s, name, query, headers, body, body)
}

// rawInvokeSigned is rawInvoke sending body with a signature computed over
// signed: a body changed after signing when they differ.
func rawInvokeSigned(t *testing.T, s *servertest.Server, name, query string, headers map[string]string, body, signed []byte) rawResp {
	t.Helper()
	u := s.URL() + "/2015-03-31/functions/" + name + "/invocations"
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256(signed)
	creds := aws.Credentials{AccessKeyID: s.Creds.AccessKeyID, SecretAccessKey: s.Creds.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("raw invoke: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("raw invoke: reading: %v", err)
	}
	return rawResp{status: resp.StatusCode, header: resp.Header, body: b}
}

// counter sums a lambada counter over all its labels (0 when absent).
func counter(t *testing.T, s *servertest.Server, name string) float64 {
	t.Helper()
	mfs, err := s.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			n += m.GetCounter().GetValue()
		}
	}
	return n
}

// nothingRan asserts that f neither ran an invocation nor started an
// environment.
func nothingRan(t *testing.T, s *servertest.Server, f func()) {
	t.Helper()
	settle(t, s)
	inv, cold := counter(t, s, "lambada_invocations_total"), counter(t, s, "lambada_cold_starts_total")
	f()
	// An invocation is counted when its environment is released, just
	// after the caller was answered: give a stray one time to show.
	time.Sleep(100 * time.Millisecond)
	if d := counter(t, s, "lambada_invocations_total") - inv; d != 0 {
		t.Errorf("%v invocations ran", d)
	}
	if d := counter(t, s, "lambada_cold_starts_total") - cold; d != 0 {
		t.Errorf("%v environments started", d)
	}
}

// settle waits until the invocation counter stops moving (invocations are
// counted when the environment is released, after the caller's answer).
func settle(t *testing.T, s *servertest.Server) {
	t.Helper()
	prev := counter(t, s, "lambada_invocations_total")
	for range 50 {
		time.Sleep(20 * time.Millisecond)
		n := counter(t, s, "lambada_invocations_total")
		if n == prev {
			return
		}
		prev = n
	}
}

// waitCounter polls until counter name reaches want.
func waitCounter(t *testing.T, s *servertest.Server, name string, want float64) {
	t.Helper()
	if err := waitfor.Until(5*time.Second, func() error {
		if n := counter(t, s, name); n != want {
			return fmt.Errorf("%s = %v, want %v", name, n, want)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// ctxInfo is what the echo function's "context" op reports.
type ctxInfo struct {
	RequestID  string `json:"requestId"`
	InvokedArn string `json:"invokedArn"`
	Version    string `json:"version"`
	Name       string `json:"name"`
	Memory     int    `json:"memory"`
	Pid        int    `json:"pid"`
}

// callContext invokes the "context" op (sleeping ms first) and decodes it.
func callContext(t *testing.T, c *lambda.Client, name, qualifier string, ms int) (ctxInfo, *lambda.InvokeOutput) {
	t.Helper()
	in := &lambda.InvokeInput{FunctionName: aws.String(name), Payload: fmt.Appendf(nil, `{"op":"context","ms":%d}`, ms)}
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
	}
	out, err := c.Invoke(context.Background(), in)
	if err != nil {
		t.Errorf("Invoke %s:%s: %v", name, qualifier, err)
		return ctxInfo{}, nil
	}
	var ci ctxInfo
	if out.FunctionError != nil || json.Unmarshal(out.Payload, &ci) != nil || ci.Pid == 0 {
		t.Errorf("Invoke %s:%s: %v %s", name, qualifier, aws.ToString(out.FunctionError), out.Payload)
	}
	return ci, out
}

// pidOf invokes the "pid" op.
func pidOf(t *testing.T, s *servertest.Server, name, qualifier string) int {
	t.Helper()
	ci, _ := callContext(t, s.Client, name, qualifier, 0)
	return ci.Pid
}

// gone reports whether pid no longer runs (absent, or a zombie waiting
// for its parent).
func gone(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) S ...: the state follows the last ')'.
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X')
}

// waitGone polls until every pid is gone.
func waitGone(t *testing.T, within time.Duration, pids ...int) {
	t.Helper()
	waitfor.Eventually(t, within, func() error {
		for _, pid := range pids {
			if !gone(pid) {
				return fmt.Errorf("process %d still runs", pid)
			}
		}
		return nil
	})
}
