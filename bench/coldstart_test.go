package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
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
//   - first-answer: the same, but the stand-in hands the first GET
//     /next the same event as the cold invokes and the clock stops when
//     the runtime posts its answer: what any implementation pays for a
//     cold start before its own work (exec, the runtime's init, the first
//     event through a fresh runtime), without the HTTP front door.
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
// The ratios divide by process p50 (and first-answer p50) of the same
// run.
func BenchmarkColdStart(b *testing.B) {
	plain, boxed := newIsolationBench(b, sandbox.None), newIsolationBench(b, sandbox.Auto)
	benches := []*invokeBench{plain, boxed}
	envEvent := []byte(`{"op":"env"}`)
	last := []string{"", ""}
	coldOnce := func(i, n int) time.Duration {
		return benches[i].coldInvoke(b, n, envEvent, &last[i])
	}
	bin := bootstrapBinary(b)
	host, err := sandbox.Probe(context.Background(), sandbox.Options{Mode: sandbox.Auto, Key: "bench-cold-" + filepath.Base(filepath.Dir(bin))})
	if err != nil {
		b.Fatal(err)
	}
	defer host.Close()
	// Warm-up: page cache, connections, the code cache.
	procFloor(b, bin)
	firstAnswer(b, bin, envEvent)
	boxFloor(b, host, bin)
	coldOnce(0, -1)
	coldOnce(1, -1)

	b.ResetTimer()
	proc := make(latencies, 0, b.N)
	answer := make(latencies, 0, b.N)
	box := make(latencies, 0, b.N)
	cold := []latencies{make(latencies, 0, b.N), make(latencies, 0, b.N)}
	for n := range b.N {
		proc = append(proc, procFloor(b, bin))
		answer = append(answer, firstAnswer(b, bin, envEvent))
		box = append(box, boxFloor(b, host, bin))
		for i := range benches {
			cold[i] = append(cold[i], coldOnce(i, n))
		}
	}
	b.StopTimer()
	report(b, "process", proc, nil)
	report(b, "first-answer", answer, nil)
	report(b, "box", box, nil)
	report(b, "cold-none", cold[0], nil)
	report(b, "cold-isolated", cold[1], nil)
	p50 := float64(proc.pct(0.50))
	b.ReportMetric(float64(box.pct(0.50))/p50, "box-p50-x-process")
	b.ReportMetric(float64(cold[0].pct(0.50))/p50, "cold-none-p50-x-process")
	b.ReportMetric(float64(cold[1].pct(0.50))/p50, "cold-isolated-p50-x-process")
	b.ReportMetric(float64(cold[1].pct(0.90))/float64(proc.pct(0.90)), "cold-isolated-p90-x-process-p90")
	b.ReportMetric(float64(cold[0].pct(0.50))/float64(answer.pct(0.50)), "cold-none-p50-x-first-answer")
	b.ReportMetric(float64(cold[1].pct(0.50))/float64(answer.pct(0.50)), "cold-isolated-p50-x-first-answer")
}

// firstAnswer starts bin against a stand-in Runtime API that hands its
// first GET /next event, and returns the time from exec until the
// runtime posts the answer. The process is killed.
func firstAnswer(b *testing.B, bin string, event []byte) time.Duration {
	var served atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		if served.Add(1) > 1 { // parked after the first event
			<-r.Context().Done()
			return
		}
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", "cold-1")
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:echo")
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(event)
	})
	got := make(chan time.Time, 1)
	mux.HandleFunc("/2018-06-01/runtime/invocation/cold-1/response", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case got <- time.Now():
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	return execUntil(b, bin, srv.Listener.Addr().String(), got, "bootstrap never answered its first event")
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

// execUntil starts bin with AWS_LAMBDA_RUNTIME_API=addr and returns the
// time from exec until a stand-in Runtime API sends on at. The process is
// killed.
func execUntil(b *testing.B, bin, addr string, at <-chan time.Time, never string) time.Duration {
	cmd := exec.Command(bin)
	cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + addr, "PATH=/usr/bin:/bin"}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	select {
	case t := <-at:
		return t.Sub(t0)
	case <-time.After(10 * time.Second):
		b.Fatal(never)
		return 0
	}
}
