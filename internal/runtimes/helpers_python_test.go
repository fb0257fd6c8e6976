package runtimes_test

// Helpers for the Python runtime tests; names start with py so they do not
// collide with other runtimes' helpers in this package.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
)

const pyRole = "arn:aws:iam::000000000000:role/python-tests"

// pyEnv is a server plus the zipped testdata/functions/python/basic folder.
type pyEnv struct {
	s   *servertest.Server
	zip []byte
}

// pyStart boots a server running python* functions with interpreter
// ("" = python3 from PATH); it skips the test when that is not installed.
func pyStart(t *testing.T, interpreter string) *pyEnv {
	t.Helper()
	name := interpreter
	if name == "" {
		name = "python3"
	}
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not installed: %v", name, err)
	}
	opt := servertest.Options{}
	if interpreter != "" {
		opt.Config = func(c *server.Config) { c.Python = interpreter }
	}
	return &pyEnv{s: servertest.Start(t, opt), zip: servertest.FolderFunction(t, "python/basic")}
}

// create makes function name from the basic folder; it returns its ARN.
func (p *pyEnv) create(t *testing.T, name, handler string, runtime types.Runtime, mod func(*lambda.CreateFunctionInput)) string {
	t.Helper()
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(pyRole), Runtime: runtime,
		Handler: aws.String(handler), Code: &types.FunctionCode{ZipFile: p.zip},
	}
	if mod != nil {
		mod(in)
	}
	out, err := p.s.Client.CreateFunction(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateFunction %s (%s): %v", name, handler, err)
	}
	return aws.ToString(out.FunctionArn)
}

// invoke calls name with payload and the log tail.
func (p *pyEnv) invoke(t *testing.T, name, payload string, mod func(*lambda.InvokeInput)) *lambda.InvokeOutput {
	t.Helper()
	in := &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(payload), LogType: types.LogTypeTail}
	if mod != nil {
		mod(in)
	}
	out, err := p.s.Client.Invoke(context.Background(), in)
	if err != nil {
		t.Fatalf("Invoke %s: %v", name, err)
	}
	if out.StatusCode != 200 {
		t.Fatalf("Invoke %s: status %d", name, out.StatusCode)
	}
	return out
}

// pyOK fails unless out is a success; it returns the payload.
func pyOK(t *testing.T, out *lambda.InvokeOutput) []byte {
	t.Helper()
	if out.FunctionError != nil {
		t.Fatalf("function error %s: %s\nlog:\n%s", aws.ToString(out.FunctionError), out.Payload, pyTail(t, out))
	}
	return out.Payload
}

// pyTail decodes the base64 log tail.
func pyTail(t *testing.T, out *lambda.InvokeOutput) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if err != nil {
		t.Fatalf("LogResult: %v", err)
	}
	return string(b)
}

// pyErrorDoc is the error document AWS's Python runtime posts.
type pyErrorDoc struct {
	ErrorMessage string   `json:"errorMessage"`
	ErrorType    string   `json:"errorType"`
	RequestID    string   `json:"requestId"`
	StackTrace   []string `json:"stackTrace"`
}

// pyFailed checks that out is a function error ("Unhandled") whose payload
// has exactly the four members of a Python error document, and returns it.
func pyFailed(t *testing.T, out *lambda.InvokeOutput) pyErrorDoc {
	t.Helper()
	if aws.ToString(out.FunctionError) != "Unhandled" {
		t.Fatalf("FunctionError %q, want Unhandled; payload %s", aws.ToString(out.FunctionError), out.Payload)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(out.Payload, &keys); err != nil {
		t.Fatalf("error payload %s: %v", out.Payload, err)
	}
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	want := map[string]json.RawMessage{"errorMessage": nil, "errorType": nil, "requestId": nil, "stackTrace": nil}
	for k := range want {
		want[k] = keys[k]
	}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("error document members %v, want errorMessage, errorType, requestId, stackTrace: %s", names, out.Payload)
	}
	var doc pyErrorDoc
	if err := json.Unmarshal(out.Payload, &doc); err != nil {
		t.Fatalf("error payload %s: %v", out.Payload, err)
	}
	if doc.StackTrace == nil {
		t.Errorf("stackTrace is not an array: %s", out.Payload)
	}
	return doc
}

// pyInterpreter finds Python version v ("3.9") on this host: python<v> from
// PATH when it runs, else a pyenv installation of it; it skips the test
// when there is none.
func pyInterpreter(t *testing.T, v string) string {
	t.Helper()
	if out, err := exec.Command("python"+v, "-c", "import sys; print(sys.executable)").Output(); err == nil {
		if p := strings.TrimSpace(string(out)); p != "" {
			return p
		}
	}
	if out, err := exec.Command("pyenv", "root").Output(); err == nil {
		m, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "versions", v+".*", "bin", "python"+v))
		if len(m) > 0 {
			return m[len(m)-1]
		}
	}
	t.Skipf("no python%s on this host", v)
	return ""
}
