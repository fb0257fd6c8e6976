package runtimes_test

// The embedded Python runtime client (python/bootstrap.py) through a real
// server: unmodified handlers from testdata/functions/python/basic behave
// as on AWS's Python runtime (docs/behaviour/runtime-api.md §3–§5, §8, §9).

import (
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// awsLogLine matches one line of AWS's Python log format for a level,
// request id and message.
func awsLogLine(level, requestID, msg string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^\[` + level + `\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t` +
		regexp.QuoteMeta(requestID) + `\t` + regexp.QuoteMeta(msg) + `$`)
}

func TestPythonResults(t *testing.T) {
	t.Parallel()
	p := pyStart(t, "")

	t.Run("echo on every python runtime", func(t *testing.T) {
		for _, rt := range []types.Runtime{types.RuntimePython311, types.RuntimePython312, types.RuntimePython313} {
			name := "echo-" + strings.ReplaceAll(string(rt), ".", "")
			p.create(t, name, "app.lambda_handler", rt, nil)
			// json.dumps's separators, as AWS's runtime writes them.
			got := pyOK(t, p.invoke(t, name, `{"a":[1,2],"s":"x","n":null}`, nil))
			if string(got) != `{"a": [1, 2], "s": "x", "n": null}` {
				t.Errorf("%s: payload %s", rt, got)
			}
		}
	})

	t.Run("large event and result", func(t *testing.T) {
		// Both ways near the 6 MB limit: the runtime client's reads and
		// writes span many socket buffers.
		p.create(t, "echo-large", "app.lambda_handler", types.RuntimePython312, nil)
		big := strings.Repeat("0123456789", 500_000)
		got := pyOK(t, p.invoke(t, "echo-large", `{"s":"`+big+`"}`, nil))
		if string(got) != `{"s": "`+big+`"}` {
			t.Errorf("5 MB echo: %d bytes back", len(got))
		}
	})

	t.Run("values as AWS marshals them", func(t *testing.T) {
		// Decimal as its exact text (NaN as NaN), bytes inside a value as a
		// UTF-8 string; python3.12 and later leave non-ASCII unescaped.
		p.create(t, "values312", "app.values_handler", types.RuntimePython312, nil)
		p.create(t, "values311", "app.values_handler", types.RuntimePython311, nil)
		got := pyOK(t, p.invoke(t, "values312", `{}`, nil))
		if want := `{"d": 1.10, "e": 1E+2, "n": NaN, "b": "bytes", "u": "café", "f": 0.5, "l": [1, [2, 3]]}`; string(got) != want {
			t.Errorf("python3.12 payload\n%s\nwant\n%s", got, want)
		}
		got = pyOK(t, p.invoke(t, "values311", `{}`, nil))
		if want := `{"d": 1.10, "e": 1E+2, "n": NaN, "b": "bytes", "u": "caf\u00e9", "f": 0.5, "l": [1, [2, 3]]}`; string(got) != want {
			t.Errorf("python3.11 payload\n%s\nwant\n%s", got, want)
		}
	})

	t.Run("None and bytes", func(t *testing.T) {
		p.create(t, "none", "app.none_handler", types.RuntimePython312, nil)
		if got := pyOK(t, p.invoke(t, "none", `{}`, nil)); string(got) != `null` {
			t.Errorf("None: %q", got)
		}
		p.create(t, "bytes", "app.bytes_handler", types.RuntimePython312, nil)
		if got := pyOK(t, p.invoke(t, "bytes", `{}`, nil)); string(got) != "raw \x00 bytes" {
			t.Errorf("bytes: %q", got)
		}
	})

	t.Run("MarshalError", func(t *testing.T) {
		p.create(t, "marshal", "app.marshal_handler", types.RuntimePython312, nil)
		out := p.invoke(t, "marshal", `{}`, nil)
		doc := pyFailed(t, out)
		if doc.ErrorType != "Runtime.MarshalError" || doc.ErrorMessage != "Unable to marshal response: Object of type set is not JSON serializable" ||
			doc.RequestID == "" || len(doc.StackTrace) != 0 {
			t.Errorf("document %s", out.Payload)
		}
		if tail := pyTail(t, out); !strings.Contains(tail, "[ERROR] Runtime.MarshalError: Unable to marshal response: Object of type set is not JSON serializable\rTraceback (most recent call last):\n") {
			t.Errorf("tail lacks the error line:\n%q", tail)
		}
	})

	t.Run("handler exception", func(t *testing.T) {
		p.create(t, "raise", "app.raise_handler", types.RuntimePython312, nil)
		for i := 0; i < 2; i++ {
			out := p.invoke(t, "raise", `{}`, nil)
			doc := pyFailed(t, out)
			if doc.ErrorType != "MyError" || doc.ErrorMessage != "it broke" || len(doc.StackTrace) != 2 {
				t.Fatalf("document %s", out.Payload)
			}
			// traceback.format_list entries of the user's frames only.
			frames := []*regexp.Regexp{
				regexp.MustCompile(`^  File "/[^"]*/app\.py", line 85, in raise_handler\n    fail_inner\(\)\n$`),
				regexp.MustCompile(`^  File "/[^"]*/app\.py", line 81, in fail_inner\n    raise MyError\("it broke"\)\n$`),
			}
			for j, re := range frames {
				if !re.MatchString(doc.StackTrace[j]) {
					t.Errorf("stackTrace[%d] = %q", j, doc.StackTrace[j])
				}
			}
			tail := pyTail(t, out)
			if !strings.Contains(tail, "[ERROR] MyError: it broke\rTraceback (most recent call last):\r\u00a0\u00a0File \"") ||
				!strings.Contains(tail, "\r\u00a0\u00a0\u00a0\u00a0raise MyError(\"it broke\")\n") {
				t.Errorf("tail lacks the error line:\n%q", tail)
			}
			// The request id in the document is this invocation's.
			if !strings.Contains(tail, "START RequestId: "+doc.RequestID+" ") {
				t.Errorf("requestId %q is not this invocation's:\n%s", doc.RequestID, tail)
			}
			// A raised exception keeps the environment: the second call is warm.
			if i == 1 && strings.Contains(tail, "Init Duration") {
				t.Errorf("the environment was not reused after a handler exception:\n%s", tail)
			}
		}
	})

	t.Run("response over the limit", func(t *testing.T) {
		// A JSON string of n x's is n+2 bytes; 6,291,556 is the most a
		// buffered response may have.
		p.create(t, "big", "app.big_handler", types.RuntimePython312, nil)
		out := p.invoke(t, "big", `{"n": 6291555}`, nil)
		var doc map[string]string
		if aws.ToString(out.FunctionError) != "Unhandled" || json.Unmarshal(out.Payload, &doc) != nil ||
			doc["errorType"] != "Function.ResponseSizeTooLarge" {
			t.Fatalf("over the limit: %v %.300s", aws.ToString(out.FunctionError), out.Payload)
		}
		if got := pyOK(t, p.invoke(t, "big", `{"n": 6291554}`, nil)); len(got) != 6291556 {
			t.Fatalf("at the limit: %d bytes", len(got))
		}
	})

	t.Run("sys.exit and os._exit", func(t *testing.T) {
		p.create(t, "exit", "app.exit_handler", types.RuntimePython312, nil)
		p.create(t, "osexit", "app.os_exit_handler", types.RuntimePython312, nil)
		for _, c := range []struct{ name, payload, status string }{
			{"exit", `{"code": 3}`, "exit status 3"},
			{"osexit", `{"code": 5}`, "exit status 5"},
			{"exit", `{"code": 4}`, "exit status 4"}, // a new process after the first exit
		} {
			out := p.invoke(t, c.name, c.payload, nil)
			var doc map[string]string
			if aws.ToString(out.FunctionError) != "Unhandled" || json.Unmarshal(out.Payload, &doc) != nil {
				t.Fatalf("%s: %v %s", c.name, aws.ToString(out.FunctionError), out.Payload)
			}
			re := regexp.MustCompile(`^RequestId: \S+ Error: Runtime exited with error: ` + c.status + `$`)
			if doc["errorType"] != "Runtime.ExitError" || !re.MatchString(doc["errorMessage"]) {
				t.Errorf("%s: %s", c.name, out.Payload)
			}
		}
	})
}

func TestPythonContextAndEnvironment(t *testing.T) {
	t.Parallel()
	p := pyStart(t, "")
	arn := p.create(t, "ctx", "app.context_handler", types.RuntimePython312, func(in *lambda.CreateFunctionInput) {
		in.MemorySize = aws.Int32(256)
		in.Timeout = aws.Int32(30)
	})
	type result struct {
		AwsRequestID       string         `json:"aws_request_id"`
		FunctionName       string         `json:"function_name"`
		FunctionVersion    string         `json:"function_version"`
		InvokedFunctionArn string         `json:"invoked_function_arn"`
		MemoryLimitInMB    any            `json:"memory_limit_in_mb"`
		LogGroupName       string         `json:"log_group_name"`
		LogStreamName      string         `json:"log_stream_name"`
		Remaining          int64          `json:"remaining"`
		Identity           map[string]any `json:"identity"`
		ClientContext      map[string]any `json:"client_context"`
		TraceID            *string        `json:"trace_id"`
		TaskRoot           string         `json:"task_root"`
		RuntimeDir         string         `json:"runtime_dir"`
		SysPath            []string       `json:"sys_path"`
		Cwd                string         `json:"cwd"`
		Helper             string         `json:"helper"`
	}
	call := func(t *testing.T, mod func(*lambda.InvokeInput)) (result, string) {
		t.Helper()
		out := p.invoke(t, "ctx", `{}`, mod)
		var r result
		if err := json.Unmarshal(pyOK(t, out), &r); err != nil {
			t.Fatalf("%v: %s", err, out.Payload)
		}
		return r, pyTail(t, out)
	}

	t.Run("context attributes", func(t *testing.T) {
		r, tail := call(t, nil)
		if r.AwsRequestID == "" || !strings.Contains(tail, "START RequestId: "+r.AwsRequestID+" Version: $LATEST") {
			t.Errorf("aws_request_id %q, tail:\n%s", r.AwsRequestID, tail)
		}
		// memory_limit_in_mb is the variable's text, as awslambdaric sets it.
		if r.FunctionName != "ctx" || r.FunctionVersion != "$LATEST" || r.InvokedFunctionArn != arn ||
			r.MemoryLimitInMB != "256" || r.LogGroupName != "/aws/lambda/ctx" {
			t.Errorf("context %+v (arn %s)", r, arn)
		}
		if !regexp.MustCompile(`^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$`).MatchString(r.LogStreamName) {
			t.Errorf("log_stream_name %q", r.LogStreamName)
		}
		if r.Remaining <= 20000 || r.Remaining > 30000 {
			t.Errorf("get_remaining_time_in_millis() = %d with a 30 s timeout", r.Remaining)
		}
		// AWS always sets identity, with None members when there is no Cognito identity.
		if !reflect.DeepEqual(r.Identity, map[string]any{"cognito_identity_id": nil, "cognito_identity_pool_id": nil}) {
			t.Errorf("identity %v", r.Identity)
		}
		if r.ClientContext != nil {
			t.Errorf("client_context %v without a ClientContext", r.ClientContext)
		}
	})

	t.Run("qualified ARN", func(t *testing.T) {
		r, _ := call(t, func(in *lambda.InvokeInput) { in.Qualifier = aws.String("$LATEST") })
		if r.InvokedFunctionArn != arn+":$LATEST" {
			t.Errorf("invoked_function_arn %q, want %s:$LATEST", r.InvokedFunctionArn, arn)
		}
	})

	t.Run("client context", func(t *testing.T) {
		cc := `{"client":{"installation_id":"inst-1","app_title":"demo","app_version_name":"1.0","app_version_code":"7","app_package_name":"dev.lambada"},` +
			`"custom":{"tenant":"t-42"},"env":{"locale":"en_US"}}`
		r, _ := call(t, func(in *lambda.InvokeInput) {
			in.ClientContext = aws.String(base64.StdEncoding.EncodeToString([]byte(cc)))
		})
		want := map[string]any{
			"client": map[string]any{"installation_id": "inst-1", "app_title": "demo", "app_version_name": "1.0",
				"app_version_code": "7", "app_package_name": "dev.lambada"},
			"custom": map[string]any{"tenant": "t-42"},
			"env":    map[string]any{"locale": "en_US"},
		}
		if !reflect.DeepEqual(r.ClientContext, want) {
			t.Errorf("client_context %v\nwant %v", r.ClientContext, want)
		}
		// Members the caller left out are None, as on AWS.
		r, _ = call(t, func(in *lambda.InvokeInput) {
			in.ClientContext = aws.String(base64.StdEncoding.EncodeToString([]byte(`{"custom":{"k":"v"}}`)))
		})
		if want := map[string]any{"client": nil, "custom": map[string]any{"k": "v"}, "env": nil}; !reflect.DeepEqual(r.ClientContext, want) {
			t.Errorf("partial client_context %v", r.ClientContext)
		}
	})

	t.Run("_X_AMZN_TRACE_ID per invocation", func(t *testing.T) {
		a, _ := call(t, nil)
		b, _ := call(t, nil)
		if a.TraceID == nil || b.TraceID == nil || !strings.HasPrefix(*a.TraceID, "Root=1-") || *a.TraceID == *b.TraceID {
			t.Errorf("trace ids %v %v", a.TraceID, b.TraceID)
		}
	})

	t.Run("sys.path and working directory", func(t *testing.T) {
		r, _ := call(t, nil)
		if r.TaskRoot == "" || len(r.SysPath) == 0 || r.SysPath[0] != r.TaskRoot || r.Cwd != r.TaskRoot || r.Helper != "task root helper" {
			t.Errorf("task root %q, cwd %q, helper %q, sys.path %q", r.TaskRoot, r.Cwd, r.Helper, r.SysPath)
		}
		for _, e := range r.SysPath {
			if r.RuntimeDir != "" && strings.TrimSuffix(e, "/") == strings.TrimSuffix(r.RuntimeDir, "/") {
				t.Errorf("the runtime's folder %s is on sys.path %q", r.RuntimeDir, r.SysPath)
			}
		}
		// No bytecode cache is written into the (shared, read-only) code.
		_ = filepath.WalkDir(p.s.DataDir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() && d.Name() == "__pycache__" {
				t.Errorf("bytecode cache written: %s", path)
			}
			return nil
		})
		// A user module named like the runtime's own file is the user's.
		p.create(t, "usermod", "bootstrap.handler", types.RuntimePython312, nil)
		if got := pyOK(t, p.invoke(t, "usermod", `{}`, nil)); string(got) != `{"where": "user bootstrap module"}` {
			t.Errorf("bootstrap.handler: %s", got)
		}
	})

	t.Run("patched networking and socket timeout", func(t *testing.T) {
		// The module patches http.client and the socket module, and sets a
		// 0.3 s default socket timeout; the idle environment must still
		// serve the next call.
		p.create(t, "patched", "patched.handler", types.RuntimePython312, nil)
		var a, b struct{ Pid int }
		_ = json.Unmarshal(pyOK(t, p.invoke(t, "patched", `{}`, nil)), &a)
		time.Sleep(time.Second)
		_ = json.Unmarshal(pyOK(t, p.invoke(t, "patched", `{}`, nil)), &b)
		if a.Pid == 0 || a.Pid != b.Pid {
			t.Errorf("not reused: pid %d then %d", a.Pid, b.Pid)
		}
	})

	t.Run("package handlers", func(t *testing.T) {
		for i, h := range []string{"pkg/sub/mod.func", "pkg.sub.mod.func"} {
			name := []string{"pkgslash", "pkgdot"}[i]
			p.create(t, name, h, types.RuntimePython312, nil)
			if got := pyOK(t, p.invoke(t, name, `{"k":1}`, nil)); string(got) != `{"module": "pkg.sub.mod", "event": {"k": 1}}` {
				t.Errorf("%s: %s", h, got)
			}
		}
	})

	t.Run("warm state", func(t *testing.T) {
		p.create(t, "counter", "app.counter_handler", types.RuntimePython312, nil)
		var pid int
		for i := 1; i <= 3; i++ {
			var r struct{ Count, Pid int }
			if err := json.Unmarshal(pyOK(t, p.invoke(t, "counter", `{}`, nil)), &r); err != nil {
				t.Fatal(err)
			}
			if r.Count != i || (pid != 0 && r.Pid != pid) {
				t.Fatalf("call %d: count %d pid %d (first pid %d)", i, r.Count, r.Pid, pid)
			}
			pid = r.Pid
		}
	})
}

func TestPythonLogging(t *testing.T) {
	t.Parallel()
	p := pyStart(t, "")
	p.create(t, "logs", "app.log_handler", types.RuntimePython312, nil)
	for i := 0; i < 2; i++ { // cold, then warm
		out := p.invoke(t, "logs", `{}`, nil)
		var r struct {
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal(pyOK(t, out), &r); err != nil || r.RequestID == "" {
			t.Fatalf("%v: %s", err, out.Payload)
		}
		tail := pyTail(t, out)
		for _, want := range []string{"\nhello from print\n", "\nsecond\tprint line\n", "\nto stderr\n", "START RequestId: " + r.RequestID} {
			if !strings.Contains(tail, want) {
				t.Errorf("tail lacks %q:\n%s", want, tail)
			}
		}
		for _, re := range []*regexp.Regexp{
			awsLogLine("WARNING", r.RequestID, "warning from the root logger"),
			awsLogLine("INFO", r.RequestID, "info from a child logger"),
			// One record stays one line: inner newlines become \r.
			awsLogLine("ERROR", r.RequestID, "first line\rsecond line"),
			// logger.exception: the message, then the traceback, on the same line.
			regexp.MustCompile(`(?m)^\[ERROR\]\t\S+Z\t` + regexp.QuoteMeta(r.RequestID) + `\tcaught it\r` +
				`Traceback \(most recent call last\):\r  File "[^"]*/app\.py", line \d+, in log_handler\r    raise ValueError\("inner"\)\r` +
				`ValueError: inner$`),
		} {
			if !re.MatchString(tail) {
				t.Errorf("tail lacks %s:\n%q", re, tail)
			}
		}
		// The root logger is at WARNING by default, as on AWS.
		if strings.Contains(tail, "info before setLevel is dropped") {
			t.Errorf("an INFO record passed the default WARNING level:\n%s", tail)
		}
	}
}

func TestPythonInitErrors(t *testing.T) {
	t.Parallel()
	p := pyStart(t, "")
	for _, c := range []struct {
		name, handler, errorType, message string
		stack                             []*regexp.Regexp // nil: the stackTrace is []
	}{
		{"noimport", "bad_import.handler", "Runtime.ImportModuleError",
			"Unable to import module 'bad_import': No module named 'does_not_exist_xyz'", nil},
		{"nomodule", "nosuch.handler", "Runtime.ImportModuleError",
			"Unable to import module 'nosuch': No module named 'nosuch'", nil},
		{"nohandler", "app.missing_fn", "Runtime.HandlerNotFound",
			"Handler 'missing_fn' missing on module 'app'", nil},
		{"malformed", "app", "Runtime.MalformedHandlerName",
			"Bad handler 'app': not enough values to unpack (expected 2, got 1)", nil},
		{"builtin", "sys.handler", "Runtime.BuiltInModuleConflict",
			"Cannot use built-in module sys as a handler module", nil},
		// AWS's trace for a syntax error: `File "<path>" Line <n>` and the line.
		{"syntax", "bad_syntax.handler", "Runtime.UserCodeSyntaxError",
			"Syntax error in module 'bad_syntax': ", []*regexp.Regexp{
				regexp.MustCompile(`^  File "/[^"]*/bad_syntax\.py" Line 3\n    def handler\(event, context\)\n$`),
			}},
		// Any other exception at import: its own class and the frames from
		// importlib.import_module down, as AWS's runtime reports them.
		{"initraise", "init_raise.handler", "KeyError", "'LAMBADA_TEST_MISSING_SETTING'", []*regexp.Regexp{
			regexp.MustCompile(`^  File "[^"]*/importlib/__init__\.py", line \d+, in import_module\n`),
			regexp.MustCompile(`^  File "/[^"]*/init_raise\.py", line 3, in <module>\n    SETTING = os\.environ\["LAMBADA_TEST_MISSING_SETTING"\]\n$`),
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p.create(t, c.name, c.handler, types.RuntimePython312, nil)
			for i := 0; i < 2; i++ { // the failed environment is discarded: the next call fails the same way
				out := p.invoke(t, c.name, `{}`, nil)
				doc := pyFailed(t, out)
				okMsg := doc.ErrorMessage == c.message
				if c.name == "syntax" { // the parser's wording differs between Python versions
					okMsg = strings.HasPrefix(doc.ErrorMessage, c.message) && strings.HasSuffix(doc.ErrorMessage, "(bad_syntax.py, line 3)")
				}
				if doc.ErrorType != c.errorType || !okMsg || doc.RequestID != "" ||
					(c.name == "initraise" && len(doc.StackTrace) < len(c.stack)) || (c.name != "initraise" && len(doc.StackTrace) != len(c.stack)) {
					t.Fatalf("document %s", out.Payload)
				}
				// The first entry matches the first pattern, and every pattern
				// matches an entry, in order (importlib's frames sit between).
				j := 0
				for _, f := range doc.StackTrace {
					if j < len(c.stack) && c.stack[j].MatchString(f) {
						j++
					} else if j == 0 {
						break
					}
				}
				if j != len(c.stack) {
					t.Errorf("stackTrace %q\ndoes not match %v", doc.StackTrace, c.stack)
				}
				for _, f := range doc.StackTrace {
					if strings.Contains(f, "/bootstrap.py") {
						t.Errorf("runtime frame in the stack trace: %q", f)
					}
				}
				tail := pyTail(t, out)
				errLine := "[ERROR] " + doc.ErrorType + ": " + doc.ErrorMessage + "\rTraceback (most recent call last):"
				if !strings.Contains(tail, errLine) || !awsLogLine("WARNING", "", "LAMBDA_WARNING: Unhandled exception. ").MatchString(strings.SplitAfter(tail, "Unhandled exception. ")[0]) {
					t.Errorf("tail lacks the warning or %q:\n%q", errLine, tail)
				}
				if !strings.Contains(tail, "Init Duration") {
					t.Errorf("call %d was not a cold start:\n%s", i+1, tail)
				}
			}
		})
	}
}

// TestPythonOtherInterpreters runs the bootstrap on the oldest Python it
// supports and on a newer one than the default, when the host has them.
func TestPythonOtherInterpreters(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"3.9", "3.13"} {
		t.Run(v, func(t *testing.T) {
			p := pyStart(t, pyInterpreter(t, v))
			// python3.9 functions can no longer be created: any python3.x
			// function runs on the host's interpreter.
			p.create(t, "values", "app.values_handler", types.RuntimePython311, nil)
			if got := pyOK(t, p.invoke(t, "values", `{}`, nil)); string(got) != `{"d": 1.10, "e": 1E+2, "n": NaN, "b": "bytes", "u": "caf\u00e9", "f": 0.5, "l": [1, [2, 3]]}` {
				t.Errorf("values: %s", got)
			}
			p.create(t, "raise", "app.raise_handler", types.RuntimePython312, nil)
			if doc := pyFailed(t, p.invoke(t, "raise", `{}`, nil)); doc.ErrorType != "MyError" || len(doc.StackTrace) != 2 ||
				!strings.HasSuffix(doc.StackTrace[1], "\n    raise MyError(\"it broke\")\n") {
				t.Errorf("raise: %+v", doc)
			}
			p.create(t, "noimport", "bad_import.handler", types.RuntimePython312, nil)
			if doc := pyFailed(t, p.invoke(t, "noimport", `{}`, nil)); doc.ErrorType != "Runtime.ImportModuleError" {
				t.Errorf("noimport: %+v", doc)
			}
			p.create(t, "logs", "app.log_handler", types.RuntimePython312, nil)
			out := p.invoke(t, "logs", `{}`, nil)
			var r struct {
				RequestID string `json:"request_id"`
			}
			_ = json.Unmarshal(pyOK(t, out), &r)
			if tail := pyTail(t, out); !strings.Contains(tail, "\nhello from print\n") || !awsLogLine("ERROR", r.RequestID, "first line\rsecond line").MatchString(tail) {
				t.Errorf("logs: %s", tail)
			}
		})
	}
}
