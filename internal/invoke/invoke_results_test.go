package invoke_test

// What a function sees and what the caller gets back (docs/behaviour/invoke.md
// §3–§5, docs/behaviour/runtime-api.md §5): empty payloads, oversized responses, panics,
// the process environment.

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
)

func TestInvokeEmptyPayload(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	create(t, s, "empty", nil)
	// The echo op is the default: the function returns the event it got.
	for _, p := range [][]byte{nil, {}, []byte(" \n\t ")} {
		out := invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("empty"), Payload: p})
		if out.StatusCode != 200 || out.FunctionError != nil || string(out.Payload) != `{}` {
			t.Errorf("payload %q: %d %v %s", p, out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
		}
	}
	// Any single JSON value is a valid payload, not only objects.
	for _, p := range []string{`null`, `"s"`, `[1]`, ` 42 `} {
		r := rawInvoke(t, s, "empty", "", nil, []byte(p))
		if r.status != 200 {
			t.Errorf("payload %q: HTTP %d %s", p, r.status, r.body)
		}
	}
}

func TestInvokeResponseTooLarge(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	create(t, s, "big", nil)
	// "big" returns a JSON string of n x's: n+2 bytes.
	out := invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("big"), Payload: []byte(`{"op":"big","n":6291555}`)})
	if out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" || aws.ToString(out.ExecutedVersion) != "$LATEST" {
		t.Fatalf("over the limit: %d %v %.200s", out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
	}
	var got, want map[string]any
	_ = json.Unmarshal([]byte(docResponseSize), &want)
	if err := json.Unmarshal(out.Payload, &got); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("document %s, want %s", out.Payload, docResponseSize)
	}
	// Exactly the limit passes through.
	out = invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("big"), Payload: []byte(`{"op":"big","n":6291554}`)})
	if out.FunctionError != nil || len(out.Payload) != maxResponse {
		t.Fatalf("at the limit: %v %d bytes", aws.ToString(out.FunctionError), len(out.Payload))
	}
}

func TestInvokePanic(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	create(t, s, "panic", nil)
	before := pidOf(t, s, "panic", "")
	out := invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("panic"), Payload: []byte(`{"op":"panic","msg":"kaboom"}`), LogType: types.LogTypeTail})
	var doc struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
		StackTrace   []struct {
			Path  string `json:"path"`
			Line  int    `json:"line"`
			Label string `json:"label"`
		} `json:"stackTrace"`
	}
	if out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" || json.Unmarshal(out.Payload, &doc) != nil ||
		doc.ErrorMessage != "kaboom" || doc.ErrorType == "" || len(doc.StackTrace) == 0 || doc.StackTrace[0].Label == "" {
		t.Fatalf("panic: %d %v %s", out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
	}
	if out.LogResult == nil {
		t.Error("no log tail for a function error")
	}
	// aws-lambda-go exits after reporting a panic: the next call is cold.
	after := pidOf(t, s, "panic", "")
	if after == 0 || after == before {
		t.Fatalf("after a panic the same process (%d) served again", after)
	}
	// A returned error keeps the environment warm.
	out = invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("panic"), Payload: []byte(`{"op":"errorstring","msg":"plain"}`)})
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorMessage":"plain"`) {
		t.Fatalf("errorstring: %s", out.Payload)
	}
	if again := pidOf(t, s, "panic", ""); again != after {
		t.Fatalf("a handled error replaced the process: %d then %d", after, again)
	}
}

// TestInvokeEnvironment is not parallel: t.Setenv plants a canary in the
// server's own environment, which must not reach the function.
func TestInvokeEnvironment(t *testing.T) {
	t.Setenv("LAMBADA_CANARY_7F3A", "leaked")
	t.Setenv("HTTPS_PROXY", "http://canary.invalid:1")
	s := servertest.Start(t, servertest.Options{})
	create(t, s, "envfn", func(in *lambda.CreateFunctionInput) {
		in.MemorySize = aws.Int32(256)
		in.Environment = &types.Environment{Variables: map[string]string{"MY_SETTING": "on", "LANG": "C.UTF-8"}}
	})
	out := invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("envfn"), Payload: []byte(`{"op":"env"}`)})
	var env map[string]string
	if err := json.Unmarshal(out.Payload, &env); err != nil {
		t.Fatalf("%v: %s", err, out.Payload)
	}
	want := map[string]string{
		"MY_SETTING":                      "on",
		"LANG":                            "C.UTF-8", // user variables may override the non-reserved rows
		"AWS_LAMBDA_FUNCTION_NAME":        "envfn",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"TZ":                              ":UTC",
		"AWS_REGION":                      "us-east-1",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/envfn",
		"_HANDLER":                        "bootstrap",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if env["LAMBDA_TASK_ROOT"] == "" || env["LAMBDA_TASK_ROOT"] != env["__cwd"] {
		t.Errorf("LAMBDA_TASK_ROOT %q, working directory %q", env["LAMBDA_TASK_ROOT"], env["__cwd"])
	}
	if !strings.HasPrefix(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q", env["AWS_LAMBDA_RUNTIME_API"])
	}
	for _, k := range []string{"_LAMBDA_SERVER_PORT", "AWS_LAMBDA_MAX_CONCURRENCY", "AWS_EXECUTION_ENV", "_LAMBDA_TELEMETRY_LOG_FD",
		"LAMBADA_CANARY_7F3A", "HTTPS_PROXY", "HOME"} {
		if v, ok := env[k]; ok {
			t.Errorf("%s is set (%q)", k, v)
		}
	}
	// Nothing of the server's own environment, and never its secret key.
	for k, v := range env {
		if strings.HasPrefix(k, "LAMBADA_") {
			t.Errorf("server variable %s reached the function", k)
		}
		if strings.Contains(v, s.Creds.SecretAccessKey) {
			t.Errorf("%s carries the server's secret key", k)
		}
		if host, ok := os.LookupEnv(k); ok && host == v && v == "leaked" {
			t.Errorf("%s inherited from the server", k)
		}
	}
	// A published version reports its own number.
	if _, err := s.Client.PublishVersion(context.Background(), &lambda.PublishVersionInput{FunctionName: aws.String("envfn")}); err != nil {
		t.Fatal(err)
	}
	out = invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("envfn"), Qualifier: aws.String("1"), Payload: []byte(`{"op":"env"}`)})
	env = nil
	_ = json.Unmarshal(out.Payload, &env)
	if env["AWS_LAMBDA_FUNCTION_VERSION"] != "1" || aws.ToString(out.ExecutedVersion) != "1" {
		t.Errorf("version 1 sees %q, executed %q", env["AWS_LAMBDA_FUNCTION_VERSION"], aws.ToString(out.ExecutedVersion))
	}
}
