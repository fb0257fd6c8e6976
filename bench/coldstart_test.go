package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/lambada-dev/lambada/internal/sandbox"
)

// BenchmarkColdStart: the first invoke served by a new environment, with
// the sandbox off (--isolation none) and on (--isolation auto), against
// the bootstrap's own start, all in one run, the four measurements of an
// iteration back to back so they see the same machine.
//
//   - process: exec of the echo bootstrap binary (the one in the
//     function's zip) with AWS_LAMBDA_RUNTIME_API pointing at a stand-in,
//     until its first GET /next arrives; no lambada around it.
//   - box: the same binary started through the sandbox alone
//     (sandbox.Host, every protection the host has, 128 MB), from Start
//     until its first GET /next: what the isolation itself costs.
//   - cold-none, cold-isolated: a configuration update (a new
//     Description, outside the clock) gives $LATEST a new revision, so the
//     next Invoke (signed before its clock) starts a new environment:
//     SigV4, routing, the code cache lookup, the sandbox, exec, the
//     runtime's init, its first /next, the event and the answer. Each
//     answer carries the environment's log stream name, which must be new.
//
// The ratios divide by process p50 of the same run.
func BenchmarkColdStart(b *testing.B) {
	plain, boxed := newIsolationBench(b, sandbox.None), newIsolationBench(b, sandbox.Auto)
	benches := []*invokeBench{plain, boxed}
	envEvent := []byte(`{"op":"env"}`)
	last := []string{"", ""}
	coldOnce := func(i, n int) time.Duration {
		ib := benches[i]
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
		if stream == "" || stream == last[i] {
			b.Fatalf("iteration %d was not a cold start (log stream %q)", n, stream)
		}
		last[i] = stream
		return d
	}
	bin := bootstrapBinary(b)
	host, err := sandbox.Probe(context.Background(), sandbox.Options{Mode: sandbox.Auto, Key: "bench-cold-" + filepath.Base(filepath.Dir(bin))})
	if err != nil {
		b.Fatal(err)
	}
	defer host.Close()
	// Warm-up: page cache, connections, the code cache.
	procFloor(b, bin)
	boxFloor(b, host, bin)
	coldOnce(0, -1)
	coldOnce(1, -1)

	b.ResetTimer()
	proc := make(latencies, 0, b.N)
	box := make(latencies, 0, b.N)
	cold := []latencies{make(latencies, 0, b.N), make(latencies, 0, b.N)}
	for n := range b.N {
		proc = append(proc, procFloor(b, bin))
		box = append(box, boxFloor(b, host, bin))
		for i := range benches {
			cold[i] = append(cold[i], coldOnce(i, n))
		}
	}
	b.StopTimer()
	report(b, "process", proc, nil)
	report(b, "box", box, nil)
	report(b, "cold-none", cold[0], nil)
	report(b, "cold-isolated", cold[1], nil)
	p50 := float64(proc.pct(0.50))
	b.ReportMetric(float64(box.pct(0.50))/p50, "box-p50-x-process")
	b.ReportMetric(float64(cold[0].pct(0.50))/p50, "cold-none-p50-x-process")
	b.ReportMetric(float64(cold[1].pct(0.50))/p50, "cold-isolated-p50-x-process")
	b.ReportMetric(float64(cold[1].pct(0.90))/float64(proc.pct(0.90)), "cold-isolated-p90-x-process-p90")
}

// boxFloor starts bin through a box of h (128 MB, the code directory at
// /var/task) with AWS_LAMBDA_RUNTIME_API pointing at a stand-in, and
// returns the time from Start to the first GET /next. The box is killed.
func boxFloor(b *testing.B, h *sandbox.Host, bin string) time.Duration {
	addr, arrived, stop := nextStandIn()
	defer stop()
	path, dir := bin, filepath.Dir(bin)
	if h.Mounts() {
		path, dir = sandbox.TaskRoot+"/"+filepath.Base(bin), sandbox.TaskRoot
	}
	box, err := h.Prepare(sandbox.Spec{
		Path: path, Args: []string{path}, Dir: dir,
		Env:     []string{"AWS_LAMBDA_RUNTIME_API=" + addr, "PATH=/usr/bin:/bin"},
		CodeDir: filepath.Dir(bin), MemoryMB: 128, TmpMB: 512,
	})
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if err := box.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		box.Kill()
		_ = box.Cmd.Wait()
		box.Finish()
	}()
	select {
	case t := <-arrived:
		return t.Sub(t0)
	case <-time.After(10 * time.Second):
		b.Fatal("boxed bootstrap never asked for /next")
		return 0
	}
}

// nextStandIn is a Runtime API stand-in that notes when the first GET
// /2018-06-01/runtime/invocation/next arrives and parks it.
func nextStandIn() (addr string, arrived <-chan time.Time, stop func()) {
	ch := make(chan time.Time, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/2018-06-01/runtime/invocation/next" {
			select {
			case ch <- time.Now():
			default:
			}
			<-r.Context().Done() // park /next like a Runtime API with no event
			return
		}
		http.NotFound(w, r)
	}))
	return srv.Listener.Addr().String(), ch, srv.Close
}
