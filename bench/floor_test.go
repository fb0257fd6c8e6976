package bench

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// floorServer is the least any Lambda-compatible server can do for a
// synchronous invoke: an HTTP front door that hands the payload through a
// channel to a runtime's waiting GET /next and answers the caller with
// what that runtime POSTs to /response. No auth, no registry, no sandbox,
// no limits; the runtimes' output is read and dropped. It runs the same
// aws-lambda-go bootstrap as lambada's echo function, n processes of it.
// Every invoke benchmark reports lambada ÷ this floor from the same run.
type floorServer struct {
	front, rapi *httptest.Server
	url         string // the front door's invoke URL
	events      chan *floorCall
	seq         atomic.Uint64

	mu    sync.Mutex
	calls map[string]*floorCall // dispatched, waiting for /response

	cmds []*exec.Cmd
}

type floorCall struct {
	id      string
	payload []byte
	reply   chan []byte
}

const (
	floorNext   = "/2018-06-01/runtime/invocation/next"
	floorInvPfx = "/2018-06-01/runtime/invocation/"
)

// newFloor starts the floor with n bootstrap processes of bin and waits
// until each has asked for its first event.
func newFloor(b *testing.B, bin string, n int) *floorServer {
	f := &floorServer{events: make(chan *floorCall), calls: map[string]*floorCall{}}
	var parked atomic.Int64
	f.rapi = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == floorNext {
			parked.Add(1)
			var c *floorCall
			select {
			case c = <-f.events:
			case <-r.Context().Done():
				return
			}
			f.mu.Lock()
			f.calls[c.id] = c
			f.mu.Unlock()
			h := w.Header()
			h["Lambda-Runtime-Aws-Request-Id"] = []string{c.id}
			h["Lambda-Runtime-Deadline-Ms"] = []string{strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10)}
			h["Lambda-Runtime-Invoked-Function-Arn"] = []string{"arn:aws:lambda:us-east-1:000000000000:function:echo"}
			h["Lambda-Runtime-Trace-Id"] = []string{"Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0"}
			h["Content-Type"] = []string{"application/json"}
			_, _ = w.Write(c.payload)
			return
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, floorInvPfx), "/")
		out, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		c := f.calls[id]
		delete(f.calls, id)
		f.mu.Unlock()
		if c != nil {
			c.reply <- out
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"status":"OK"}`))
	}))
	f.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, _ := io.ReadAll(r.Body)
		c := &floorCall{id: strconv.FormatUint(f.seq.Add(1), 10), payload: in, reply: make(chan []byte, 1)}
		f.events <- c
		out := <-c.reply
		w.Header()["Content-Type"] = []string{"application/json"}
		_, _ = w.Write(out)
	}))
	f.url = f.front.URL + "/2015-03-31/functions/echo/invocations"
	for range n {
		cmd := exec.Command(bin)
		cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + f.rapi.Listener.Addr().String(), "PATH=/usr/bin:/bin"}
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		f.cmds = append(f.cmds, cmd)
	}
	b.Cleanup(f.close)
	deadline := time.Now().Add(30 * time.Second)
	for parked.Load() < int64(n) {
		if time.Now().After(deadline) {
			b.Fatalf("floor: %d of %d bootstraps asked for /next", parked.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
	return f
}

func (f *floorServer) close() {
	for _, cmd := range f.cmds {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	f.cmds = nil
	f.front.Close()
	f.rapi.Close()
}

// req is an invoke request to the floor carrying the same headers as
// lambada's (signed, though the floor checks nothing), so both see the
// same bytes on the wire.
func (f *floorServer) req(b *testing.B, sg *signer, body []byte) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, f.url, bytes.NewReader(body))
	sg.sign(b, req, body)
	return req
}

// alternate runs n calls of a and of b interleaved one by one (a, b, a, b,
// …), so that both see the same machine, and returns their latencies.
func alternate(n int, a, b func() time.Duration) (la, lb latencies) {
	la, lb = make(latencies, 0, n), make(latencies, 0, n)
	for range n {
		la = append(la, a())
		lb = append(lb, b())
	}
	return la, lb
}

// reportFloor writes the p50/p90/p99 of l and of floor and the ratios
// l ÷ floor at p50 and p99, named name-….
func reportFloor(b *testing.B, name string, l, floor latencies) {
	report(b, "floor", floor, nil)
	report(b, name, l, nil)
	b.ReportMetric(float64(l.pct(0.50))/float64(floor.pct(0.50)), name+"-p50-x-floor")
	b.ReportMetric(float64(l.pct(0.99))/float64(floor.pct(0.99)), name+"-p99-x-floor")
}

// floorWarm is a reusable check that the floor echoes: used by the
// benchmarks before their clocks start.
func (f *floorServer) warm(b *testing.B, hc *http.Client, sg *signer, body []byte, n int) {
	for range n {
		if _, got, err := do(hc, f.req(b, sg, body)); err != nil || !bytes.Equal(got, body) {
			b.Fatalf("floor: %v (answered %d bytes, want %d)", err, len(got), len(body))
		}
	}
}
