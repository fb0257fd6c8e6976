package bench

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
)

// echoPayload is the ~100 B event of the warm benchmarks.
var echoPayload = []byte(`{"op":"echo","id":"0123456789abcdef","items":[1,2,3,4,5],"note":"a small warm invoke payload"}`)

// invokeBench is a running lambada with the echo function created and one
// client that keeps enough idle connections for the concurrency tests.
type invokeBench struct {
	s   *servertest.Server
	sg  *signer
	hc  *http.Client
	url string
}

func newInvokeBench(b *testing.B) *invokeBench {
	b.Helper()
	return newInvokeBenchWith(b, servertest.Options{})
}

// newInvokeBenchWith is newInvokeBench on a server started with opt.
func newInvokeBenchWith(b *testing.B, opt servertest.Options) *invokeBench {
	b.Helper()
	s := servertest.Start(b, opt)
	if _, err := s.Client.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
		FunctionName: aws.String("echo"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"),
		Code:    &types.FunctionCode{ZipFile: servertest.GoFunction(b, "echo")},
	}); err != nil {
		b.Fatal(err)
	}
	return &invokeBench{
		s: s, sg: newSigner(s.Creds), hc: keepAliveClient(),
		url: s.URL() + "/2015-03-31/functions/echo/invocations",
	}
}

// keepAliveClient keeps up to 64 idle connections per host (the default 2
// would make concurrency 4 and 8 pay for new connections).
func keepAliveClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64}, Timeout: 60 * time.Second}
}

// req builds a signed Invoke request; signing is client work, done before
// any clock starts.
func (ib *invokeBench) req(b *testing.B, body []byte) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, ib.url, bytes.NewReader(body))
	ib.sg.sign(b, req, body)
	return req
}

// do sends req and reads the whole answer. A non-200 status or an
// X-Amz-Function-Error header is an error.
func do(hc *http.Client, req *http.Request) (time.Duration, []byte, error) {
	t0 := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return d, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return d, body, fmt.Errorf("status %d: %.200s", resp.StatusCode, body)
	}
	if fe := resp.Header.Get("X-Amz-Function-Error"); fe != "" {
		return d, body, fmt.Errorf("function error %s: %.200s", fe, body)
	}
	return d, body, nil
}

// invoke is one signed invoke that must succeed and echo want (nil: any).
// retireWarm changes fn's Description with the clock stopped: $LATEST
// gets a new revision, so the next invoke needs a new environment.
func (ib *invokeBench) retireWarm(b *testing.B, fn string, n int) {
	b.StopTimer()
	defer b.StartTimer()
	if _, err := ib.s.Client.UpdateFunctionConfiguration(context.Background(), &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(fn), Description: aws.String("cold " + strconv.Itoa(n)),
	}); err != nil {
		b.Fatal(err)
	}
}

func (ib *invokeBench) invoke(b *testing.B, body, want []byte) time.Duration {
	d, got, err := do(ib.hc, ib.req(b, body))
	if err != nil {
		b.Fatal(err)
	}
	if want != nil && !bytes.Equal(got, want) {
		b.Fatalf("echo answered %d bytes, want %d", len(got), len(want))
	}
	return d
}

// bareEcho measures n plain HTTP POSTs of body to a handler on 127.0.0.1
// that answers the same bytes back: the floor for an invoke of the echo
// function, which also carries the payload both ways.
func bareEcho(b *testing.B, n int, body []byte) latencies {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(in)
	}))
	defer srv.Close()
	hc := keepAliveClient()
	out := make(latencies, 0, n)
	for range n {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/x", bytes.NewReader(body))
		d, got, err := do(hc, req)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != len(body) {
			b.Fatalf("bare echo answered %d bytes, want %d", len(got), len(body))
		}
		out = append(out, d)
	}
	return out
}

// BenchmarkInvokeWarm: a warm synchronous Invoke of the echo function with a
// ~100 B payload through the full stack (SigV4 verify, routing, resolve,
// pool acquire, Runtime API next/response with the function process, result
// encoding) with raw signed POSTs, against the floor (floor_test.go: the
// same bootstrap behind a front door that only hands the event to /next and
// the /response back), one call of each in turn so both see the same
// machine. Then a bare loopback POST echoing the same bytes, and the same
// invoke through the aws-sdk-go-v2 client, the figure users see. The cold
// start is excluded.
func BenchmarkInvokeWarm(b *testing.B) {
	ib := newInvokeBench(b)
	fl := newFloor(b, bootstrapBinary(b), 1)
	fhc := keepAliveClient()
	for range 200 {
		ib.invoke(b, echoPayload, echoPayload)
	}
	fl.warm(b, fhc, ib.sg, echoPayload, 200)
	b.ResetTimer()
	l, floor := alternate(b.N, func() time.Duration {
		return ib.invoke(b, echoPayload, echoPayload)
	}, func() time.Duration {
		d, got, err := do(fhc, fl.req(b, ib.sg, echoPayload))
		if err != nil || !bytes.Equal(got, echoPayload) {
			b.Fatalf("floor: %v %q", err, got)
		}
		return d
	})
	b.StopTimer()
	reportFloor(b, "invoke", l, floor)
	base := bareEcho(b, min(b.N, 2000), echoPayload)
	report(b, "bare", base, nil)

	ctx := context.Background()
	sdk := make(latencies, 0, b.N)
	for range min(b.N, 2000) {
		t0 := time.Now()
		out, err := ib.s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: echoPayload})
		if err != nil {
			b.Fatal(err)
		}
		d := time.Since(t0)
		if out.FunctionError != nil || !bytes.Equal(out.Payload, echoPayload) {
			b.Fatalf("sdk invoke: %v %q", aws.ToString(out.FunctionError), out.Payload)
		}
		sdk = append(sdk, d)
	}
	report(b, "sdk", sdk, nil)
	b.ReportMetric(float64(sdk.pct(0.50))/float64(floor.pct(0.50)), "sdk-p50-x-floor")
}

// BenchmarkInvokeThroughput: b.N signed warm invokes spread over c
// goroutines, against the floor (floor_test.go) running c bootstrap
// processes, in the same run: half of b.N on each, twice in turn (floor,
// lambada, floor, lambada), so both see the same machine. Reports both
// rates, lambada ÷ floor, the errors seen (non-200 or a function error;
// expect 0) and the scaling against c=1 of the same run. lambada's pool is
// warmed at each concurrency first so no cold start is inside the clock.
func BenchmarkInvokeThroughput(b *testing.B) {
	ib := newInvokeBench(b)
	bin := bootstrapBinary(b)
	var rate1 float64 // invokes/s at c=1, measured first in this run
	for _, c := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			fl := newFloor(b, bin, c)
			fhc := keepAliveClient()
			var cpu time.Duration // of the last run
			run := func(n int, hc *http.Client, mk func() *http.Request) (time.Duration, latencies, int64) {
				reqs := make([]*http.Request, n) // signed before the clock
				for i := range reqs {
					reqs[i] = mk()
				}
				var errs atomic.Int64
				c0 := processCPU()
				defer func() { cpu = processCPU() - c0 }()
				total, all, _ := fanOut(n, c, func(i int) (time.Duration, error) {
					d, got, err := do(hc, reqs[i])
					if err == nil && !bytes.Equal(got, echoPayload) {
						err = fmt.Errorf("unexpected answer %q", got)
					}
					if err != nil {
						errs.Add(1)
					}
					return d, err
				})
				return total, all, errs.Load()
			}
			toLambada := func() *http.Request { return ib.req(b, echoPayload) }
			toFloor := func() *http.Request { return fl.req(b, ib.sg, echoPayload) }
			if _, _, errs := run(20*c, ib.hc, toLambada); errs != 0 { // warm c environments
				b.Fatalf("%d errors while warming up", errs)
			}
			if _, _, errs := run(20*c, fhc, toFloor); errs != 0 {
				b.Fatalf("floor: %d errors while warming up", errs)
			}
			b.ResetTimer()
			var lt, ft, lcpu, fcpu time.Duration
			var l, fll latencies
			var errs, ferrs int64
			for _, half := range []int{b.N / 2, b.N - b.N/2} {
				t, lat, e := run(half, fhc, toFloor)
				ft, fll, ferrs, fcpu = ft+t, append(fll, lat...), ferrs+e, fcpu+cpu
				t, lat, e = run(half, ib.hc, toLambada)
				lt, l, errs, lcpu = lt+t, append(l, lat...), errs+e, lcpu+cpu
			}
			b.StopTimer()
			// CPU of this process (client and server; the function
			// processes are not in it) per invoke.
			b.ReportMetric(us(lcpu)/float64(b.N), "cpu-µs/op")
			b.ReportMetric(us(fcpu)/float64(b.N), "floor-cpu-µs/op")
			rate, frate := float64(b.N)/lt.Seconds(), float64(b.N)/ft.Seconds()
			b.ReportMetric(rate, "invokes/s")
			b.ReportMetric(frate, "floor-invokes/s")
			b.ReportMetric(rate/frate, "rate-x-floor")
			b.ReportMetric(float64(errs+ferrs), "errors")
			reportFloor(b, "invoke", l, fll)
			if c == 1 {
				rate1 = rate
			} else if rate1 > 0 {
				b.ReportMetric(rate/rate1, "x-c1")
			}
		})
	}
}

// processCPU is the user+system CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// bootstrapBinary writes the echo bootstrap (the one servertest built for
// the deployment package) into a temp dir and returns its path.
func bootstrapBinary(b *testing.B) string {
	z := servertest.GoFunction(b, "echo")
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		b.Fatal(err)
	}
	f, err := zr.Open("bootstrap")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	bin, err := io.ReadAll(f)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "bootstrap")
	if err := os.WriteFile(path, bin, 0o755); err != nil {
		b.Fatal(err)
	}
	return path
}

// runtimeLoop runs bin against a stand-in Runtime API that answers each
// GET /next with payload at once and notes when the runtime's POST of the
// result arrives: n times the time from handing out an event to getting
// its answer.
func runtimeLoop(b *testing.B, bin string, n int, payload []byte) latencies {
	out := make(latencies, 0, n)
	var sent time.Time
	served := 0
	done := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		if served == n {
			close(done)
			<-r.Context().Done()
			return
		}
		served++
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", "loop-"+strconv.Itoa(served))
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:echo")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0")
		h.Set("Content-Type", "application/json")
		sent = time.Now()
		_, _ = w.Write(payload)
	})
	mux.HandleFunc("/2018-06-01/runtime/invocation/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		out = append(out, time.Since(sent))
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"status":"OK"}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cmd := exec.Command(bin)
	cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + srv.Listener.Addr().String(), "PATH=/usr/bin:/bin"}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatal("runtime loop did not finish")
	}
	return out
}

// procFloor starts bin with AWS_LAMBDA_RUNTIME_API pointing at a stand-in
// that only notes when the first GET /2018-06-01/runtime/invocation/next
// arrives, and returns the time from exec to then. The process is killed.
func procFloor(b *testing.B, bin string) time.Duration {
	addr, arrived, stop := nextStandIn()
	defer stop()
	return execUntil(b, bin, addr, arrived, "bootstrap never asked for /next")
}

// BenchmarkInvokePayload: p50 of warm invokes whose event (and so answer)
// has the given size, against the floor (floor_test.go, one process) with
// the same event, one call of each in turn, and a bare loopback POST that
// echoes the same bytes. The event is a JSON object whose "data" string
// pads it to size: echo reads "op" from an object, so a bare JSON string
// would be refused.
func BenchmarkInvokePayload(b *testing.B) {
	ib := newInvokeBench(b)
	fl := newFloor(b, bootstrapBinary(b), 1)
	fhc := keepAliveClient()
	for _, sz := range []struct {
		name string
		n    int
	}{{"1KB", 1 << 10}, {"100KB", 100 << 10}, {"1MB", 1 << 20}, {"5MB", 5 << 20}} {
		b.Run(sz.name, func(b *testing.B) {
			ev := paddedEvent(sz.n)
			for range 5 {
				ib.invoke(b, ev, ev)
			}
			fl.warm(b, fhc, ib.sg, ev, 5)
			b.ResetTimer()
			// cpu sums this process's CPU time (client, server, GC) over
			// each call: the client's share is the same for both, so the
			// difference is the server's, and it moves less with the
			// machine's load than the latencies do.
			var lcpu, fcpu time.Duration
			one := func(hc *http.Client, req *http.Request, cpu *time.Duration) time.Duration {
				c0 := processCPU()
				d, got, err := do(hc, req)
				*cpu += processCPU() - c0
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != len(ev) {
					b.Fatalf("echo answered %d bytes, want %d", len(got), len(ev))
				}
				return d
			}
			// Signing hashes the body: client work, outside the latencies.
			l, floor := alternate(b.N, func() time.Duration {
				return one(ib.hc, ib.req(b, ev), &lcpu)
			}, func() time.Duration {
				return one(fhc, fl.req(b, ib.sg, ev), &fcpu)
			})
			b.StopTimer()
			b.ReportMetric(us(lcpu)/float64(b.N), "cpu-µs/op")
			b.ReportMetric(us(fcpu)/float64(b.N), "floor-cpu-µs/op")
			base := bareEcho(b, b.N, ev)
			b.ReportMetric(us(base.pct(0.50)), "bare-p50-µs")
			b.ReportMetric(us(floor.pct(0.50)), "floor-p50-µs")
			b.ReportMetric(us(l.pct(0.50)), "invoke-p50-µs")
			b.ReportMetric(float64(l.pct(0.50))/float64(floor.pct(0.50)), "invoke-p50-x-floor")
			b.ReportMetric(float64(l.pct(0.50))/float64(base.pct(0.50)), "invoke-p50-x-bare")
		})
	}
}

// paddedEvent is {"op":"echo","data":"xxx…"} of exactly n bytes.
func paddedEvent(n int) []byte {
	head, tail := `{"op":"echo","data":"`, `"}`
	return []byte(head + strings.Repeat("x", n-len(head)-len(tail)) + tail)
}

// BenchmarkInvokeAllocs: heap allocations per warm invoke made by lambada.
// Client and server share this process, so runtime.MemStats counts both.
// The same minimal client (requests signed in advance, outside the
// measurement) is therefore run twice: against lambada, and against a bare
// httptest server answering the same bytes and headers. The difference
// approximates lambada's server side beyond what any net/http handler pays
// (connection, header parsing, body read). It also holds whatever
// lambada's background goroutines allocated meanwhile (NATS, the reaper),
// and the function process, a separate process, is not counted at all.
// The floor (floor_test.go) is measured the same way: what its Runtime API
// and front door allocate beyond the bare server.
func BenchmarkInvokeAllocs(b *testing.B) {
	ib := newInvokeBench(b)
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, _ := io.ReadAll(r.Body)
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Amz-Executed-Version", "$LATEST")
		h.Set("X-Amzn-Requestid", "00000000-0000-0000-0000-000000000000")
		_, _ = w.Write(in)
	}))
	defer bare.Close()
	hc := keepAliveClient()
	measure := func(n int, mk func() *http.Request) (mallocs, bytes uint64) {
		reqs := make([]*http.Request, n)
		for i := range reqs {
			reqs[i] = mk()
		}
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		for _, req := range reqs {
			if _, _, err := do(hc, req); err != nil {
				b.Fatal(err)
			}
		}
		runtime.ReadMemStats(&m1)
		return m1.Mallocs - m0.Mallocs, m1.TotalAlloc - m0.TotalAlloc
	}
	toLambada := func() *http.Request { return ib.req(b, echoPayload) }
	toBare := func() *http.Request {
		req, _ := http.NewRequest(http.MethodPost, bare.URL+"/2015-03-31/functions/echo/invocations", bytes.NewReader(echoPayload))
		ib.sg.sign(b, req, echoPayload) // the same headers on the wire
		return req
	}
	fl := newFloor(b, bootstrapBinary(b), 1)
	toFloor := func() *http.Request { return fl.req(b, ib.sg, echoPayload) }
	measure(200, toLambada) // warm: environment, connections, pools
	measure(200, toBare)
	measure(200, toFloor)
	b.ResetTimer()
	baseN, baseB := measure(b.N, toBare)
	floorN, floorB := measure(b.N, toFloor)
	allN, allB := measure(b.N, toLambada)
	b.StopTimer()
	per := func(v uint64) float64 { return float64(v) / float64(b.N) }
	b.ReportMetric(per(baseN), "bare-allocs/op")
	b.ReportMetric(per(allN), "total-allocs/op")
	b.ReportMetric(per(allN)-per(baseN), "server-allocs/op")
	b.ReportMetric(per(allB)-per(baseB), "server-B/op")
	b.ReportMetric(per(floorN)-per(baseN), "floor-allocs/op")
	b.ReportMetric(per(floorB)-per(baseB), "floor-B/op")
}
