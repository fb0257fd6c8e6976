package environment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"github.com/lambada-dev/lambada/internal/runtimeapi"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

var (
	buildOnce sync.Once
	fnDir     string
	buildErr  error
)

// echofn builds lambada's echo test function (testdata/functions/echo at
// the module root) once per test binary into a task root holding it as
// bootstrap.
func echofn(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		fnDir, buildErr = os.MkdirTemp("", "echofn")
		if buildErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(fnDir, "bootstrap"), "../../testdata/functions/echo").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return fnDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fnDir != "" {
		os.RemoveAll(fnDir)
	}
	os.Exit(code)
}

func start(t *testing.T, timeoutSec int, mod func(*Spec)) *Env {
	t.Helper()
	root := echofn(t)
	s := Spec{
		FunctionName: "fn", Version: "$LATEST", Handler: "bootstrap", Runtime: "provided.al2023",
		MemoryMB: 128, TimeoutSec: timeoutSec, TaskRoot: root, TmpDir: t.TempDir(),
		Env:    map[string]string{"USER_VAR": "u", "_LAMBDA_SERVER_PORT": "1", "TZ": "bad"},
		Region: "us-east-1", Command: []string{filepath.Join(root, "bootstrap")},
		ExtraEnv: map[string]string{"AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9070", "AWS_ACCESS_KEY_ID": "AKID"},
	}
	if mod != nil {
		mod(&s)
	}
	e, err := Start(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

var reqN int

func invoke(t *testing.T, e *Env, payload string) Result {
	t.Helper()
	reqN++
	id := fmt.Sprintf("req-%d-%d", reqN, time.Now().UnixNano())
	r, err := e.Invoke(context.Background(), Request{ID: id, Payload: []byte(payload), NeedLog: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(r.Log, []byte("START RequestId: "+id+" Version: $LATEST\n")) ||
		!bytes.Contains(r.Log, []byte("END RequestId: "+id+"\nREPORT RequestId: "+id+"\tDuration: ")) {
		t.Errorf("log lacks START/END/REPORT for %s:\n%s", id, r.Log)
	}
	return r
}

func errDoc(t *testing.T, r Result) map[string]any {
	t.Helper()
	if r.FunctionError == nil {
		t.Fatalf("no function error; body %s", r.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(r.FunctionError.Document, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEchoWarmReuseAndLogs(t *testing.T) {
	e := start(t, 3, nil)
	r := invoke(t, e, `{"op":"echo","x":1}`)
	if string(r.Body) != `{"op":"echo","x":1}` || r.FunctionError != nil || r.Broken {
		t.Fatalf("echo: %+v", r)
	}
	if r.InitDuration <= 0 || !bytes.Contains(r.Log, []byte("\tInit Duration: ")) {
		t.Errorf("cold start lacks Init Duration: %s", r.Log)
	}
	// Init output precedes START.
	if i, j := bytes.Index(r.Log, []byte("echo init line")), bytes.Index(r.Log, []byte("START")); i < 0 || i > j {
		t.Errorf("init line not before START:\n%s", r.Log)
	}
	if !bytes.HasSuffix(r.Log, []byte(" MB\t\n")) && !bytes.HasSuffix(r.Log, []byte(" ms\t\n")) {
		t.Errorf("REPORT end: %q", r.Log)
	}

	r1 := invoke(t, e, `{"op":"log","lines":["first-a","first-b"]}`)
	r2 := invoke(t, e, `{"op":"log","lines":["second"]}`)
	var p1, p2 struct{ Pid int }
	json.Unmarshal(r1.Body, &p1)
	json.Unmarshal(r2.Body, &p2)
	if p1.Pid == 0 || p1.Pid != p2.Pid || p1.Pid != e.Pid() {
		t.Fatalf("not warm: %d %d %d", p1.Pid, p2.Pid, e.Pid())
	}
	if r2.InitDuration != 0 || bytes.Contains(r2.Log, []byte("Init Duration")) {
		t.Errorf("warm invoke reports init: %s", r2.Log)
	}
	for _, c := range []struct {
		log       []byte
		want, not string
	}{{r1.Log, "first-a\nfirst-b\n", "second"}, {r2.Log, "second\n", "first-a"}} {
		start := bytes.Index(c.log, []byte("START"))
		end := bytes.Index(c.log, []byte("END"))
		mid := string(c.log[start:end])
		if !strings.Contains(mid, c.want) || strings.Contains(string(c.log), c.not) || !strings.Contains(mid, "via log") {
			t.Errorf("log attribution wrong:\n%s", c.log)
		}
	}
}

func TestErrorAndPanic(t *testing.T) {
	e := start(t, 3, nil)
	r := invoke(t, e, `{"op":"error","msg":"boom m1"}`)
	if got := string(r.FunctionError.Document); got != `{"errorMessage":"boom m1","errorType":"customErr"}` || r.Broken {
		t.Fatalf("error doc %s broken=%v", got, r.Broken)
	}
	if r.FunctionError.Type != "customErr" {
		t.Errorf("type %q", r.FunctionError.Type)
	}
	r = invoke(t, e, `{"op":"echo"}`) // still warm
	if r.FunctionError != nil || r.Broken {
		t.Fatalf("after error: %+v", r)
	}
	r = invoke(t, e, `{"op":"panic","msg":"oops"}`)
	m := errDoc(t, r)
	if m["errorMessage"] != "oops" || m["stackTrace"] == nil {
		t.Errorf("panic doc %v", m)
	}
	if !r.Broken {
		t.Errorf("panic: aws-lambda-go exits, want Broken")
	}
}

func TestExitMidInvocation(t *testing.T) {
	e := start(t, 3, nil)
	r := invoke(t, e, `{"op":"exit","code":3}`)
	m := errDoc(t, r)
	want := "RequestId: " + reqIDOf(r) + " Error: Runtime exited with error: exit status 3"
	if m["errorType"] != "Runtime.ExitError" || m["errorMessage"] != want || !r.Broken {
		t.Fatalf("exit: %v broken=%v", m, r.Broken)
	}
	if !bytes.Contains(r.Log, []byte("about to exit\n")) || !bytes.Contains(r.Log, []byte("Status: error\tError Type: Runtime.ExitError\t")) {
		t.Errorf("log:\n%s", r.Log)
	}
	if _, err := e.Invoke(context.Background(), Request{ID: "x"}); err != ErrBroken {
		t.Errorf("broken env accepted an invoke: %v", err)
	}
}

func reqIDOf(r Result) string {
	l := r.Log[bytes.Index(r.Log, []byte("START RequestId: "))+len("START RequestId: "):]
	return string(l[:bytes.IndexByte(l, ' ')])
}

func TestTimeout(t *testing.T) {
	e := start(t, 1, nil)
	invoke(t, e, `{"op":"echo"}`) // init done
	pid := e.Pid()
	r := invoke(t, e, `{"op":"sleep","ms":5000}`)
	id := reqIDOf(r)
	m := errDoc(t, r)
	if m["errorType"] != "Sandbox.Timedout" || m["errorMessage"] != "RequestId: "+id+" Error: Task timed out after 1.00 seconds" || !r.Broken {
		t.Fatalf("timeout: %v", m)
	}
	if !bytes.Contains(r.Log, []byte(" "+id+" Task timed out after 1.00 seconds\nEND")) ||
		!bytes.Contains(r.Log, []byte("sleeping\n")) || !bytes.HasSuffix(r.Log, []byte("Status: timeout\t\n")) {
		t.Errorf("log:\n%s", r.Log)
	}
	if r.Duration < time.Second || r.Duration > 1100*time.Millisecond {
		t.Errorf("duration %v", r.Duration)
	}
	if err := syscall.Kill(pid, 0); err == nil && !zombieOrGone(pid) {
		t.Errorf("process %d still alive", pid)
	}
}

func zombieOrGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}

func TestLargeResponse(t *testing.T) {
	e := start(t, 5, nil)
	r := invoke(t, e, `{"op":"big","n":1000}`)
	if len(r.Body) != 1002 {
		t.Fatalf("body %d", len(r.Body))
	}
	r = invoke(t, e, `{"op":"big","n":6300000}`)
	if got := string(r.FunctionError.Document); got != `{"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}` {
		t.Fatalf("too large: %s", got)
	}
	if !bytes.Contains(r.Log, []byte("Error Type: Function.ResponseSizeTooLarge")) {
		t.Errorf("log:\n%s", r.Log)
	}
	// The result buffer grows to the last result's size (readResult):
	// exactly the limit, then small after large, then larger than the
	// last; each answer whole and held in a buffer not much larger. (The
	// runtime gives up after the refusal above: a new environment.)
	e = start(t, 5, nil)
	for _, n := range []int{6291554, 10, 1000, 300000} {
		r = invoke(t, e, `{"op":"big","n":`+strconv.Itoa(n)+`}`)
		want := `"` + strings.Repeat("x", n) + `"`
		if r.FunctionError != nil || string(r.Body) != want {
			t.Fatalf("n=%d: %d bytes, function error %v", n, len(r.Body), r.FunctionError)
		}
		if cap(r.Body) > 4*len(r.Body)+4096+bytes.MinRead {
			t.Errorf("n=%d: a %d-byte result holds a %d-byte buffer", n, len(r.Body), cap(r.Body))
		}
	}
}

func TestEnvironmentVariables(t *testing.T) {
	t.Setenv("LAMBADA_CANARY", "leak")
	e := start(t, 3, nil)
	r := invoke(t, e, `{"op":"env"}`)
	var env map[string]string
	if err := json.Unmarshal(r.Body, &env); err != nil {
		t.Fatal(err, string(r.Body))
	}
	root := echofn(t)
	want := map[string]string{
		"LAMBDA_TASK_ROOT": root, "_HANDLER": "bootstrap", "AWS_LAMBDA_FUNCTION_NAME": "fn",
		"AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
		"AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
		"TZ": ":UTC", "LANG": "en_US.UTF-8", "PATH": "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
		"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand", "USER_VAR": "u", "__cwd": root,
		"AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9070", "AWS_ACCESS_KEY_ID": "AKID", "AWS_ACCESS_KEY": "AKID",
		"AWS_LAMBDA_RUNTIME_API": e.ln.Addr().String(), "LAMBDA_RUNTIME_DIR": "/var/runtime",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if tmp := env["TMPDIR"]; tmp == "" || !strings.HasPrefix(tmp, os.TempDir()) {
		t.Errorf("TMPDIR %q", tmp)
	}
	stream := env["AWS_LAMBDA_LOG_STREAM_NAME"]
	prefix := time.Now().UTC().Format("2006/01/02") + "/[$LATEST]"
	if !strings.HasPrefix(stream, prefix) || len(stream) != len(prefix)+32 {
		t.Errorf("log stream %q", stream)
	}
	for _, k := range []string{"_LAMBDA_SERVER_PORT", "LAMBADA_CANARY", "HOME", "AWS_EXECUTION_ENV", "AWS_LAMBDA_MAX_CONCURRENCY", "GOFLAGS"} {
		if v, ok := env[k]; ok {
			t.Errorf("%s present: %q", k, v)
		}
	}
}

func TestInvalidEntrypoint(t *testing.T) {
	e := start(t, 3, func(s *Spec) {
		s.TaskRoot = t.TempDir()
		s.Command = []string{filepath.Join(s.TaskRoot, "bootstrap")}
	})
	r := invoke(t, e, `{}`)
	m := errDoc(t, r)
	want := "RequestId: " + reqIDOf(r) + " Error: fork/exec " + e.spec.Command[0] + ": no such file or directory"
	if m["errorType"] != "Runtime.InvalidEntrypoint" || m["errorMessage"] != want || !r.Broken {
		t.Fatalf("%v", m)
	}
	// Not executable.
	e2 := start(t, 3, func(s *Spec) {
		s.TaskRoot = t.TempDir()
		s.Command = []string{filepath.Join(s.TaskRoot, "bootstrap")}
		os.WriteFile(s.Command[0], []byte("#!/bin/sh\n"), 0o644)
	})
	r = invoke(t, e2, `{}`)
	if m := errDoc(t, r); m["errorType"] != "Runtime.InvalidEntrypoint" || !strings.HasSuffix(m["errorMessage"].(string), "permission denied") {
		t.Fatalf("%v", m)
	}
}

func TestCloseKillsChildren(t *testing.T) {
	e := start(t, 3, nil)
	r := invoke(t, e, `{"op":"spawn"}`)
	var p struct{ Pid int }
	if err := json.Unmarshal(r.Body, &p); err != nil || p.Pid == 0 {
		t.Fatalf("spawn: %s", r.Body)
	}
	if zombieOrGone(p.Pid) {
		t.Fatal("child not running")
	}
	e.Close()
	waitfor.True(t, 5*time.Second, fmt.Sprintf("child %d gone after Close", p.Pid), func() bool { return zombieOrGone(p.Pid) })
}

func withInit(mode string) func(*Spec) {
	return func(s *Spec) { s.Env = map[string]string{"ECHO_INIT": mode} }
}

func TestInitError(t *testing.T) {
	e := start(t, 3, withInit("error"))
	r := invoke(t, e, `{}`)
	if got := string(r.FunctionError.Document); got != `{"errorMessage":"init broke","errorType":"Runtime.Custom"}` || !r.Broken {
		t.Fatalf("init error: %s broken=%v", got, r.Broken)
	}
	if r.FunctionError.Type != "Runtime.Custom" || !bytes.Contains(r.Log, []byte("Init Duration")) {
		t.Errorf("type %q log:\n%s", r.FunctionError.Type, r.Log)
	}
}

func TestExitDuringInit(t *testing.T) {
	e := start(t, 3, withInit("exit"))
	r := invoke(t, e, `{}`)
	m := errDoc(t, r)
	if m["errorType"] != "Runtime.ExitError" || m["errorMessage"] != "RequestId: "+reqIDOf(r)+" Error: Runtime exited with error: exit status 2" || !r.Broken {
		t.Fatalf("%v", m)
	}
	if i, j := bytes.Index(r.Log, []byte("exiting during init\n")), bytes.Index(r.Log, []byte("START")); i < 0 || i > j {
		t.Errorf("log:\n%s", r.Log)
	}
}

func TestSlowInitTimesOut(t *testing.T) {
	e := start(t, 1, withInit("slow"))
	pid := e.Pid()
	r := invoke(t, e, `{}`)
	if m := errDoc(t, r); m["errorType"] != "Sandbox.Timedout" || !r.Broken {
		t.Fatalf("%v", m)
	}
	if !zombieOrGone(pid) {
		t.Errorf("process alive")
	}
}

func TestLateAnswersAndState(t *testing.T) {
	e := start(t, 1, nil)
	invoke(t, e, `{"op":"echo"}`)
	done := make(chan Result)
	go func() {
		r, _ := e.Invoke(context.Background(), Request{ID: "slow-1", Payload: []byte(`{"op":"sleep","ms":3000}`)})
		done <- r
	}()
	// While slow-1 runs: a second invoke is refused, /next is a state
	// error, a wrong id is invalid, /init/error is a state error.
	waitfor.True(t, 2*time.Second, "slow-1 dispatched", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.cur != nil && e.cur.req.ID == "slow-1"
	})
	if _, err := e.Invoke(context.Background(), Request{ID: "other"}); err != ErrBusy {
		t.Errorf("concurrent invoke: %v", err)
	}
	if _, err := e.Next(context.Background()); err != runtimeapi.ErrInvalidStateTransition {
		t.Errorf("next while busy: %v", err)
	}
	if err := e.Fail(context.Background(), "nope", runtimeapi.NewFunctionError("x", "y")); err != runtimeapi.ErrInvalidRequestID {
		t.Errorf("wrong id: %v", err)
	}
	if err := e.InitError(context.Background(), runtimeapi.NewFunctionError("x", "y")); err != runtimeapi.ErrInvalidStateTransition {
		t.Errorf("init error after init: %v", err)
	}
	r := <-done
	if r.FunctionError == nil || r.FunctionError.Type != "Sandbox.Timedout" {
		t.Fatalf("%+v", r)
	}
	if err := e.Fail(context.Background(), "slow-1", runtimeapi.NewFunctionError("x", "y")); err != runtimeapi.ErrInvalidRequestID {
		t.Errorf("late answer: %v", err)
	}
}

func TestLogFormat(t *testing.T) {
	e := start(t, 3, nil)
	r := invoke(t, e, `{"op":"log","lines":["hello"]}`)
	id := regexp.QuoteMeta(reqIDOf(r))
	re := regexp.MustCompile(`^echo init line\nSTART RequestId: ` + id + ` Version: \$LATEST\nhello\n\d{4}/\d\d/\d\d \d\d:\d\d:\d\d via log\nEND RequestId: ` + id +
		`\nREPORT RequestId: ` + id + `\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: [1-9]\d* MB\tInit Duration: \d+\.\d\d ms\t\n$`)
	if !re.Match(r.Log) {
		t.Errorf("log format:\n%q", r.Log)
	}
	r = invoke(t, e, `{"op":"echo"}`)
	id = regexp.QuoteMeta(reqIDOf(r))
	re = regexp.MustCompile(`^START RequestId: ` + id + ` Version: \$LATEST\nEND RequestId: ` + id +
		`\nREPORT RequestId: ` + id + `\tDuration: \d+\.\d\d ms\tBilled Duration: [1-9]\d* ms\tMemory Size: 128 MB\tMax Memory Used: [1-9]\d* MB\t\n$`)
	if !re.Match(r.Log) {
		t.Errorf("warm log format:\n%q", r.Log)
	}
}

func TestCancelBeforeDispatch(t *testing.T) {
	e := start(t, 3, withInit("slow"))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := e.Invoke(ctx, Request{ID: "c1"}); err != context.DeadlineExceeded {
		t.Fatalf("got %v", err)
	}
	e.mu.Lock()
	cold, broken := !e.coldUsed, e.broken
	e.mu.Unlock()
	if !cold || broken {
		t.Errorf("cold=%v broken=%v after a cancelled wait", cold, broken)
	}
}

// Without NeedLog an invocation's Result.Log is best effort: nobody reads
// it (the invoke service detaches such an invocation, and mirrors a log at
// debug level only, where NeedLog is set), so the hot path skips the pipe
// round trip, and output the reader has not taken yet goes to a later
// invocation's Log — or to none, when a NeedLog invocation comes first,
// whose Log holds only its own output. The log sink (the log store) loses
// nothing: it gets every line in order under its own request id. Run with
// the records through the pipe and with a quick sink.
func TestBestEffortLogsLoseNothing(t *testing.T) {
	for _, quick := range []bool{false, true} {
		t.Run(fmt.Sprintf("quick=%v", quick), func(t *testing.T) {
			sink := &logRecSink{quick: quick}
			e := start(t, 3, func(s *Spec) { s.LogSink = sink })
			for i := range 20 {
				if _, err := e.Invoke(context.Background(), Request{ID: fmt.Sprintf("be-%d", i), Payload: []byte(fmt.Sprintf(`{"op":"log","lines":["line-%d"]}`, i))}); err != nil {
					t.Fatal(err)
				}
			}
			r := invoke(t, e, `{"op":"echo"}`) // NeedLog: exactly its own output
			if bytes.Contains(r.Log, []byte("line-")) || !bytes.HasPrefix(r.Log, []byte("START RequestId: req-")) {
				t.Errorf("a NeedLog invocation's log holds other output:\n%s", r.Log)
			}
			e.Close()
			got := sink.text()
			pos := 0
			for i := range 20 {
				want := fmt.Sprintf("be-%d|START RequestId: be-%d Version: $LATEST\nbe-%d|line-%d\n", i, i, i, i)
				j := strings.Index(got[pos:], want)
				if j < 0 {
					t.Fatalf("the sink has no %q after offset %d:\n%s", want, pos, got)
				}
				pos += j + len(want)
			}
		})
	}
}

// countSink counts what the log pipe streams onward and checks the order
// of the flood lines it sees.
type countSink struct {
	mu          sync.Mutex
	lines, size int
	next        int // the next flood line number expected
	bad         string
}

func (s *countSink) Close() {}

// Quick: platform records come straight from the invocation's path
// (logPipe.records) while the flood streams through the reader.
func (s *countSink) Quick() bool { return true }

func (s *countSink) Line(l []byte, at time.Time, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if bytes.HasPrefix(l, []byte("START ")) || bytes.HasPrefix(l, []byte("END ")) || bytes.HasPrefix(l, []byte("REPORT ")) {
		return // platform records
	}
	s.lines++
	s.size += len(l)
	if len(l) == 100 && l[99] == '\n' && l[98] == 'f' {
		if n := fmt.Sprintf("%08d", s.next); string(l[:8]) != n && s.bad == "" {
			s.bad = fmt.Sprintf("line %q where %s was expected", l[:8], n)
		}
		s.next++
	}
	if at.IsZero() && s.bad == "" {
		s.bad = "zero timestamp"
	}
}

func (s *countSink) reset() (lines, size int, bad string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lines, size, bad = s.lines, s.size, s.bad
	s.lines, s.size, s.next = 0, 0, 0
	return
}

// Logging costs time linear in the bytes written and memory bounded by
// KeepLogBytes (issue: a log past 1 MB used to be copied whole for every
// new line): 100k short lines take about ten times as long as 10k, every
// line reaches the sink in order, the kept tail is the newest output, and
// the reader allocates a small multiple of what it read, not the square.
func TestManyShortLinesLinear(t *testing.T) {
	sink := &countSink{}
	e := start(t, 60, func(s *Spec) { s.LogSink = sink })
	invoke(t, e, `{"op":"echo"}`) // the cold start is not measured
	sink.reset()
	flood := func(n int) (time.Duration, Result) {
		t0 := time.Now()
		r := invoke(t, e, fmt.Sprintf(`{"op":"flood","n":%d,"size":100}`, n))
		d := time.Since(t0)
		lines, size, bad := sink.reset()
		if bad != "" || lines != n || size != n*100 {
			t.Fatalf("sink saw %d lines, %d bytes (%s); want %d lines of 100 bytes", lines, size, bad, n)
		}
		return d, r
	}
	small := time.Duration(1 << 62)
	for range 2 { // the faster of two runs: less noise from a loaded machine
		d, _ := flood(10_000)
		small = min(small, d)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	big, r := flood(100_000)
	runtime.ReadMemStats(&after)
	t.Logf("10k lines %v, 100k lines %v", small, big)
	if big > 60*time.Second {
		t.Fatalf("100k lines took %v", big)
	}
	if ratio := float64(big) / float64(small); ratio > 40 {
		t.Errorf("100k lines took %v, 10k lines %v: %.1f×, not linear", big, small, ratio)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*100_000*100 {
		t.Errorf("flooding 10 MB allocated %d bytes", alloc)
	}
	e.logs.mu.Lock()
	kept := cap(e.logs.buf.b)
	e.logs.mu.Unlock()
	if kept > 2*KeepLogBytes+maxLineBytes {
		t.Errorf("log pipe holds a %d-byte buffer", kept)
	}
	// The tail: the last lines of the flood, then END and REPORT.
	start := bytes.Index(r.Log, []byte("START"))
	end := bytes.Index(r.Log, []byte("END RequestId"))
	out := r.Log[start:end]
	out = out[bytes.IndexByte(out, '\n')+1:]
	if len(out) < KeepLogBytes || len(out) > KeepLogBytes+100 {
		t.Fatalf("kept %d bytes of output", len(out))
	}
	if !bytes.HasSuffix(out, []byte("00099999"+strings.Repeat("f", 91)+"\n")) ||
		!bytes.Contains(out, []byte("\n00099960"+strings.Repeat("f", 91)+"\n")) {
		t.Errorf("tail is not the newest output:\n%s", out)
	}
}

// logRecSink records what an environment's log sink receives.
type logRecSink struct {
	mu     sync.Mutex
	lines  []string
	closed bool
	quick  bool // a QuickSink: records may bypass the pipe
}

func (s *logRecSink) Quick() bool { return s.quick }

func (s *logRecSink) Line(l []byte, at time.Time, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, id+"|"+string(l))
}

func (s *logRecSink) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

func (s *logRecSink) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "")
}

// The sink gets the whole log in order, with the platform records between
// the runtime's lines exactly where they belong and every line attributed
// to its request id — also for invocations whose log nobody reads (no
// NeedLog) and for timeouts and failed inits.
func TestLogSinkOrderAndRecords(t *testing.T) {
	t.Run("through the pipe", func(t *testing.T) { testLogSinkOrder(t, false) })
	// Records handed to the sink on the invocation's path, and detached
	// invocations whose END and REPORT the next /next writes.
	t.Run("quick sink", func(t *testing.T) { testLogSinkOrder(t, true) })
}

func testLogSinkOrder(t *testing.T, quick bool) {
	sink := &logRecSink{quick: quick}
	e := start(t, 1, func(s *Spec) { s.LogSink = sink; s.LogStream = "2026/12/06/[$LATEST]0123" })
	for i, p := range []string{`{"op":"log","lines":["a1","a2"]}`, `{"op":"log","lines":["b1"]}`, `{"op":"sleep","ms":3000}`} {
		req := Request{ID: fmt.Sprintf("r%d", i), Payload: []byte(p)}
		if quick && i < 2 {
			pd, _, err := e.Dispatch(context.Background(), req)
			if err != nil || pd == nil {
				t.Fatal(pd, err)
			}
			if _, over := pd.Await(); over {
				t.Fatal("invocation over before its result")
			}
			pd.Detach()
			continue
		}
		if _, err := e.Invoke(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	e.Close()
	re := regexp.MustCompile(`^\|INIT_START Runtime Version: provided:al2023\.lambada\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64}\n` +
		`\|echo init line\n` +
		`r0\|START RequestId: r0 Version: \$LATEST\nr0\|a1\nr0\|a2\nr0\|\d{4}/\d\d/\d\d \d\d:\d\d:\d\d via log\nr0\|END RequestId: r0\nr0\|REPORT RequestId: r0\tDuration: [^\n]*Init Duration: [^\n]*\n` +
		`r1\|START RequestId: r1 Version: \$LATEST\nr1\|b1\nr1\|[^\n]* via log\nr1\|END RequestId: r1\nr1\|REPORT RequestId: r1\t[^\n]*\n` +
		`r2\|START RequestId: r2 Version: \$LATEST\nr2\|sleeping\nr2\|\S+Z r2 Task timed out after 1\.00 seconds\nr2\|END RequestId: r2\nr2\|REPORT RequestId: r2\t[^\n]*Status: timeout\t\n$`)
	if got := sink.text(); !re.MatchString(got) {
		t.Errorf("sink got:\n%s", got)
	}
	if !sink.closed {
		t.Error("sink not closed with the environment")
	}

	// A failed init: its output, INIT_REPORT, then the invocation's records.
	sink = &logRecSink{quick: quick}
	e = start(t, 3, func(s *Spec) { withInit("exit")(s); s.LogSink = sink })
	if _, err := e.Invoke(context.Background(), Request{ID: "i0"}); err != nil {
		t.Fatal(err)
	}
	e.Close()
	re = regexp.MustCompile(`^\|INIT_START [^\n]*\n(\|[^\n]*\n)*\|INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: init\tStatus: error\tError Type: Runtime.ExitError\n` +
		`i0\|START RequestId: i0 Version: \$LATEST\ni0\|END RequestId: i0\ni0\|REPORT RequestId: i0\t[^\n]*Status: error\tError Type: Runtime.ExitError\t\n$`)
	if got := sink.text(); !re.MatchString(got) {
		t.Errorf("failed init, sink got:\n%s", got)
	}
}

// JSON format with SystemLogLevel WARN writes no platform records, yet
// the runtime's lines keep their request id; the runtime sees the format
// and level variables.
func TestJSONSystemLevelWarn(t *testing.T) {
	sink := &logRecSink{}
	e := start(t, 3, func(s *Spec) {
		s.LogSink, s.LogFormat, s.AppLogLevel, s.SystemLogLevel = sink, LogFormatJSON, "DEBUG", "WARN"
	})
	r, err := e.Invoke(context.Background(), Request{ID: "w1", Payload: []byte(`{"op":"log","lines":["{\"level\":\"DEBUG\",\"m\":1}"]}`), NeedLog: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(r.Log), "platform.") || !strings.Contains(string(r.Log), `{"level":"DEBUG","m":1}`) {
		t.Errorf("tail:\n%s", r.Log)
	}
	env, err := e.Invoke(context.Background(), Request{ID: "w2", Payload: []byte(`{"op":"env"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var vars map[string]string
	json.Unmarshal(env.Body, &vars)
	if vars["AWS_LAMBDA_LOG_FORMAT"] != "JSON" || vars["AWS_LAMBDA_LOG_LEVEL"] != "DEBUG" {
		t.Errorf("format variables: %q %q", vars["AWS_LAMBDA_LOG_FORMAT"], vars["AWS_LAMBDA_LOG_LEVEL"])
	}
	e.Close()
	got := sink.text()
	if strings.Contains(got, "platform.") || !strings.Contains(got, `w1|{"level":"DEBUG","m":1}`) {
		t.Errorf("sink:\n%s", got)
	}
}

// TestReadResult: a /response body is read whole whatever the hint and
// however the reads split it; a small one with a large hint keeps a small
// buffer; a read error is returned with what came before it.
func TestReadResult(t *testing.T) {
	for _, size := range []int{0, 1, 511, 512, 513, firstResultRead, firstResultRead + 1, 100_000, 1 << 20} {
		want := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
		for _, hint := range []int{0, 10, size / 2, size, size + 1, 2 * size, 6 << 20} {
			for name, r := range map[string]io.Reader{
				"whole": bytes.NewReader(want), "halves": iotest.HalfReader(bytes.NewReader(want)),
				"bytes": iotest.OneByteReader(bytes.NewReader(want)),
			} {
				got, err := readResult(r, hint)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("size %d hint %d %s: %d bytes, %v", size, hint, name, len(got), err)
				}
				if size < firstResultRead && cap(got) > firstResultRead+bytes.MinRead {
					t.Errorf("size %d hint %d %s: a buffer of %d", size, hint, name, cap(got))
				}
			}
		}
	}
	boom := errors.New("boom")
	got, err := readResult(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)), 1<<20)
	if !errors.Is(err, boom) || string(got) != "abc" {
		t.Fatalf("error: %q, %v", got, err)
	}
}
