package runtimes_test

// The embedded Node.js bootstrap through the whole server: handlers run as
// on AWS's Node.js runtime (docs/behaviour/runtime-api.md §3–§5, §8, §9;
// docs/behaviour/streaming.md §7). Handler folders live in testdata/functions/node.

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
)

// nodeLogLine matches one console line: <ISO time>\t<id>\t<LEVEL>\t<message>.
var nodeLogLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t([^\t]+)\t(TRACE|DEBUG|INFO|WARN|ERROR|FATAL)\t(.*)$`)

// nodeLines returns the console lines of a log tail as id, level, message.
func nodeLines(log string) [][3]string {
	var out [][3]string
	for _, l := range strings.Split(log, "\n") {
		if m := nodeLogLine.FindStringSubmatch(l); m != nil {
			out = append(out, [3]string{m[1], m[2], m[3]})
		}
	}
	return out
}

// nodeErrorLine finds "<title> \t{json}" logged at ERROR and decodes the
// JSON.
func nodeErrorLine(t *testing.T, log, id, title string) map[string]any {
	t.Helper()
	for _, l := range nodeLines(log) {
		if l[0] == id && l[1] == "ERROR" && strings.HasPrefix(l[2], title+" \t{") {
			var v map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(l[2], title+" \t")), &v); err != nil {
				t.Fatalf("%s line %q: %v", title, l[2], err)
			}
			return v
		}
	}
	t.Fatalf("no %q line for %s in\n%s", title, id, log)
	return nil
}

func TestNodeHandlers(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	nodeCreate(t, c, "basic", "basic", "index.handler", "")
	nodeCreate(t, c, "cb", "basic", "index.callback", "")

	t.Run("warm state and init once", func(t *testing.T) {
		var pid int
		for i := 1; i <= 3; i++ {
			var got struct{ Counter, Loads, Pid int }
			out := nodeOK(t, c, "basic", `{"op":"count"}`, &got)
			if got.Counter != i || got.Loads != 1 {
				t.Fatalf("call %d: %+v", i, got)
			}
			if i == 1 {
				pid = got.Pid
				// Output written during init belongs to the first invocation's log,
				// with the request id field "undefined" as on AWS.
				if !strings.Contains(nodeTail(t, out.LogResult), "\tundefined\tINFO\tmodule loaded 1\n") {
					t.Errorf("init line missing from\n%s", nodeTail(t, out.LogResult))
				}
			} else if got.Pid != pid {
				t.Fatalf("call %d ran in pid %d, not %d", i, got.Pid, pid)
			}
		}
	})

	t.Run("echo", func(t *testing.T) {
		out := nodeOK(t, c, "basic", `{"op":"echo","x":[1,"two",{"3":null}]}`, nil)
		if string(out.Payload) != `{"op":"echo","x":[1,"two",{"3":null}]}` {
			t.Fatalf("payload %s", out.Payload)
		}
		// An empty payload arrives as {}.
		out = nodeOK(t, c, "basic", ``, nil)
		if string(out.Payload) != `{}` {
			t.Fatalf("empty payload: %s", out.Payload)
		}
		// 5 MB both ways: the runtime client's reads and writes span
		// many socket buffers.
		big := `{"op":"echo","s":"` + strings.Repeat("0123456789", 500_000) + `"}`
		if out = nodeOK(t, c, "basic", big, nil); string(out.Payload) != big {
			t.Fatalf("5 MB echo: %d bytes back", len(out.Payload))
		}
	})

	t.Run("undefined result is null", func(t *testing.T) {
		out := nodeOK(t, c, "basic", `{"op":"undefined"}`, nil)
		if string(out.Payload) != "null" {
			t.Fatalf("payload %q", out.Payload)
		}
	})

	t.Run("context", func(t *testing.T) {
		cc := `{"client":{"installation_id":"i-1"},"custom":{"tenant":"t-42"},"env":{"k":"v"}}`
		var got struct {
			AwsRequestID                   string         `json:"awsRequestId"`
			FunctionName                   string         `json:"functionName"`
			FunctionVersion                string         `json:"functionVersion"`
			InvokedFunctionArn             string         `json:"invokedFunctionArn"`
			MemoryLimitInMB                string         `json:"memoryLimitInMB"`
			MemoryType                     string         `json:"memoryType"`
			LogGroupName                   string         `json:"logGroupName"`
			LogStreamName                  string         `json:"logStreamName"`
			Remaining                      int            `json:"remaining"`
			ClientContext                  map[string]any `json:"clientContext"`
			ClientContextType              string         `json:"clientContextType"`
			IdentityType                   string         `json:"identityType"`
			CallbackWaitsForEmptyEventLoop bool           `json:"callbackWaitsForEmptyEventLoop"`
			TraceID                        string         `json:"traceId"`
			JSON                           map[string]any `json:"json"`
			Helper                         string         `json:"helper"`
			Cwd                            string         `json:"cwd"`
			TaskRoot                       string         `json:"taskRoot"`
		}
		out := nodeOK(t, c, "basic", `{"op":"context"}`, &got, func(in *lambda.InvokeInput) {
			in.ClientContext = aws.String(base64.StdEncoding.EncodeToString([]byte(cc)))
		})
		var wantCC map[string]any
		_ = json.Unmarshal([]byte(cc), &wantCC)
		if got.AwsRequestID == "" || got.FunctionName != "basic" || got.FunctionVersion != "$LATEST" ||
			got.InvokedFunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:basic" ||
			got.MemoryLimitInMB != "128" || got.MemoryType != "string" || got.LogGroupName != "/aws/lambda/basic" ||
			!regexp.MustCompile(`^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$`).MatchString(got.LogStreamName) ||
			got.Remaining <= 0 || got.Remaining > 3000 || !reflect.DeepEqual(got.ClientContext, wantCC) ||
			got.IdentityType != "undefined" || !got.CallbackWaitsForEmptyEventLoop ||
			!strings.HasPrefix(got.TraceID, "Root=1-") || got.Helper != "helper" || got.Cwd != got.TaskRoot {
			t.Fatalf("context %s", out.Payload)
		}
		// JSON.stringify(context) as on AWS: data members, no functions.
		for _, k := range []string{"awsRequestId", "functionName", "functionVersion", "invokedFunctionArn", "memoryLimitInMB",
			"logGroupName", "logStreamName", "callbackWaitsForEmptyEventLoop", "clientContext"} {
			if _, ok := got.JSON[k]; !ok {
				t.Errorf("JSON.stringify(context) lacks %s: %v", k, got.JSON)
			}
		}
		// Without a ClientContext it is undefined; the trace id is fresh.
		var again struct {
			AwsRequestID      string `json:"awsRequestId"`
			ClientContextType string `json:"clientContextType"`
			TraceID           string `json:"traceId"`
		}
		nodeOK(t, c, "basic", `{"op":"context"}`, &again)
		if again.ClientContextType != "undefined" || again.AwsRequestID == got.AwsRequestID ||
			!strings.HasPrefix(again.TraceID, "Root=1-") || again.TraceID == got.TraceID {
			t.Fatalf("second context %+v (first id %s, trace %s)", again, got.AwsRequestID, got.TraceID)
		}
		// An ARN with a qualifier is passed as invoked.
		var q struct {
			InvokedFunctionArn string `json:"invokedFunctionArn"`
		}
		nodeOK(t, c, "basic", `{"op":"context"}`, &q, func(in *lambda.InvokeInput) { in.Qualifier = aws.String("$LATEST") })
		if q.InvokedFunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:basic:$LATEST" {
			t.Fatalf("qualified ARN %q", q.InvokedFunctionArn)
		}
	})

	t.Run("console", func(t *testing.T) {
		var id string
		out := nodeOK(t, c, "basic", `{"op":"log"}`, &id)
		log := nodeTail(t, out.LogResult)
		var got [][3]string
		for _, l := range nodeLines(log) {
			if l[0] == id {
				got = append(got, l)
			}
		}
		want := [][3]string{
			{id, "INFO", "hello world 42"},
			{id, "INFO", "info line"},
			{id, "WARN", "warn line"},
			{id, "ERROR", "error line"},
			{id, "DEBUG", "debug line"},
			{id, "TRACE", "trace line"},
			{id, "INFO", "first\rsecond"},
			{id, "INFO", "{ a: 1 }"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("console lines\n%q\nwant\n%q\nlog:\n%s", got, want, log)
		}
		if !strings.Contains(log, "START RequestId: "+id) || !strings.Contains(log, "REPORT RequestId: "+id) {
			t.Fatalf("log %s", log)
		}
	})

	t.Run("handler errors", func(t *testing.T) {
		for _, tc := range []struct {
			payload, typ, msg string
			trace             bool // trace[0] is "<type>: <msg>" followed by frames
		}{
			{`{"op":"throw","msg":"plain failure"}`, "Error", "plain failure", true},
			{`{"op":"throwCustom","msg":"bad email"}`, "ValidationError", "bad email", true},
			{`{"op":"throwString"}`, "string", "just a string", false},
			{`{"op":"throwObject"}`, "object", "[object Object]", false},
			{`{"op":"circular"}`, "Error", "Unable to stringify response body", true},
		} {
			doc, out := nodeFail(t, c, "basic", tc.payload)
			if doc.ErrorType != tc.typ || doc.ErrorMessage != tc.msg {
				t.Errorf("%s: %+v", tc.payload, doc)
				continue
			}
			if tc.trace {
				if len(doc.Trace) < 2 || doc.Trace[0] != tc.typ+": "+tc.msg || !strings.HasPrefix(doc.Trace[1], "    at ") {
					t.Errorf("%s: trace %q", tc.payload, doc.Trace)
				}
			} else if len(doc.Trace) != 0 {
				t.Errorf("%s: trace %q", tc.payload, doc.Trace)
			}
			// Logged before it was posted: "Invoke Error \t{json}".
			log := nodeTail(t, out.LogResult)
			id := ""
			for _, l := range nodeLines(log) {
				if l[1] == "ERROR" && strings.HasPrefix(l[2], "Invoke Error \t") {
					id = l[0]
				}
			}
			if id == "" || id == "undefined" {
				t.Errorf("%s: no Invoke Error line in\n%s", tc.payload, log)
				continue
			}
			logged := nodeErrorLine(t, log, id, "Invoke Error")
			if tc.trace && (logged["errorType"] != tc.typ || logged["errorMessage"] != tc.msg) {
				t.Errorf("%s: logged %v", tc.payload, logged)
			}
		}
		// A custom error's own properties appear in the log line.
		_, out := nodeFail(t, c, "basic", `{"op":"throwCustom","msg":"x"}`)
		if !strings.Contains(nodeTail(t, out.LogResult), `"field":"email"`) {
			t.Errorf("custom property not logged:\n%s", nodeTail(t, out.LogResult))
		}
		// Handled errors keep the environment warm.
		var a, b struct{ Pid int }
		nodeOK(t, c, "basic", `{"op":"count"}`, &a)
		nodeFail(t, c, "basic", `{"op":"throw","msg":"again"}`)
		nodeOK(t, c, "basic", `{"op":"count"}`, &b)
		if a.Pid == 0 || a.Pid != b.Pid {
			t.Fatalf("pid %d then %d", a.Pid, b.Pid)
		}
	})

	t.Run("promise never settles", func(t *testing.T) {
		doc, _ := nodeFail(t, c, "basic", `{"op":"never"}`)
		if doc.ErrorType != "Runtime.NodeJsExit" || !strings.HasPrefix(doc.ErrorMessage, "The Lambda runtime client detected an unexpected Node.js exit code.") {
			t.Fatalf("%+v", doc)
		}
		var got struct{ Counter int }
		nodeOK(t, c, "basic", `{"op":"count"}`, &got)
	})

	t.Run("nested export path", func(t *testing.T) {
		nodeCreate(t, c, "deep", "basic", "index.nested.deep.fn", "")
		var got string
		nodeOK(t, c, "deep", `{}`, &got)
		if got != "deep" {
			t.Fatalf("got %q", got)
		}
	})

	t.Run("unhandled rejection", func(t *testing.T) {
		doc, out := nodeFail(t, c, "basic", `{"op":"reject"}`)
		if doc.ErrorType != "Runtime.UnhandledPromiseRejection" || doc.ErrorMessage != "Error: nobody catches this" ||
			len(doc.Trace) == 0 || doc.Trace[0] != "Runtime.UnhandledPromiseRejection: Error: nobody catches this" {
			t.Fatalf("%+v", doc)
		}
		log := nodeTail(t, out.LogResult)
		if !strings.Contains(log, "\tERROR\tUnhandled Promise Rejection \t{\"errorType\":\"Runtime.UnhandledPromiseRejection\"") {
			t.Errorf("log:\n%s", log)
		}
		// The process exits after reporting it: the next call runs elsewhere.
		pid := nodeLoggedPid(t, log)
		nodeWaitGone(t, pid)
		var after struct{ Pid int }
		nodeOK(t, c, "basic", `{"op":"count"}`, &after)
		if after.Pid == pid {
			t.Fatalf("pid %d served again", pid)
		}
	})

	t.Run("uncaught exception", func(t *testing.T) {
		doc, out := nodeFail(t, c, "basic", `{"op":"uncaught"}`)
		if doc.ErrorType != "TypeError" || doc.ErrorMessage != "thrown from a timer" || len(doc.Trace) < 2 || doc.Trace[0] != "TypeError: thrown from a timer" {
			t.Fatalf("%+v", doc)
		}
		log := nodeTail(t, out.LogResult)
		if !strings.Contains(log, "\tERROR\tUncaught Exception \t{\"errorType\":\"TypeError\"") {
			t.Errorf("log:\n%s", log)
		}
		pid := nodeLoggedPid(t, log)
		nodeWaitGone(t, pid)
		var after struct{ Pid int }
		nodeOK(t, c, "basic", `{"op":"count"}`, &after)
		if after.Pid == pid {
			t.Fatalf("pid %d served again", pid)
		}
	})

	t.Run("crash while idle", func(t *testing.T) {
		// A timer throws after the response went out: the process exits
		// between invocations and a later call runs in another one.
		var got struct{ Pid int }
		nodeOK(t, c, "basic", `{"op":"later"}`, &got)
		nodeWaitGone(t, got.Pid)
		// lambada notices an idle environment's exit when it reaps the
		// process; an invocation dispatched in between gets Runtime.ExitError.
		time.Sleep(300 * time.Millisecond)
		var after struct{ Pid int }
		nodeOK(t, c, "basic", `{"op":"count"}`, &after)
		if after.Pid == got.Pid {
			t.Fatalf("pid %d served again", got.Pid)
		}
	})

	t.Run("response too large", func(t *testing.T) {
		var a struct{ Counter, Pid int }
		nodeOK(t, c, "basic", `{"op":"count"}`, &a)
		out := nodeInvoke(t, c, "basic", `{"op":"big","n":6291555}`)
		var doc struct{ ErrorType, ErrorMessage string }
		if aws.ToString(out.FunctionError) != "Unhandled" || json.Unmarshal(out.Payload, &doc) != nil || doc.ErrorType != "Function.ResponseSizeTooLarge" {
			t.Fatalf("%v %.300s", aws.ToString(out.FunctionError), out.Payload)
		}
		// Exactly the limit (a JSON string: n+2 bytes) passes.
		out = nodeOK(t, c, "basic", `{"op":"big","n":6291554}`, nil)
		if len(out.Payload) != 6291556 {
			t.Fatalf("%d bytes", len(out.Payload))
		}
		var b struct{ Counter, Pid int }
		nodeOK(t, c, "basic", `{"op":"count"}`, &b)
		if b.Counter == 0 {
			t.Fatalf("after the oversized response: %+v", b)
		}
	})

	t.Run("callback waits for the event loop", func(t *testing.T) {
		var got struct {
			TimerFiredAtCallback int  `json:"timerFiredAtCallback"`
			Waits                bool `json:"waits"`
		}
		var fired0 int
		nodeOK(t, c, "cb", `{"op":"timerFired"}`, &fired0)
		start := time.Now()
		out := nodeOK(t, c, "cb", `{"op":"wait","ms":400}`, &got)
		if d := time.Since(start); d < 400*time.Millisecond || !got.Waits {
			t.Fatalf("answered after %v (%+v): did not wait for the timer", d, got)
		}
		// The timer ran within the invocation: its line is in this log.
		if !strings.Contains(nodeTail(t, out.LogResult), "\tINFO\ttimer fired\n") {
			t.Errorf("timer line not in\n%s", nodeTail(t, out.LogResult))
		}
		var fired int
		nodeOK(t, c, "cb", `{"op":"timerFired"}`, &fired)
		if fired != fired0+1 {
			t.Fatalf("timer fired %d times, want %d", fired, fired0+1)
		}
	})

	t.Run("callback does not wait", func(t *testing.T) {
		var fired0 int
		nodeOK(t, c, "cb", `{"op":"timerFired"}`, &fired0)
		var got struct {
			TimerFiredAtCallback int  `json:"timerFiredAtCallback"`
			Waits                bool `json:"waits"`
		}
		start := time.Now()
		nodeOK(t, c, "cb", `{"op":"wait","wait":false,"ms":700}`, &got)
		if d := time.Since(start); d > 600*time.Millisecond || got.Waits {
			t.Fatalf("answered after %v (%+v): waited for the timer", d, got)
		}
		// The setting is per invocation; the timer still fires later
		// (lambada does not freeze idle environments).
		var fired int
		nodeOK(t, c, "cb", `{"op":"timerFired"}`, &fired)
		if fired != fired0 {
			t.Fatalf("timer already fired right after the response")
		}
		time.Sleep(900 * time.Millisecond)
		nodeOK(t, c, "cb", `{"op":"timerFired"}`, &fired)
		if fired != fired0+1 {
			t.Fatalf("timer fired %d times, want %d", fired, fired0+1)
		}
	})

	t.Run("callback results and legacy context methods", func(t *testing.T) {
		for _, tc := range []struct{ op, want string }{
			{"succeed", `{"via":"succeed"}`},
			{"done", `{"via":"done"}`},
			{"twice", `"first"`},
			{"none", `null`}, // neither callback nor promise: null once the loop is empty
		} {
			out := nodeOK(t, c, "cb", `{"op":"`+tc.op+`"}`, nil)
			if string(out.Payload) != tc.want {
				t.Errorf("%s: %s, want %s", tc.op, out.Payload, tc.want)
			}
		}
		for _, tc := range []struct{ op, msg string }{{"error", "callback failure"}, {"fail", "fail failure"}} {
			doc, _ := nodeFail(t, c, "cb", `{"op":"`+tc.op+`"}`)
			if doc.ErrorType != "Error" || doc.ErrorMessage != tc.msg || len(doc.Trace) < 2 || doc.Trace[0] != "Error: "+tc.msg {
				t.Errorf("%s: %+v", tc.op, doc)
			}
		}
	})

	t.Run("module kinds", func(t *testing.T) {
		for _, tc := range []struct {
			name, dir, handler string
			runtime            types.Runtime
			kind               string
			hasRequire         bool
		}{
			{"esm", "esm", "index.handler", types.RuntimeNodejs22x, "esm", false},
			{"typemodule", "typemodule", "index.handler", "", "type-module", false},
			{"cjsext", "cjsext", "app.handler", "", "cjs", true},
			{"nested", "nested", "src/handlers/app.main", "", "nested", true},
		} {
			nodeCreate(t, c, tc.name, tc.dir, tc.handler, tc.runtime)
			var got struct {
				Kind       string `json:"kind"`
				HasRequire bool   `json:"hasRequire"`
				File       string `json:"file"`
				Calls      int    `json:"calls"`
				URL        bool   `json:"url"`
				Self       bool   `json:"self"`
			}
			out := nodeOK(t, c, tc.name, `{}`, &got)
			if got.Kind != tc.kind || got.HasRequire != tc.hasRequire {
				t.Errorf("%s: %s", tc.name, out.Payload)
			}
			switch tc.name {
			case "nested":
				if got.File != "src/handlers/app.js" {
					t.Errorf("nested: %s", out.Payload)
				}
			case "esm":
				if got.Calls != 1 || !got.URL || !got.Self {
					t.Errorf("esm: %s", out.Payload)
				}
				nodeOK(t, c, tc.name, `{}`, &got)
				if got.Calls != 2 {
					t.Errorf("esm second call: %+v", got)
				}
			}
		}
	})

	t.Run("init errors", func(t *testing.T) {
		for _, tc := range []struct {
			name, dir, handler, typ, msg string
			prefix                       bool // msg is a prefix
		}{
			{"nohandler", "basic", "index.nope", "Runtime.HandlerNotFound", "index.nope is undefined or not exported", false},
			{"notfn", "basic", "index.notAFunction", "Runtime.HandlerNotFound", "index.notAFunction is not a function", false},
			{"nomodule", "basic", "missing.handler", "Runtime.ImportModuleError", "Error: Cannot find module 'missing'", true},
			{"nodir", "basic", "lib/missing.handler", "Runtime.ImportModuleError", "Error: Cannot find module 'missing'", true},
			{"malformed", "basic", "index", "Runtime.MalformedHandlerName", "Bad handler", false},
			{"dotdot", "basic", "../index.handler", "Runtime.MalformedHandlerName", "'../index.handler' is not a valid handler name. Use absolute paths when specifying root directories in handler names.", false},
			{"syntax", "syntax", "index.handler", "Runtime.UserCodeSyntaxError", "SyntaxError: ", true},
			{"initthrow", "initthrow", "index.handler", "ConfigError", "missing setting DB_URL", false},
		} {
			nodeCreate(t, c, tc.name, tc.dir, tc.handler, "")
			for attempt := 0; attempt < 2; attempt++ { // each invocation retries the cold start
				doc, out := nodeFail(t, c, tc.name, `{}`)
				okMsg := doc.ErrorMessage == tc.msg || (tc.prefix && strings.HasPrefix(doc.ErrorMessage, tc.msg))
				if doc.ErrorType != tc.typ || !okMsg || len(doc.Trace) == 0 || !strings.HasPrefix(doc.Trace[0], tc.typ+": ") {
					t.Errorf("%s: %+v", tc.name, doc)
					break
				}
				log := nodeTail(t, out.LogResult)
				logged := nodeErrorLine(t, log, "undefined", "Uncaught Exception")
				if logged["errorType"] != tc.typ || logged["errorMessage"] != doc.ErrorMessage {
					t.Errorf("%s: logged %v", tc.name, logged)
				}
			}
		}
	})

	t.Run("trace id", func(t *testing.T) {
		var got struct {
			TraceID string `json:"traceId"`
		}
		nodeOK(t, c, "basic", `{"op":"context"}`, &got)
		if !regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=[01]`).MatchString(got.TraceID) {
			t.Fatalf("_X_AMZN_TRACE_ID %q", got.TraceID)
		}
	})
}

func TestNodeStreaming(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	nodeCreate(t, c, "stream", "stream", "index.handler", types.RuntimeNodejs22x)
	nodeCreate(t, c, "plain", "stream", "index.plain", "")

	t.Run("chunks in order, as written", func(t *testing.T) {
		start := time.Now()
		r := nodeStream(t, c, "stream", `{"op":"chunks","n":3,"ms":300}`)
		end := time.Now()
		if got := strings.Join(r.Chunks, ""); got != "chunk-0;chunk-1;chunk-2;" || len(r.Chunks) < 2 {
			t.Fatalf("chunks %q", r.Chunks)
		}
		if first := r.Arrived[0]; end.Sub(first) < 400*time.Millisecond {
			t.Fatalf("first chunk at %v, end at %v: not streamed", first.Sub(start), end.Sub(start))
		}
		if ct := aws.ToString(r.Out.ResponseStreamContentType); ct != "text/plain" {
			t.Fatalf("ResponseStreamContentType %q", ct)
		}
		if r.Complete.ErrorCode != nil || r.Complete.ErrorDetails != nil {
			t.Fatalf("InvokeComplete %s %s", aws.ToString(r.Complete.ErrorCode), aws.ToString(r.Complete.ErrorDetails))
		}
		if !strings.Contains(nodeTail(t, r.Complete.LogResult), "REPORT RequestId:") {
			t.Fatalf("LogResult %s", nodeTail(t, r.Complete.LogResult))
		}
	})

	t.Run("mid-stream error", func(t *testing.T) {
		r := nodeStream(t, c, "stream", `{"op":"fail"}`)
		if got := strings.Join(r.Chunks, ""); got != "partial;" {
			t.Fatalf("chunks %q", r.Chunks)
		}
		if aws.ToString(r.Complete.ErrorCode) != "Error" {
			t.Fatalf("ErrorCode %q", aws.ToString(r.Complete.ErrorCode))
		}
		doc := nodeDecodeErr(t, []byte(aws.ToString(r.Complete.ErrorDetails)))
		if doc.ErrorType != "Error" || doc.ErrorMessage != "mid-stream failure" || len(doc.Trace) < 2 || doc.Trace[0] != "Error: mid-stream failure" {
			t.Fatalf("ErrorDetails %s", aws.ToString(r.Complete.ErrorDetails))
		}
		if !strings.Contains(nodeTail(t, r.Complete.LogResult), "\tERROR\tInvoke Error \t{\"errorType\":\"Error\",\"errorMessage\":\"mid-stream failure\"") {
			t.Fatalf("log %s", nodeTail(t, r.Complete.LogResult))
		}
		// The environment stays warm after a handled streaming error.
		r = nodeStream(t, c, "stream", `{"op":"endData"}`)
		if strings.Join(r.Chunks, "") != "only-end" || r.Complete.ErrorCode != nil {
			t.Fatalf("after the error: %q %v", r.Chunks, aws.ToString(r.Complete.ErrorCode))
		}
	})

	t.Run("error before any byte", func(t *testing.T) {
		r := nodeStream(t, c, "stream", `{"op":"failEarly"}`)
		if len(r.Chunks) != 0 || aws.ToString(r.Complete.ErrorCode) != "RangeError" {
			t.Fatalf("chunks %q, ErrorCode %q", r.Chunks, aws.ToString(r.Complete.ErrorCode))
		}
		if doc := nodeDecodeErr(t, []byte(aws.ToString(r.Complete.ErrorDetails))); doc.ErrorMessage != "nothing written" {
			t.Fatalf("ErrorDetails %s", aws.ToString(r.Complete.ErrorDetails))
		}
	})

	t.Run("HttpResponseStream prelude", func(t *testing.T) {
		r := nodeStream(t, c, "stream", `{"op":"http"}`)
		want := `{"statusCode":201,"headers":{"x-custom":"yes"}}` + strings.Repeat("\x00", 8) + "hello http"
		if got := strings.Join(r.Chunks, ""); got != want {
			t.Fatalf("body %q, want %q", got, want)
		}
		if ct := aws.ToString(r.Out.ResponseStreamContentType); ct != "application/vnd.awslambda.http-integration-response" {
			t.Fatalf("ResponseStreamContentType %q", ct)
		}
	})

	t.Run("pipeline and end", func(t *testing.T) {
		for _, tc := range []struct{ op, want string }{
			{"pipeline", "abc"},
			{"endData", "only-end"},
			{"late", "x;Runtime.InvalidStreamingOperation: Cannot set content-type, too late."},
		} {
			r := nodeStream(t, c, "stream", `{"op":"`+tc.op+`"}`)
			if got := strings.Join(r.Chunks, ""); got != tc.want || r.Complete.ErrorCode != nil {
				t.Errorf("%s: %q %s", tc.op, got, aws.ToString(r.Complete.ErrorCode))
			}
			if tc.op != "late" {
				if ct := aws.ToString(r.Out.ResponseStreamContentType); ct != "application/octet-stream" {
					t.Errorf("%s: content type %q", tc.op, ct)
				}
			}
		}
	})

	t.Run("empty body", func(t *testing.T) {
		r := nodeStream(t, c, "stream", `{"op":"empty"}`)
		if len(r.Chunks) != 0 || r.Complete.ErrorCode != nil {
			t.Fatalf("%q %s", r.Chunks, aws.ToString(r.Complete.ErrorCode))
		}
	})

	t.Run("uncaught exception mid-stream", func(t *testing.T) {
		r := nodeStream(t, c, "stream", `{"op":"uncaught"}`)
		if got := strings.Join(r.Chunks, ""); got != "before;" || aws.ToString(r.Complete.ErrorCode) != "TypeError" {
			t.Fatalf("%q %s", got, aws.ToString(r.Complete.ErrorCode))
		}
		if doc := nodeDecodeErr(t, []byte(aws.ToString(r.Complete.ErrorDetails))); doc.ErrorMessage != "timer crash" {
			t.Fatalf("ErrorDetails %s", aws.ToString(r.Complete.ErrorDetails))
		}
		// The process exited after reporting it.
		pid := nodeLoggedPid(t, nodeTail(t, r.Complete.LogResult))
		nodeWaitGone(t, pid)
		var after struct{ Calls, Pid int }
		if err := json.Unmarshal([]byte(strings.Join(nodeStream(t, c, "stream", `{"op":"count"}`).Chunks, "")), &after); err != nil {
			t.Fatal(err)
		}
		if after.Pid == pid {
			t.Fatalf("pid %d served again", pid)
		}
	})

	t.Run("context and logs", func(t *testing.T) {
		r := nodeStream(t, c, "stream", `{"op":"context"}`)
		var got struct {
			ID        string
			Fn        string
			Waits     bool
			Remaining bool
			Calls     int
		}
		if err := json.Unmarshal([]byte(strings.Join(r.Chunks, "")), &got); err != nil || got.ID == "" || got.Fn != "stream" || !got.Waits || !got.Remaining || got.Calls < 2 {
			t.Fatalf("%q (%v)", r.Chunks, err)
		}
		if !strings.Contains(nodeTail(t, r.Complete.LogResult), "\t"+got.ID+"\tINFO\tstreaming "+got.ID+"\n") {
			t.Fatalf("log %s", nodeTail(t, r.Complete.LogResult))
		}
	})

	t.Run("plain handler on the streaming API", func(t *testing.T) {
		r := nodeStream(t, c, "plain", `{"a":1}`)
		if got := strings.Join(r.Chunks, ""); got != `{"plain":true,"event":{"a":1}}` || r.Complete.ErrorCode != nil {
			t.Fatalf("%q %s", got, aws.ToString(r.Complete.ErrorCode))
		}
		if ct := aws.ToString(r.Out.ResponseStreamContentType); ct != "application/json" {
			t.Fatalf("ResponseStreamContentType %q", ct)
		}
	})

	t.Run("streaming handler through Invoke", func(t *testing.T) {
		out := nodeInvoke(t, c, "stream", `{"op":"chunks","n":3}`)
		if out.FunctionError != nil || string(out.Payload) != "chunk-0;chunk-1;chunk-2;" {
			t.Fatalf("%v %q", aws.ToString(out.FunctionError), out.Payload)
		}
		// A mid-stream failure is a function error on buffered Invoke.
		out = nodeInvoke(t, c, "stream", `{"op":"fail"}`)
		if aws.ToString(out.FunctionError) != "Unhandled" {
			t.Fatalf("%v %q", aws.ToString(out.FunctionError), out.Payload)
		}
		if doc := nodeDecodeErr(t, out.Payload); doc.ErrorType != "Error" || doc.ErrorMessage != "mid-stream failure" {
			t.Fatalf("%s", out.Payload)
		}
	})
}
