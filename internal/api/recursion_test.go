package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/syncbuf"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// hopSink collects the hops the caller test function reports.
type hopSink struct {
	*httptest.Server
	mu   sync.Mutex
	hops []hop
}

type hop struct {
	Function string
	Depth    int
	Trace    string
}

func newHopSink(t *testing.T) *hopSink {
	h := &hopSink{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var x hop
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &x)
		h.mu.Lock()
		h.hops = append(h.hops, x)
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hopSink) count(fn string) (n, maxDepth int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	maxDepth = -1
	for _, x := range h.hops {
		if fn == "" || x.Function == fn {
			n++
			maxDepth = max(maxDepth, x.Depth)
		}
	}
	return n, maxDepth
}

func createCaller(t *testing.T, c *lambda.Client, name string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Timeout: aws.Int32(60),
		Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "caller")},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String(name), MaximumRetryAttempts: aws.Int32(0),
	}); err != nil {
		t.Fatal(err)
	}
}

// droppedMetric reads lambada_recursive_invocations_dropped_total for fn.
func droppedMetric(t *testing.T, s *servertest.Server, fn string) int {
	t.Helper()
	b := s.MetricsText(t)
	m := regexp.MustCompile(`lambada_recursive_invocations_dropped_total\{function_name="` + fn + `"\} (\d+)`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	var n int
	fmt.Sscan(string(m[1]), &n)
	return n
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	waitfor.True(t, d, what, ok)
}

func TestRecursiveLoops(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()

	t.Run("async self-loop stops after 16", func(t *testing.T) {
		sink := newHopSink(t)
		createCaller(t, c, "selfloop")
		payload := fmt.Sprintf(`{"next":["selfloop"],"mode":"async","max":40,"url":%q}`, sink.URL)
		if _, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("selfloop"), InvocationType: types.InvocationTypeEvent, Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
		// 17 attempts one after another, each event arriving while the
		// attempt that sent it still holds the function's fair share, so
		// put back for up to a second (≈ 15 s on an idle machine; the full
		// suite under -race has taken over 60 s).
		waitFor(t, 150*time.Second, "the drop in /metrics", func() bool { return droppedMetric(t, s, "selfloop") == 1 })
		time.Sleep(300 * time.Millisecond) // nothing more may run
		n, maxDepth := sink.count("selfloop")
		if n < 16 || n > 20 || maxDepth != n-1 {
			t.Fatalf("%d hops (deepest %d), want 16-20", n, maxDepth)
		}
		if n != 16 {
			t.Errorf("%d hops: lambada counts exactly 16", n)
		}
		sink.mu.Lock()
		root := strings.Split(sink.hops[0].Trace, ";")[0]
		for _, h := range sink.hops {
			if !strings.HasPrefix(h.Trace, root+";") || !strings.Contains(h.Trace, ";Lineage=") {
				t.Errorf("hop %d trace %q is not the chain of %s", h.Depth, h.Trace, root)
			}
		}
		sink.mu.Unlock()
	})

	t.Run("Allow lets the loop run", func(t *testing.T) {
		sink := newHopSink(t)
		createCaller(t, c, "allowed")
		out, err := c.PutFunctionRecursionConfig(ctx, &lambda.PutFunctionRecursionConfigInput{
			FunctionName: aws.String("allowed"), RecursiveLoop: types.RecursiveLoopAllow,
		})
		if err != nil || out.RecursiveLoop != types.RecursiveLoopAllow {
			t.Fatalf("%v %v", err, out)
		}
		payload := fmt.Sprintf(`{"next":["allowed"],"mode":"async","max":30,"url":%q}`, sink.URL)
		if _, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("allowed"), InvocationType: types.InvocationTypeEvent, Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 60*time.Second, "31 hops", func() bool { n, _ := sink.count("allowed"); return n >= 31 })
		if d := droppedMetric(t, s, "allowed"); d != 0 {
			t.Fatalf("%d dropped under Allow", d)
		}
	})

	t.Run("sync chain a→b→a ends with RecursiveInvocationException", func(t *testing.T) {
		sink := newHopSink(t)
		createCaller(t, c, "ping")
		createCaller(t, c, "pong")
		payload := fmt.Sprintf(`{"next":["pong","ping"],"mode":"sync","max":60,"url":%q}`, sink.URL)
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("ping"), Payload: []byte(payload)})
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ ErrorMessage string }
		_ = json.Unmarshal(out.Payload, &doc)
		want := "RecursiveInvocationException at depth 32: Lambda has detected your function being invoked in a recursive loop with other AWS resources and stopped your function's invocation."
		if aws.ToString(out.FunctionError) != "Unhandled" || doc.ErrorMessage != want {
			t.Fatalf("caller got %v %s", aws.ToString(out.FunctionError), out.Payload)
		}
		if n, _ := sink.count("ping"); n != 16 {
			t.Errorf("ping ran %d times, want 16", n)
		}
		if n, _ := sink.count("pong"); n != 16 {
			t.Errorf("pong ran %d times, want 16", n)
		}
		if d := droppedMetric(t, s, "ping"); d != 1 {
			t.Errorf("dropped metric for ping %d, want 1", d)
		}
	})

	t.Run("an external trace header continues its chain", func(t *testing.T) {
		createEcho(t, c, "traced")
		// 16 hops of "traced" already in the incoming chain: the next is stopped.
		s1 := servertest.NoRetry(c)
		out, err := s1.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("traced"), Payload: []byte(`{"op":"context"}`)})
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ TraceID string }
		_ = json.Unmarshal(out.Payload, &got)
		if !strings.Contains(got.TraceID, ";Lineage=") {
			t.Fatalf("trace %q", got.TraceID)
		}
		h := got.TraceID
		for range 15 {
			out, err := s1.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("traced"), Payload: []byte(`{"op":"context"}`)},
				withHeader("X-Amzn-Trace-Id", h))
			if err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal(out.Payload, &got)
			h = got.TraceID
		}
		_, err = s1.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("traced"), Payload: []byte(`{}`)}, withHeader("X-Amzn-Trace-Id", h))
		code, msg, status := servertest.APIError(err)
		if code != "RecursiveInvocationException" || status != 400 ||
			msg != "Lambda has detected your function being invoked in a recursive loop with other AWS resources and stopped your function's invocation." {
			t.Fatalf("17th call: %s %d %q", code, status, msg)
		}
	})
}

// withHeader sets a header on the SDK's request (X-Amzn-Trace-Id is not
// signed, so it may be set after signing).
func withHeader(k, v string) func(*lambda.Options) {
	return func(o *lambda.Options) {
		o.HTTPClient = headerDoer{next: o.HTTPClient, k: k, v: v}
	}
}

type headerDoer struct {
	next interface {
		Do(*http.Request) (*http.Response, error)
	}
	k, v string
}

func (d headerDoer) Do(r *http.Request) (*http.Response, error) {
	r.Header.Set(d.k, d.v)
	return d.next.Do(r)
}

func TestFunctionCredentials(t *testing.T) {
	var logs syncbuf.Buffer
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}})
	c := s.Client
	ctx := context.Background()
	createEcho(t, c, "holder")
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("holder"), Payload: []byte(`{"op":"env"}`)})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("%v %s", err, out.Payload)
	}
	var env map[string]string
	_ = json.Unmarshal(out.Payload, &env)
	if env["AWS_ENDPOINT_URL_LAMBDA"] != s.URL() || !strings.HasPrefix(env["AWS_ACCESS_KEY_ID"], "ASIA") ||
		env["AWS_SESSION_TOKEN"] == "" || len(env["AWS_SECRET_ACCESS_KEY"]) != 40 || env["AWS_ACCESS_KEY"] != env["AWS_ACCESS_KEY_ID"] {
		t.Fatalf("callback environment: %v", env)
	}
	for k, v := range env {
		if strings.Contains(v, s.Creds.SecretAccessKey) || strings.Contains(v, s.Creds.AccessKeyID) {
			t.Fatalf("the server's key pair is in the function's %s", k)
		}
	}
	fc := lambda.New(c.Options(), func(o *lambda.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"])
		o.Retryer = aws.NopRetryer{}
	})
	if _, err := fc.ListFunctions(ctx, &lambda.ListFunctionsInput{}); err != nil {
		t.Fatalf("the function's credentials are refused: %v", err)
	}
	// The call is attributed to the function in the server's log.
	if !regexp.MustCompile(`operation=ListFunctions principal=function:holder `).MatchString(logs.String()) {
		t.Fatalf("no ListFunctions by function:holder in the log:\n%s", logs.String())
	}
	// A forged token or a wrong secret is refused.
	bad := lambda.New(fc.Options(), func(o *lambda.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"]+"x")
	})
	_, err = bad.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	if code, _, status := servertest.APIError(err); code != "UnrecognizedClientException" || status != 403 {
		t.Fatalf("forged token: %s %d", code, status)
	}
	// Deleting the function revokes them, also once a function of the same
	// name exists again.
	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("holder")}); err != nil {
		t.Fatal(err)
	}
	createEcho(t, c, "holder")
	_, err = fc.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	code, msg, status := servertest.APIError(err)
	if code != "UnrecognizedClientException" || status != 403 || msg != "The security token included in the request is invalid." {
		t.Fatalf("deleted function's credentials: %s %d %q", code, status, msg)
	}
}

func TestRecursionConfigAPI(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := servertest.NoRetry(s.Client)
	ctx := context.Background()
	createEcho(t, c, "rc")

	get := func() types.RecursiveLoop {
		t.Helper()
		out, err := c.GetFunctionRecursionConfig(ctx, &lambda.GetFunctionRecursionConfigInput{FunctionName: aws.String("rc")})
		if err != nil {
			t.Fatal(err)
		}
		return out.RecursiveLoop
	}
	if got := get(); got != types.RecursiveLoopTerminate {
		t.Fatalf("default %q", got)
	}
	arn := "arn:aws:lambda:us-east-1:000000000000:function:rc"
	for _, name := range []string{"rc", arn} {
		out, err := c.PutFunctionRecursionConfig(ctx, &lambda.PutFunctionRecursionConfigInput{FunctionName: aws.String(name), RecursiveLoop: types.RecursiveLoopAllow})
		if err != nil || out.RecursiveLoop != types.RecursiveLoopAllow || get() != types.RecursiveLoopAllow {
			t.Fatalf("%s: %v %v", name, err, out)
		}
	}
	// The setting survives a configuration update.
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("rc"), Timeout: aws.Int32(9)}); err != nil {
		t.Fatal(err)
	}
	if get() != types.RecursiveLoopAllow {
		t.Fatal("lost on update")
	}

	cases := []struct {
		name      string
		call      func() error
		code      string
		status    int
		msg       string
		msgPrefix bool
	}{
		{"bad value", func() error {
			_, err := c.PutFunctionRecursionConfig(ctx, &lambda.PutFunctionRecursionConfigInput{FunctionName: aws.String("rc"), RecursiveLoop: "Sometimes"})
			return err
		}, "ValidationException", 400, "1 validation error detected: Value 'Sometimes' at 'recursiveLoop' failed to satisfy constraint: Member must satisfy enum value set: [Terminate, Allow]", false},
		{"qualified name (Put)", func() error {
			_, err := c.PutFunctionRecursionConfig(ctx, &lambda.PutFunctionRecursionConfigInput{FunctionName: aws.String("rc:1"), RecursiveLoop: types.RecursiveLoopAllow})
			return err
		}, "ValidationException", 400, "1 validation error detected: Value 'rc:1' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: ", true},
		{"qualified name (Get)", func() error {
			_, err := c.GetFunctionRecursionConfig(ctx, &lambda.GetFunctionRecursionConfigInput{FunctionName: aws.String(arn + ":$LATEST")})
			return err
		}, "ValidationException", 400, "1 validation error detected: Value '" + arn + ":$LATEST' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: ", true},
		{"unknown function (Put)", func() error {
			_, err := c.PutFunctionRecursionConfig(ctx, &lambda.PutFunctionRecursionConfigInput{FunctionName: aws.String("nope"), RecursiveLoop: types.RecursiveLoopAllow})
			return err
		}, "ResourceNotFoundException", 404, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope", false},
		{"unknown function (Get)", func() error {
			_, err := c.GetFunctionRecursionConfig(ctx, &lambda.GetFunctionRecursionConfigInput{FunctionName: aws.String("nope")})
			return err
		}, "ResourceNotFoundException", 404, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, msg, status := servertest.APIError(tc.call())
			okMsg := msg == tc.msg || (tc.msgPrefix && strings.HasPrefix(msg, tc.msg))
			if code != tc.code || status != tc.status || !okMsg {
				t.Fatalf("got %s %d %q", code, status, msg)
			}
			if get() != types.RecursiveLoopAllow {
				t.Fatal("a refused call changed the setting")
			}
		})
	}

	// A body without RecursiveLoop (the Go SDK refuses to send one) and a
	// body that is not JSON, raw.
	validation("1 validation error detected: Value null at 'recursiveLoop' failed to satisfy constraint: Member must not be null").
		raw(t, call(t, s, rawReq{method: http.MethodPut, target: "/2024-08-31/functions/rc/recursion-config", body: `{}`}))
	badContent().raw(t, call(t, s, rawReq{method: http.MethodPut, target: "/2024-08-31/functions/rc/recursion-config", body: `{"RecursiveLoop":`}))
	if get() != types.RecursiveLoopAllow {
		t.Fatal("a refused call changed the setting")
	}

	// Deleted with the function.
	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("rc")}); err != nil {
		t.Fatal(err)
	}
	createEcho(t, c, "rc")
	if got := get(); got != types.RecursiveLoopTerminate {
		t.Fatalf("after re-creation %q", got)
	}
}
