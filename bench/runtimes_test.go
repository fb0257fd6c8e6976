package bench

import (
	"context"
	"encoding/json"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
)

// runtimeFn is one echo function of a given runtime on a shared lambada.
type runtimeFn struct {
	name    string
	runtime types.Runtime
	handler string
	zip     func(b *testing.B) []byte
	floor   []string // interpreter start-to-exit command; nil for Go
}

// runtimeFns are the three echo functions: Node, Python and the Go echo.
var runtimeFns = []runtimeFn{
	{"node", types.RuntimeNodejs20x, "index.handler", func(b *testing.B) []byte {
		return servertest.Zip(b, map[string]string{"index.mjs": "export const handler = async (event) => event;\n"})
	}, []string{"node", "-e", "0"}},
	{"python", types.RuntimePython312, "app.lambda_handler", func(b *testing.B) []byte {
		return servertest.Zip(b, map[string]string{"app.py": "def lambda_handler(event, context):\n    return event\n"})
	}, []string{"python3", "-c", "0"}},
	{"go", types.RuntimeProvidedal2023, "bootstrap", func(b *testing.B) []byte {
		return servertest.GoFunction(b, "echo")
	}, nil},
}

// newRuntimeBench starts a lambada and creates every function of fns; the
// returned invokeBench has no url of its own, use reqFor.
func newRuntimeBench(b *testing.B, fns []runtimeFn) *invokeBench {
	b.Helper()
	s := servertest.Start(b, servertest.Options{})
	for _, f := range fns {
		if _, err := s.Client.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
			FunctionName: aws.String(f.name), Role: aws.String(role), Runtime: f.runtime,
			Handler: aws.String(f.handler), Code: &types.FunctionCode{ZipFile: f.zip(b)},
		}); err != nil {
			b.Fatal(err)
		}
	}
	return &invokeBench{s: s, sg: newSigner(s.Creds), hc: keepAliveClient()}
}

// invokeFn is one signed invoke of function fn that must answer a JSON
// value equal to body (interpreters re-encode it, e.g. Python's spaces).
func (ib *invokeBench) invokeFn(b *testing.B, fn string, body []byte) time.Duration {
	c := *ib
	c.url = ib.s.URL() + "/2015-03-31/functions/" + fn + "/invocations"
	d, got, err := do(c.hc, c.req(b, body))
	if err != nil {
		b.Fatalf("%s: %v", fn, err)
	}
	var want, have any
	if json.Unmarshal(body, &want) != nil || json.Unmarshal(got, &have) != nil || !reflect.DeepEqual(want, have) {
		b.Fatalf("%s answered %q, want %q", fn, got, body)
	}
	return d
}

// interpreter resolves argv[0] to the real interpreter binary (python3 may
// be a pyenv shell shim), outside any clock.
func interpreter(b *testing.B, argv []string) []string {
	probe := map[string][]string{"node": {"-p", "process.execPath"}, "python3": {"-c", "import sys; print(sys.executable)"}}[argv[0]]
	out, err := exec.Command(argv[0], probe...).Output()
	if err != nil {
		b.Fatal(err)
	}
	return append([]string{strings.TrimSpace(string(out))}, argv[1:]...)
}

// execFloor is the time from exec of argv to its exit, with the same bare
// environment procFloor uses: the test's own (NODE_EXTRA_CA_CERTS, say)
// would make the interpreter load more than a function's does.
func execFloor(b *testing.B, argv []string) time.Duration {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0)
}

// BenchmarkRuntimeColdStart: the first invoke served by a new environment of
// the Node (nodejs20.x), Python (python3.12) and Go (provided.al2023) echo
// functions, forced as in BenchmarkColdStart (a new Description before each
// timed invoke retires the warm environment). The floors, in the same run:
// `node -e 0` and `python3 -c 0`, exec to exit.
func BenchmarkRuntimeColdStart(b *testing.B) {
	ib := newRuntimeBench(b, runtimeFns)
	argv := map[string][]string{}
	for _, f := range runtimeFns {
		ib.invokeFn(b, f.name, echoPayload) // code cache, connections warm
		if f.floor != nil {
			argv[f.name] = interpreter(b, f.floor)
			execFloor(b, argv[f.name]) // page cache
		}
	}
	b.ResetTimer()
	floors := map[string]latencies{}
	for _, f := range runtimeFns {
		if f.floor == nil {
			continue
		}
		l := make(latencies, 0, b.N)
		for range b.N {
			l = append(l, execFloor(b, argv[f.name]))
		}
		floors[f.name] = l
	}
	cold := map[string]latencies{}
	for i := range b.N {
		for _, f := range runtimeFns { // interleaved, so load hits all alike
			ib.retireWarm(b, f.name, i)
			cold[f.name] = append(cold[f.name], ib.invokeFn(b, f.name, echoPayload))
		}
	}
	b.StopTimer()
	for _, f := range runtimeFns {
		l := cold[f.name]
		b.ReportMetric(us(l.pct(0.50)), f.name+"-cold-p50-µs")
		b.ReportMetric(us(l.pct(0.90)), f.name+"-cold-p90-µs")
		if fl, ok := floors[f.name]; ok {
			b.ReportMetric(us(fl.pct(0.50)), f.name+"-floor-p50-µs")
			b.ReportMetric(us(fl.pct(0.90)), f.name+"-floor-p90-µs")
			b.ReportMetric(float64(l.pct(0.50))/float64(fl.pct(0.50)), f.name+"-cold-p50-x-floor")
		}
	}
}

// BenchmarkRuntimeInvokeWarm: warm invokes of the three echo functions with
// the ~100 B payload, interleaved, and Node's and Python's p50 against the
// Go function's p50 of the same run.
func BenchmarkRuntimeInvokeWarm(b *testing.B) {
	ib := newRuntimeBench(b, runtimeFns)
	for _, f := range runtimeFns {
		for range 100 {
			ib.invokeFn(b, f.name, echoPayload)
		}
	}
	b.ResetTimer()
	l := map[string]latencies{}
	for range b.N {
		for _, f := range runtimeFns {
			l[f.name] = append(l[f.name], ib.invokeFn(b, f.name, echoPayload))
		}
	}
	b.StopTimer()
	for _, f := range runtimeFns {
		b.ReportMetric(us(l[f.name].pct(0.50)), f.name+"-p50-µs")
		b.ReportMetric(us(l[f.name].pct(0.99)), f.name+"-p99-µs")
	}
	for _, f := range runtimeFns[:2] {
		b.ReportMetric(float64(l[f.name].pct(0.50))/float64(l["go"].pct(0.50)), f.name+"-p50-x-go")
	}
}
