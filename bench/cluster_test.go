package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// clusterCreds is the key pair every node of a benchmark cluster shares.
var clusterCreds = server.Credentials{AccessKeyID: "AKIDBENCHCLUSTER", SecretAccessKey: "bench-cluster-secret"}

func clusterConfig(cfg *server.Config) {
	cfg.AccessKeyID, cfg.SecretAccessKey = clusterCreds.AccessKeyID, clusterCreds.SecretAccessKey
}

// lambadaNodes are lambada servers sharing one storage (one embedded
// node, or several on a NATS cluster), each with a signed-request maker.
type lambadaNodes struct {
	nodes []*servertest.Server
	sg    *signer
	hc    *http.Client
}

func (ln *lambadaNodes) add(b *testing.B, opt servertest.Options) *servertest.Server {
	return ln.addWith(b, opt, nil)
}

// addWith is add with more configuration.
func (ln *lambadaNodes) addWith(b *testing.B, opt servertest.Options, more func(*server.Config)) *servertest.Server {
	b.Helper()
	opt.Config = func(cfg *server.Config) {
		clusterConfig(cfg)
		if more != nil {
			more(cfg)
		}
	}
	s := servertest.Start(b, opt)
	ln.nodes = append(ln.nodes, s)
	if ln.sg == nil {
		ln.sg, ln.hc = newSigner(s.Creds), keepAliveClient()
	}
	return s
}

// createEcho creates the echo function through the first node and waits
// until every node knows it.
func (ln *lambadaNodes) createEcho(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	if _, err := ln.nodes[0].Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("echo"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"),
		Code:    &types.FunctionCode{ZipFile: servertest.GoFunction(b, "echo")},
	}); err != nil {
		b.Fatal(err)
	}
	ln.waitKnown(b)
}

func (ln *lambadaNodes) waitKnown(b *testing.B) {
	b.Helper()
	for _, s := range ln.nodes {
		waitfor.Eventually(b, 30*time.Second, func() error {
			_, err := s.Client.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("echo")})
			return err
		})
	}
}

// req is a signed invoke of echo on node i (Event when event is set).
func (ln *lambadaNodes) req(b *testing.B, i int, body []byte, event bool) *http.Request {
	s := ln.nodes[i%len(ln.nodes)]
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/2015-03-31/functions/echo/invocations", bytes.NewReader(body))
	if event {
		req.Header.Set("X-Amz-Invocation-Type", "Event")
	}
	ln.sg.sign(b, req, body)
	return req
}

// asyncRound accepts n Event invokes of the "record" op at concurrency 16,
// spread over the nodes, and waits until all ran: the accept rate and the
// drain rate (events from the first send to the last run, per second).
func (ln *lambadaNodes) asyncRound(b *testing.B, sink *runSink, n int) (accepted, drained float64) {
	return ln.asyncRoundOf(b, sink, n, 0)
}

// asyncRoundOf is asyncRound with attempts that take ms each.
func (ln *lambadaNodes) asyncRoundOf(b *testing.B, sink *runSink, n, ms int) (accepted, drained float64) {
	b.Helper()
	ev := []byte(`{"op":"record","ms":` + strconv.Itoa(ms) + `,"url":"` + sink.srv.URL + `/run","note":"a small async drain payload"}`)
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = ln.req(b, i, ev, true)
	}
	done := sink.expect(n)
	t0 := time.Now()
	enq, _, err := fanOut(n, 16, func(i int) (time.Duration, error) {
		d, _, _, err := sendEvent(ln.hc, reqs[i])
		return d, err
	})
	if err != nil {
		b.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(180 * time.Second):
		b.Fatalf("only %d of %d events ran within 180 s", len(sink.snapshot()), n)
	}
	return float64(n) / enq.Seconds(), float64(n) / time.Since(t0).Seconds()
}

// BenchmarkClusterAsync: Event invokes accepted per second at
// concurrency 16 and drained per second (from the first send until the
// sink saw every run), b.N events per configuration, in one run: the
// embedded single node (one copy of everything) as the baseline, then
// 1, 2 and 3 lambada nodes on a 3-server NATS JetStream cluster in this
// process keeping three copies (the events sent round-robin to the
// nodes; every node drains the shared queue). Each configuration first
// runs an untimed batch of 300 so that every node has warm environments.
func BenchmarkClusterAsync(b *testing.B) {
	sink := newRunSink(b)
	var base [2]float64
	b.Run("embedded-R1", func(b *testing.B) {
		ln := &lambadaNodes{}
		ln.add(b, servertest.Options{})
		ln.createEcho(b)
		ln.asyncRound(b, sink, 300)
		acc, dr := ln.asyncRound(b, sink, b.N)
		base = [2]float64{acc, dr}
		b.ReportMetric(acc, "accepted/s")
		b.ReportMetric(dr, "drained/s")
	})
	// The cluster and its nodes belong to the parent benchmark: each
	// configuration adds a node to the previous ones.
	parent := b
	c := natstest.StartCluster(parent, 3)
	ln := &lambadaNodes{}
	created := false
	for nodes := 1; nodes <= 3; nodes++ {
		b.Run(fmt.Sprintf("cluster-R3-nodes=%d", nodes), func(b *testing.B) {
			for len(ln.nodes) < nodes {
				ln.add(parent, servertest.Options{NATSURL: c.URLs()})
			}
			if !created {
				ln.createEcho(parent)
				created = true
			}
			ln.waitKnown(b)
			ln.asyncRound(b, sink, 300)
			acc, dr := ln.asyncRound(b, sink, b.N)
			b.ReportMetric(acc, "accepted/s")
			b.ReportMetric(dr, "drained/s")
			if base[0] > 0 {
				b.ReportMetric(acc/base[0], "accepted-x-embedded")
				b.ReportMetric(dr/base[1], "drained-x-embedded")
			}
		})
	}
}

// BenchmarkClusterAsyncNodes: the drain rate of 1, 2 and 3 lambada nodes
// on a 3-server cluster (three copies) when each node's capacity, not the
// machine's CPU, is the limit: every node runs at most 8 event attempts at
// once (--async-workers 8; one function alone may use 6 of them), and each
// attempt takes 50 ms in the function, so one node drains at most 120
// events a second. b.N events per configuration, after an untimed batch
// of 100 that warms every node's environments. BenchmarkClusterAsync
// measures the same path with attempts that take no time, where the two
// shared cores are the limit whatever the number of nodes.
func BenchmarkClusterAsyncNodes(b *testing.B) {
	const workers, ms = 8, 50
	sink := newRunSink(b)
	parent := b
	c := natstest.StartCluster(parent, 3)
	ln := &lambadaNodes{}
	var one float64
	created := false
	for nodes := 1; nodes <= 3; nodes++ {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			for len(ln.nodes) < nodes {
				ln.addWith(parent, servertest.Options{NATSURL: c.URLs()}, func(cfg *server.Config) { cfg.AsyncWorkers = workers })
			}
			if !created {
				ln.createEcho(parent)
				created = true
			}
			ln.waitKnown(b)
			ln.asyncRoundOf(b, sink, 100, ms)
			_, dr := ln.asyncRoundOf(b, sink, b.N, ms)
			b.ReportMetric(dr, "drained/s")
			// A function alone may use three quarters of a node's workers.
			b.ReportMetric(dr/float64(nodes*(workers-workers/4)*1000/ms), "drained-x-capacity")
			if nodes == 1 {
				one = dr
			} else if one > 0 {
				b.ReportMetric(dr/one, "drained-x-1-node")
			}
		})
	}
}

// BenchmarkClusterInvokeWarm: warm synchronous invokes of echo, one at a
// time, on a lambada node of a 3-server NATS cluster (three copies,
// cluster-wide concurrency shares) against the embedded single node, in
// the same run, interleaved in blocks of 50 so that both see the same
// machine load. The invokes follow each other without pause, so the
// cluster node keeps the concurrency share it took first (a share is
// given back after a second idle): no storage round trip per invoke.
func BenchmarkClusterInvokeWarm(b *testing.B) {
	emb := &lambadaNodes{}
	emb.add(b, servertest.Options{})
	emb.createEcho(b)
	c := natstest.StartCluster(b, 3)
	cl := &lambadaNodes{}
	cl.add(b, servertest.Options{NATSURL: c.URLs()})
	cl.createEcho(b)
	one := func(ln *lambadaNodes) time.Duration {
		d, got, err := do(ln.hc, ln.req(b, 0, echoPayload, false))
		if err != nil {
			b.Fatal(err)
		}
		if !bytes.Equal(got, echoPayload) {
			b.Fatalf("echo answered %d bytes, want %d", len(got), len(echoPayload))
		}
		return d
	}
	for range 100 {
		one(emb)
		one(cl)
	}
	var embLat, clLat latencies
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(50, b.N-done)
		for range n {
			embLat = append(embLat, one(emb))
		}
		for range n {
			clLat = append(clLat, one(cl))
		}
		done += n
	}
	b.StopTimer()
	report(b, "embedded", embLat, nil)
	report(b, "cluster", clLat, nil)
	b.ReportMetric(float64(clLat.pct(0.50))/float64(embLat.pct(0.50)), "cluster-p50-x-embedded")
	b.ReportMetric(float64(clLat.pct(0.99))/float64(embLat.pct(0.99)), "cluster-p99-x-embedded")
}

// firstSuccess calls try every 20 ms (each try bounded by 10 s) until it
// succeeds and returns how long that took from since.
func firstSuccess(b *testing.B, since time.Time, what string, try func(ctx context.Context) error) time.Duration {
	b.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := try(ctx)
		cancel()
		if err == nil {
			return time.Since(since)
		}
		if time.Since(since) > 120*time.Second {
			b.Fatalf("no successful %s 120 s after the death: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func maxOf(ds []time.Duration) time.Duration {
	m := time.Duration(0)
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

// electedAt polls the running servers of c every 5 ms from now on and
// sends, once, when one of them other than dead leads stream: the moment
// the new leader was elected (to within the poll).
func electedAt(c *natstest.Cluster, stream string, dead int) <-chan time.Time {
	at := make(chan time.Time, 1)
	go func() {
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			for i := range c.Size() {
				if s := c.Server(i); i != dead && s != nil && s.JetStreamIsStreamLeader(natsserver.DEFAULT_GLOBAL_ACCOUNT, stream) {
					at <- time.Now()
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		close(at)
	}()
	return at
}

// failover is one death's figures: from the death to the new stream
// leader's election, and to the first successful call.
type failover struct{ elected, success time.Duration }

// share is what lambada took after the election (0 when the call
// succeeded before the election was seen: the poll's resolution).
func (f failover) share() time.Duration { return max(f.success-f.elected, 0) }

func (f failover) String() string {
	return fmt.Sprintf("%.2fs (elected %.2fs + %.2fs)", f.success.Seconds(), f.elected.Seconds(), f.share().Seconds())
}

// reportFailovers reports the median and worst of each figure under name.
func reportFailovers(b *testing.B, name string, fs []failover) {
	var el, sh, su []time.Duration
	for _, f := range fs {
		el, sh, su = append(el, f.elected), append(sh, f.share()), append(su, f.success)
	}
	for _, m := range []struct {
		what string
		ds   []time.Duration
	}{{"", su}, {"-election", el}, {"-lambada", sh}} {
		b.ReportMetric(float64(median(m.ds).Milliseconds()), name+m.what+"-p50-ms")
		b.ReportMetric(float64(maxOf(m.ds).Milliseconds()), name+m.what+"-max-ms")
	}
}

// BenchmarkClusterNATSServerDeath: one lambada node on a 3-server NATS
// cluster (three copies); b.N times, the NATS server leading the event
// queue stops (then, once it is back, the one leading the registry), and
// from that moment an Event invoke (for the queue's leader) or an
// UpdateFunctionConfiguration (for the registry's) is tried every 20 ms
// without SDK retries until one succeeds. The servers run in this
// process: a stop is nats-server's Shutdown, which asks its raft groups
// to hand their leadership over but does not wait for it (a crash, where
// the others wait for raft's election timeout, is
// BenchmarkClusterNodeStop's SIGKILL). Reported per death: the time to
// the new stream leader's election (polled every 5 ms) and to the first
// success; the difference is lambada's share. Each stopped server is
// restarted and every stream is current on it again before the next stop.
func BenchmarkClusterNATSServerDeath(b *testing.B) {
	c := natstest.StartCluster(b, 3)
	ln := &lambadaNodes{}
	s := ln.add(b, servertest.Options{NATSURL: c.URLs()})
	ln.createEcho(b)
	client := servertest.NoRetry(s.Client)
	event := func(ctx context.Context) error {
		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: types.InvocationTypeEvent, Payload: echoPayload})
		if err == nil && out.StatusCode != http.StatusAccepted {
			err = fmt.Errorf("status %d", out.StatusCode)
		}
		return err
	}
	n := 0
	write := func(ctx context.Context) error {
		n++
		_, err := client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("echo"), Description: aws.String(fmt.Sprint("write ", n))})
		return err
	}
	var accepts, writes []failover
	b.ResetTimer()
	for range b.N {
		for _, k := range []struct {
			stream string
			try    func(context.Context) error
			into   *[]failover
		}{{"LAMBADA_EVENTS", event, &accepts}, {"KV_lambada_registry", write, &writes}} {
			b.StopTimer()
			c.WaitStreamsCurrent()
			firstSuccess(b, time.Now(), "call before the death", k.try)
			leader := c.StreamLeader(k.stream)
			b.StartTimer()
			t0 := time.Now()
			elected := electedAt(c, k.stream, leader)
			c.Kill(leader)
			success := firstSuccess(b, t0, "call after the death of "+k.stream+"'s leader", k.try)
			at, ok := <-elected
			if !ok {
				b.Fatalf("no new leader of %s within 2 minutes", k.stream)
			}
			*k.into = append(*k.into, failover{elected: at.Sub(t0), success: success})
			b.StopTimer()
			c.Restart(leader)
			b.StartTimer()
		}
	}
	b.StopTimer()
	b.Logf("b.N=%d: Event accept after the queue leader's stop %v; management write after the registry leader's stop %v", b.N, accepts, writes)
	reportFailovers(b, "event-accept", accepts)
	reportFailovers(b, "write", writes)
}

// lambadaBinary builds ./cmd/lambada.
func lambadaBinary(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "lambada")
	build := exec.Command("go", "build", "-o", bin, "./cmd/lambada")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// BenchmarkClusterShareReuse: two lambada nodes on a 3-server NATS
// cluster, a function reserving 2. b.N times: node A — the real binary —
// runs two 30 s invocations, holding both of the function's concurrency
// shares, and is killed with SIGKILL; from that moment node B (in this
// process) invokes every 20 ms, each answered 429 while A's shares still
// count, until one runs. Reported: median and worst time from the death
// to that first admitted invoke (a node is declared gone after 5 s of
// silence, docs/behaviour/cluster.md §2).
func BenchmarkClusterShareReuse(b *testing.B) {
	bin := lambadaBinary(b)
	c := natstest.StartCluster(b, 3)
	ln := &lambadaNodes{}
	nb := ln.add(b, servertest.Options{NATSURL: c.URLs()})
	ln.createEcho(b)
	ctx := context.Background()
	if _, err := nb.Client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("echo"), ReservedConcurrentExecutions: aws.Int32(2)}); err != nil {
		b.Fatal(err)
	}
	if _, err := nb.Client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("echo"), Timeout: aws.Int32(60)}); err != nil {
		b.Fatal(err)
	}
	clientB := servertest.NoRetry(nb.Client)
	var reuse []time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		addr, metrics := freeBenchAddr(b), freeBenchAddr(b)
		a := exec.Command(bin, "server", "--listen", addr, "--metrics-listen", metrics, "--data", b.TempDir(), "--nats", c.URLs(), "--isolation", "none", "--log-level", "error")
		a.Env = append(os.Environ(), "LAMBADA_ACCESS_KEY_ID="+clusterCreds.AccessKeyID, "LAMBADA_SECRET_ACCESS_KEY="+clusterCreds.SecretAccessKey)
		if err := a.Start(); err != nil {
			b.Fatal(err)
		}
		clientA := servertest.NoRetry(servertest.NewClient("http://"+addr, clusterCreds))
		waitfor.Eventually(b, 60*time.Second, func() error {
			_, err := clientA.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("echo")})
			return err
		})
		// A takes both shares: two long invocations.
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				// Again while refused: the two may race for the second share.
				for {
					_, err := clientA.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"op":"sleep","ms":30000}`)})
					if code, _, _ := servertest.APIError(err); code != "TooManyRequestsException" {
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			})
		}
		// Both started their environment on A: A holds both shares (a
		// share is taken before the environment).
		waitfor.Eventually(b, 60*time.Second, func() error {
			if n := servertest.MetricSumAt("http://"+metrics+"/metrics", "lambada_cold_starts_total"); n < 2 {
				return fmt.Errorf("%v environments started on node A", n)
			}
			return nil
		})
		if _, err := clientB.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: echoPayload}); err == nil {
			b.Fatal("node B admitted an invoke while node A holds both shares")
		} else if code, _, _ := servertest.APIError(err); code != "TooManyRequestsException" {
			b.Fatalf("node B: %v, want TooManyRequestsException", err)
		}
		b.StartTimer()
		t0 := time.Now()
		_ = a.Process.Signal(syscall.SIGKILL)
		_, _ = a.Process.Wait()
		reuse = append(reuse, firstSuccess(b, t0, "invoke on node B", func(ctx context.Context) error {
			_, err := clientB.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: echoPayload})
			return err
		}))
		b.StopTimer()
		wg.Wait()
		b.StartTimer()
	}
	b.StopTimer()
	b.Logf("b.N=%d: shares reusable after the node's death %v", b.N, reuse)
	b.ReportMetric(float64(median(reuse).Milliseconds()), "shares-reusable-after-death-p50-ms")
	b.ReportMetric(float64(maxOf(reuse).Milliseconds()), "shares-reusable-after-death-max-ms")
}

func freeBenchAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
