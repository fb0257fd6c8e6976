package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/sandbox"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// Debug mode (LAMBADA_DEBUG=1): a 1 s-timeout function paused 3 s still
// answers, REPORT shows the real duration, and a second invocation meanwhile
// is throttled (concurrency 1).
func TestDebugModeSuspendsTimeout(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app.py"), "import time\ndef handler(event, context):\n    time.sleep(event.get('s', 0))\n    return 'done'\n", 0o644)
	mustCreate(t, c, "dbg", func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler, in.Code, in.Timeout = types.RuntimePython312, aws.String("app.handler"), hotCode(dir), aws.Int32(1)
		in.Environment = &types.Environment{Variables: map[string]string{"LAMBADA_DEBUG": "1"}}
	})
	var wg sync.WaitGroup
	var paused *lambda.InvokeOutput
	var pausedErr error
	finished := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(finished)
		paused, pausedErr = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("dbg"), Payload: []byte(`{"s":3}`), LogType: types.LogTypeTail})
	}()
	// Once it runs (it holds the one slot), another invocation is
	// throttled while it is paused. Invoking before it is admitted could
	// take the slot from it.
	if err := waitfor.Until(30*time.Second, func() error {
		if n := s.ConcurrentExecutions(t, "dbg"); n != 1 {
			return fmt.Errorf("%d invocations of dbg running, want the paused one", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	throttled := false
	for !throttled {
		_, err := servertest.NoRetry(c).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("dbg"), Payload: []byte(`{}`)})
		var tmr *types.TooManyRequestsException
		switch {
		case errors.As(err, &tmr):
			throttled = true
		case err != nil:
			t.Fatalf("second invoke: %v", err)
		}
		select {
		case <-finished:
		case <-time.After(20 * time.Millisecond):
			continue
		}
		break
	}
	wg.Wait()
	if !throttled {
		t.Error("a second invocation ran while the first was paused: concurrency is not 1")
	}
	if pausedErr != nil || paused.FunctionError != nil || string(paused.Payload) != `"done"` {
		t.Fatalf("paused invoke: %v %v %s", pausedErr, paused.FunctionError, paused.Payload)
	}
	logs, _ := base64.StdEncoding.DecodeString(aws.ToString(paused.LogResult))
	m := regexp.MustCompile(`REPORT RequestId: \S+\s+Duration: ([0-9.]+) ms`).FindSubmatch(logs)
	if m == nil {
		t.Fatalf("no REPORT line in %s", logs)
	}
	if d, _ := strconv.ParseFloat(string(m[1]), 64); d < 2900 {
		t.Errorf("REPORT Duration %v ms, want the real ~3000", d)
	}
}

// Node in debug mode listens for a debugger on LAMBADA_DEBUG_PORT: the
// DevTools /json/version probe answers.
func TestDebugModeNodeInspector(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "index.mjs"), "export const handler = async () => process.env.LAMBADA_DEBUG_PORT;\n", 0o644)
	mustCreate(t, c, "dbg-node", func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler, in.Code = types.RuntimeNodejs22x, aws.String("index.handler"), hotCode(dir)
		in.Environment = &types.Environment{Variables: map[string]string{"LAMBADA_DEBUG": "1", "LAMBADA_DEBUG_PORT": strconv.Itoa(port)}}
	})
	if got := invokeString(t, c, "dbg-node", "{}"); got != strconv.Quote(strconv.Itoa(port)) {
		t.Errorf("LAMBADA_DEBUG_PORT in the function: %s", got)
	}
	waitfor.Eventually(t, 10*time.Second, func() error {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/json/version", port))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "node.js") {
			return fmt.Errorf("/json/version: %d %s", resp.StatusCode, b)
		}
		return nil
	})
}

// Python in debug mode: the function sees LAMBADA_DEBUG_PORT (its
// runtime's default, or the one set) and the PYTHONBREAKPOINT it set;
// breakpoint() calls that hook — a function of the code's own modules, as
// debugpy.breakpoint or remote_pdb.set_trace would be — or does nothing
// with PYTHONBREAKPOINT=0, and the environment lives on (the next invoke
// reaches the same process).
func TestDebugModePythonBreakpoint(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "hooks.py"), "CALLS = []\ndef stop(*args, **kwargs):\n    import os\n    CALLS.append(os.environ['LAMBADA_DEBUG_PORT'])\n", 0o644)
	writeFile(t, filepath.Join(dir, "app.py"), `import os, hooks
def handler(event, context):
    breakpoint()
    return {"bp": os.environ.get("PYTHONBREAKPOINT"), "port": os.environ.get("LAMBADA_DEBUG_PORT"), "hook": hooks.CALLS, "pid": os.getpid()}
`, 0o644)
	mustCreate(t, c, "dbg-py", func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler, in.Code, in.Timeout = types.RuntimePython312, aws.String("app.handler"), hotCode(dir), aws.Int32(1)
		in.Environment = &types.Environment{Variables: map[string]string{"LAMBADA_DEBUG": "1", "PYTHONBREAKPOINT": "hooks.stop"}}
	})
	type answer struct {
		BP   string   `json:"bp"`
		Port string   `json:"port"`
		Hook []string `json:"hook"`
		Pid  int      `json:"pid"`
	}
	call := func() answer {
		t.Helper()
		var a answer
		if err := json.Unmarshal([]byte(invokeString(t, c, "dbg-py", "{}")), &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	first := call()
	if first.BP != "hooks.stop" || first.Port != "5678" || len(first.Hook) != 1 || first.Hook[0] != "5678" {
		t.Fatalf("first invoke: %+v", first)
	}
	if again := call(); again.Pid != first.Pid || len(again.Hook) != 2 {
		t.Fatalf("the hook's breakpoint ended the environment: %+v after %+v", again, first)
	}
	// PYTHONBREAKPOINT=0: breakpoint() does nothing; a port of one's own.
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("dbg-py"),
		Environment: &types.Environment{Variables: map[string]string{"LAMBADA_DEBUG": "1", "PYTHONBREAKPOINT": "0", "LAMBADA_DEBUG_PORT": "5999"}}}); err != nil {
		t.Fatal(err)
	}
	off := call()
	if off.BP != "0" || off.Port != "5999" || len(off.Hook) != 0 {
		t.Fatalf("PYTHONBREAKPOINT=0: %+v", off)
	}
	if again := call(); again.Pid != off.Pid {
		t.Fatalf("breakpoint() with PYTHONBREAKPOINT=0 ended the environment: %+v after %+v", again, off)
	}
}

// Debug mode runs the environment without the sandbox whatever
// --isolation says (docs/behaviour/dev-loop.md §6): on a server with
// isolation auto, a Python function listening on LAMBADA_DEBUG_PORT on
// loopback, as a bundled debugpy.listen would, is reached from the host,
// and the runtime runs from the folder itself.
func TestDebugModePythonPortFromTheHost(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.Isolation = sandbox.Auto }})
	c := s.Client
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app.py"), `import os, socket, threading
listener = None
def serve():
    while True:
        conn, _ = listener.accept()
        conn.sendall(b"debugger here\n")
        conn.close()
def handler(event, context):
    global listener
    if listener is None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", int(os.environ["LAMBADA_DEBUG_PORT"])))
        listener.listen(1)
        threading.Thread(target=serve, daemon=True).start()
    return "listening:" + os.environ["LAMBDA_TASK_ROOT"]
`, 0o644)
	mustCreate(t, c, "dbg-py-port", func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler, in.Code = types.RuntimePython312, aws.String("app.handler"), hotCode(dir)
		in.Environment = &types.Environment{Variables: map[string]string{"LAMBADA_DEBUG": "1", "LAMBADA_DEBUG_PORT": strconv.Itoa(port)}}
	})
	// Unboxed, the runtime runs from the folder itself (in a box with a
	// root of its own it would be /var/task).
	if got := invokeString(t, c, "dbg-py-port", "{}"); got != strconv.Quote("listening:"+dir) {
		t.Fatalf("answer %s", got)
	}
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
	if err != nil {
		t.Fatalf("the debugger port is not reachable from the host: %v", err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(conn)
	if err != nil || string(b) != "debugger here\n" {
		t.Fatalf("read %q, %v", b, err)
	}
}
