package runtimes_test

// Helpers for the Node.js runtime tests (node_test.go). Names carry a node
// prefix: the Python tests share this package.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

const nodeRole = "arn:aws:iam::000000000000:role/r"

// nodeCreate creates a function from testdata/functions/node/<dir>.
func nodeCreate(t *testing.T, c *lambda.Client, name, dir, handler string, runtime types.Runtime) {
	t.Helper()
	if runtime == "" {
		runtime = types.RuntimeNodejs20x
	}
	_, err := c.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(nodeRole), Runtime: runtime,
		Handler: aws.String(handler),
		Code:    &types.FunctionCode{ZipFile: servertest.FolderFunction(t, "node/"+dir)},
	})
	if err != nil {
		t.Fatalf("CreateFunction %s: %v", name, err)
	}
}

// nodeInvoke calls name synchronously with a Tail log.
func nodeInvoke(t *testing.T, c *lambda.Client, name, payload string, mod ...func(*lambda.InvokeInput)) *lambda.InvokeOutput {
	t.Helper()
	in := &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(payload), LogType: types.LogTypeTail}
	for _, m := range mod {
		m(in)
	}
	out, err := c.Invoke(context.Background(), in)
	if err != nil {
		t.Fatalf("Invoke %s %s: %v", name, payload, err)
	}
	if out.StatusCode != 200 {
		t.Fatalf("Invoke %s %s: status %d", name, payload, out.StatusCode)
	}
	return out
}

// nodeOK invokes and decodes a successful result into v.
func nodeOK(t *testing.T, c *lambda.Client, name, payload string, v any, mod ...func(*lambda.InvokeInput)) *lambda.InvokeOutput {
	t.Helper()
	out := nodeInvoke(t, c, name, payload, mod...)
	if out.FunctionError != nil {
		t.Fatalf("Invoke %s %s: %s %s\n%s", name, payload, aws.ToString(out.FunctionError), out.Payload, nodeTail(t, out.LogResult))
	}
	if v != nil {
		if err := json.Unmarshal(out.Payload, v); err != nil {
			t.Fatalf("Invoke %s %s: %v: %s", name, payload, err, out.Payload)
		}
	}
	return out
}

// nodeErrDoc is the error document AWS's Node.js runtime posts.
type nodeErrDoc struct {
	ErrorType    string   `json:"errorType"`
	ErrorMessage string   `json:"errorMessage"`
	Trace        []string `json:"trace"`
}

// nodeFail invokes expecting an Unhandled function error and decodes it,
// insisting on exactly the keys errorType, errorMessage, trace.
func nodeFail(t *testing.T, c *lambda.Client, name, payload string) (nodeErrDoc, *lambda.InvokeOutput) {
	t.Helper()
	out := nodeInvoke(t, c, name, payload)
	if aws.ToString(out.FunctionError) != "Unhandled" {
		t.Fatalf("Invoke %s %s: FunctionError %q, payload %s\n%s", name, payload, aws.ToString(out.FunctionError), out.Payload, nodeTail(t, out.LogResult))
	}
	return nodeDecodeErr(t, out.Payload), out
}

func nodeDecodeErr(t *testing.T, b []byte) nodeErrDoc {
	t.Helper()
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatalf("error document %s: %v", b, err)
	}
	for k := range keys {
		if k != "errorType" && k != "errorMessage" && k != "trace" {
			t.Errorf("error document %s: unexpected key %q", b, k)
		}
	}
	if _, ok := keys["trace"]; !ok {
		t.Errorf("error document %s: no trace", b)
	}
	var doc nodeErrDoc
	_ = json.Unmarshal(b, &doc)
	return doc
}

func nodeTail(t *testing.T, s *string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(aws.ToString(s))
	if err != nil {
		t.Fatalf("LogResult %q: %v", aws.ToString(s), err)
	}
	return string(b)
}

func nodeStream(t *testing.T, c *lambda.Client, name, payload string) *servertest.Streamed {
	t.Helper()
	r, err := servertest.ReadStream(t, c, &lambda.InvokeWithResponseStreamInput{
		FunctionName: aws.String(name), Payload: []byte(payload), LogType: types.LogTypeTail,
	})
	if err != nil {
		t.Fatalf("InvokeWithResponseStream %s %s: %v", name, payload, err)
	}
	return r
}

// nodeLoggedPid finds the "pid <n>" line a handler logged in a log tail.
func nodeLoggedPid(t *testing.T, log string) int {
	t.Helper()
	m := regexp.MustCompile(`\tINFO\tpid (\d+)\n`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no pid line in\n%s", log)
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}

// nodeWaitGone waits until process pid ended (absent or a zombie).
func nodeWaitGone(t *testing.T, pid int) {
	t.Helper()
	waitfor.True(t, 5*time.Second, fmt.Sprintf("process %d gone", pid), func() bool {
		if syscall.Kill(pid, 0) != nil {
			return true
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		i := bytes.LastIndexByte(b, ')')
		return i > 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X')
	})
}
