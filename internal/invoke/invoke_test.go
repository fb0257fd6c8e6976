package invoke_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
)

const role = "arn:aws:iam::000000000000:role/r"

func create(t *testing.T, s *servertest.Server, name string, mod func(*lambda.CreateFunctionInput)) {
	t.Helper()
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"),
		Code:    &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
	}
	if mod != nil {
		mod(in)
	}
	if _, err := s.Client.CreateFunction(context.Background(), in); err != nil {
		t.Fatalf("CreateFunction %s: %v", name, err)
	}
}

func invoke(t *testing.T, s *servertest.Server, in *lambda.InvokeInput) *lambda.InvokeOutput {
	t.Helper()
	out, err := s.Client.Invoke(context.Background(), in)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	return out
}

func TestInvokeEcho(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	create(t, s, "echo", nil)
	out := invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"op":"echo","x":1}`)})
	if out.StatusCode != 200 || string(out.Payload) != `{"op":"echo","x":1}` || aws.ToString(out.ExecutedVersion) != "$LATEST" || out.FunctionError != nil {
		t.Fatalf("got %d %q %q %v", out.StatusCode, out.Payload, aws.ToString(out.ExecutedVersion), out.FunctionError)
	}
	// Warm reuse: the same process serves the next calls.
	var a, b struct{ Pid int }
	_ = json.Unmarshal(invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"op":"pid"}`)}).Payload, &a)
	_ = json.Unmarshal(invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"op":"pid"}`)}).Payload, &b)
	if a.Pid == 0 || a.Pid != b.Pid {
		t.Fatalf("not reused: %d then %d", a.Pid, b.Pid)
	}
}

func TestInvokeTailAndContext(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	create(t, s, "ctx", nil)
	cc := base64.StdEncoding.EncodeToString([]byte(`{"custom":{"tenant":"t-42"},"env":{"k":"v"}}`))
	out := invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("ctx"), Payload: []byte(`{"op":"context"}`),
		ClientContext: aws.String(cc), LogType: types.LogTypeTail})
	var got struct {
		RequestID     string `json:"requestId"`
		InvokedArn    string `json:"invokedArn"`
		ClientContext struct {
			Custom map[string]string `json:"custom"`
			Env    map[string]string `json:"env"`
		} `json:"clientContext"`
		Version string `json:"version"`
		TraceID string `json:"traceId"`
	}
	if err := json.Unmarshal(out.Payload, &got); err != nil {
		t.Fatalf("%v: %s", err, out.Payload)
	}
	if got.ClientContext.Custom["tenant"] != "t-42" || got.ClientContext.Env["k"] != "v" ||
		got.InvokedArn != "arn:aws:lambda:us-east-1:000000000000:function:ctx" || got.Version != "$LATEST" ||
		!strings.HasPrefix(got.TraceID, "Root=1-") {
		t.Fatalf("context %+v", got)
	}
	logs, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if err != nil {
		t.Fatal(err)
	}
	l := string(logs)
	for _, want := range []string{"echo init line", "START RequestId: " + got.RequestID + " Version: $LATEST", "END RequestId: " + got.RequestID, "REPORT RequestId: " + got.RequestID, "Init Duration: "} {
		if !strings.Contains(l, want) {
			t.Errorf("tail lacks %q:\n%s", want, l)
		}
	}
	// Warm: no Init Duration; function lines in the tail; the newest 4 KB kept.
	lines := make([]string, 200)
	for i := range lines {
		lines[i] = strings.Repeat("L", 30)
	}
	ev, _ := json.Marshal(map[string]any{"op": "log", "lines": append(lines, "LAST-LINE")})
	out = invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("ctx"), Payload: ev, LogType: types.LogTypeTail})
	logs, _ = base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if len(logs) != 4096 || strings.Contains(string(logs), "Init Duration") || !strings.Contains(string(logs), "LAST-LINE") ||
		!strings.HasSuffix(string(logs), "\t\n") && !strings.HasSuffix(string(logs), "\t") {
		t.Fatalf("warm tail (%d bytes):\n%s", len(logs), logs)
	}
}

func TestInvokeFunctionErrors(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	create(t, s, "err", nil)
	out := invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("err"), Payload: []byte(`{"op":"error","msg":"boom m1"}`)})
	if out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" || string(out.Payload) != `{"errorMessage":"boom m1","errorType":"customErr"}` {
		t.Fatalf("error: %d %v %s", out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
	}
	out = invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("err"), Payload: []byte(`{"op":"exit","code":3}`)})
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorType":"Runtime.ExitError"`) ||
		!strings.Contains(string(out.Payload), "Runtime exited with error: exit status 3") {
		t.Fatalf("exit: %s", out.Payload)
	}
	// The crashed environment is replaced: the next call works.
	out = invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("err"), Payload: []byte(`{"op":"echo"}`)})
	if out.FunctionError != nil {
		t.Fatalf("after crash: %s", out.Payload)
	}
}

func TestInvokeTimeout(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	create(t, s, "slow", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(1) })
	var before struct{ Pid int }
	_ = json.Unmarshal(invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("slow"), Payload: []byte(`{"op":"pid"}`)}).Payload, &before)
	out := invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("slow"), Payload: []byte(`{"op":"sleep","ms":3000}`)})
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `Task timed out after 1.00 seconds`) ||
		!strings.Contains(string(out.Payload), `"errorType":"Sandbox.Timedout"`) {
		t.Fatalf("timeout: %s", out.Payload)
	}
	var after struct{ Pid int }
	_ = json.Unmarshal(invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("slow"), Payload: []byte(`{"op":"pid"}`)}).Payload, &after)
	if after.Pid == 0 || after.Pid == before.Pid {
		t.Fatalf("timed-out environment reused: %d", after.Pid)
	}
}
