package urls_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

const role = "arn:aws:iam::000000000000:role/lambda-role"

// Texts from the reference (docs/behaviour/function-urls.md §8), not from the server.
const (
	bodyForbidden = `{"Message":"Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}`
	bodyUnknown   = `{"Message":null}`
	bodyTooLarge  = `{"Message":"Request must be smaller than 6291456 bytes for the InvokeFunction operation"}`
	bodyThrottled = `{"Message":"Rate Exceeded."}`
)

// client is a plain net/http client that reaches every host name on the
// test server, as a resolver mapping *.localhost to loopback does.
func client(s *servertest.Server) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, s.Addr())
			},
			DisableCompression: true,
		},
	}
}

// fixture is a server with the urlfn function.
type fixture struct {
	s    *servertest.Server
	c    *lambda.Client
	http *http.Client
}

func start(t *testing.T) *fixture {
	t.Helper()
	return startWith(t, servertest.Options{})
}

func startWith(t *testing.T, opt servertest.Options) *fixture {
	t.Helper()
	s := servertest.Start(t, opt)
	f := &fixture{s: s, c: s.Client, http: client(s)}
	return f
}

func (f *fixture) function(t *testing.T, name string, mod func(*lambda.CreateFunctionInput)) {
	t.Helper()
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "urlfn")},
	}
	if mod != nil {
		mod(in)
	}
	if _, err := f.c.CreateFunction(context.Background(), in); err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
}

// url creates a URL config and returns its FunctionUrl.
func (f *fixture) url(t *testing.T, in *lambda.CreateFunctionUrlConfigInput) string {
	t.Helper()
	out, err := f.c.CreateFunctionUrlConfig(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateFunctionUrlConfig: %v", err)
	}
	return aws.ToString(out.FunctionUrl)
}

// public adds the two statements a NONE URL needs (§5).
func (f *fixture) public(t *testing.T, name, qualifier string) {
	t.Helper()
	for _, in := range []*lambda.AddPermissionInput{
		{StatementId: aws.String("url"), Action: aws.String("lambda:InvokeFunctionUrl"), Principal: aws.String("*"), FunctionUrlAuthType: types.FunctionUrlAuthTypeNone},
		{StatementId: aws.String("invoke"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("*"), InvokedViaFunctionUrl: aws.Bool(true)},
	} {
		in.FunctionName = aws.String(name)
		if qualifier != "" {
			in.Qualifier = aws.String(qualifier)
		}
		if _, err := f.c.AddPermission(context.Background(), in); err != nil {
			t.Fatalf("AddPermission: %v", err)
		}
	}
}

type answer struct {
	status int
	header http.Header
	body   string
}

// do sends a request to base+path (base is a FunctionUrl ending in "/").
func (f *fixture) do(t *testing.T, method, target string, hdr map[string]string, body io.Reader) answer {
	t.Helper()
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if strings.EqualFold(k, "host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := f.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", target, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (a answer) expect(t *testing.T, status int, body string) {
	t.Helper()
	if a.status != status || a.body != body {
		t.Fatalf("got %d %q, want %d %q", a.status, a.body, status, body)
	}
}

// errorRow checks one row of the error table (§8).
func (a answer) errorRow(t *testing.T, status int, errType, body string) {
	t.Helper()
	a.expect(t, status, body)
	if got := a.header.Get("X-Amzn-Errortype"); got != errType {
		t.Fatalf("x-amzn-ErrorType %q, want %q", got, errType)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	if a.header.Get("X-Amzn-Requestid") == "" {
		t.Fatal("no x-amzn-RequestId")
	}
}

func (a answer) event(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(a.body), &m); err != nil {
		t.Fatalf("not an event: %v: %s", err, a.body)
	}
	return m
}

// pathStyle turns a FunctionUrl into its path-style address on the server.
func pathStyle(s *servertest.Server, functionURL string) string {
	u, _ := url.Parse(functionURL)
	id, _, _ := strings.Cut(u.Hostname(), ".")
	return s.URL() + "/_lambda-url/" + id + "/"
}

// invocations reads lambada_invocations_total of a function.
func (f *fixture) invocations(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := f.s.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "lambada_invocations_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "function_name" && l.GetValue() == name {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// waitInvocations polls until the function has completed n invocations.
func (f *fixture) waitInvocations(t *testing.T, name string, n float64) {
	t.Helper()
	waitfor.Eventually(t, 20*time.Second, func() error {
		if got := f.invocations(t, name); got < n {
			return fmt.Errorf("%s: %v invocations completed, want %v", name, got, n)
		}
		return nil
	})
}
