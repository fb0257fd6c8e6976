package bench

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/lambada-dev/lambada/internal/sandbox"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
)

// newIsolationBench is newInvokeBench with --isolation mode.
func newIsolationBench(b *testing.B, mode sandbox.Mode) *invokeBench {
	b.Helper()
	ib := newInvokeBenchWith(b, servertest.Options{Config: func(c *server.Config) { c.Isolation = mode }})
	resp, err := http.Get(ib.s.URL() + "/health")
	if err != nil {
		b.Fatal(err)
	}
	var h struct {
		Isolation struct {
			Active map[string]bool `json:"active"`
		} `json:"isolation"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	b.Logf("isolation %s: %v", mode, h.Isolation.Active)
	return ib
}

// BenchmarkIsolation: cold start and warm invoke p50 with the sandbox
// (--isolation auto: user, mount and pid namespaces, cgroups, rlimits
// where the host allows) against --isolation none, two servers in the
// same run, calls alternating between them so both see the same machine.
// Cold starts as in BenchmarkColdStart (a configuration update retires the
// warm environment outside the clock); each answers with its log stream
// name, which must be new (pids are 1 in every box).
func BenchmarkIsolation(b *testing.B) {
	plain, boxed := newIsolationBench(b, sandbox.None), newIsolationBench(b, sandbox.Auto)
	benches := []*invokeBench{plain, boxed}
	for range 200 {
		for _, ib := range benches {
			ib.invoke(b, echoPayload, echoPayload)
		}
	}
	b.ResetTimer()
	warm := []latencies{make(latencies, 0, b.N), make(latencies, 0, b.N)}
	for range b.N {
		for i, ib := range benches {
			warm[i] = append(warm[i], ib.invoke(b, echoPayload, echoPayload))
		}
	}

	envEvent := []byte(`{"op":"env"}`)
	last := []string{"", ""}
	cold := []latencies{make(latencies, 0, b.N), make(latencies, 0, b.N)}
	for n := range b.N {
		for i, ib := range benches {
			cold[i] = append(cold[i], ib.coldInvoke(b, n, envEvent, &last[i]))
		}
	}
	b.StopTimer()
	report(b, "warm-none", warm[0], nil)
	report(b, "warm-isolated", warm[1], nil)
	report(b, "cold-none", cold[0], nil)
	report(b, "cold-isolated", cold[1], nil)
	b.ReportMetric(float64(warm[1].pct(0.50))/float64(warm[0].pct(0.50)), "warm-p50-x-none")
	b.ReportMetric(float64(cold[1].pct(0.50))/float64(cold[0].pct(0.50)), "cold-p50-x-none")
}

// BenchmarkRuntimeAPIPeer: warm invoke p50 with the Runtime API peer check
// (--isolation auto, every protection) against the same sandbox without it
// (runtime_api_peer disabled), two servers in the same run, calls
// alternating between them. The check runs once per accepted connection;
// the runtime keeps its connection alive, so a warm invoke should not pay
// it at all.
func BenchmarkRuntimeAPIPeer(b *testing.B) {
	without := newInvokeBenchWith(b, servertest.Options{Config: func(c *server.Config) {
		c.Isolation, c.IsolationDisable = "auto", []string{sandbox.RuntimeAPIPeer}
	}})
	with := newIsolationBench(b, "auto")
	benches := []*invokeBench{without, with}
	for range 200 {
		for _, ib := range benches {
			ib.invoke(b, echoPayload, echoPayload)
		}
	}
	b.ResetTimer()
	warm := []latencies{make(latencies, 0, b.N), make(latencies, 0, b.N)}
	for range b.N {
		for i, ib := range benches {
			warm[i] = append(warm[i], ib.invoke(b, echoPayload, echoPayload))
		}
	}
	b.StopTimer()
	report(b, "warm-without", warm[0], nil)
	report(b, "warm-with", warm[1], nil)
	b.ReportMetric(float64(warm[1].pct(0.50))/float64(warm[0].pct(0.50)), "warm-p50-x-without")
}

// coldInvoke retires ib's warm echo environment and invokes it once with
// envEvent ({"op":"env"}): the answer must come from a new environment (a
// log stream other than *last, which it becomes).
func (ib *invokeBench) coldInvoke(b *testing.B, n int, envEvent []byte, last *string) time.Duration {
	ib.retireWarm(b, "echo", n)
	d, got, err := do(ib.hc, ib.req(b, envEvent))
	if err != nil {
		b.Fatal(err)
	}
	var env map[string]string
	if err := json.Unmarshal(got, &env); err != nil {
		b.Fatalf("env answer %.200q: %v", got, err)
	}
	stream := env["AWS_LAMBDA_LOG_STREAM_NAME"]
	if stream == "" || stream == *last {
		b.Fatalf("iteration %d was not a cold start (log stream %q)", n, stream)
	}
	*last = stream
	return d
}
