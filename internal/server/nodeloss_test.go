package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// clusterNode is the configuration of every lambada node of these tests:
// one key pair for the whole cluster, quick async retries.
func clusterNode(cfg *server.Config) {
	cfg.AccessKeyID, cfg.SecretAccessKey = "AKIDCLUSTER", "cluster-secret"
	cfg.AsyncRetryDelay = 200 * time.Millisecond
}

// callBound is how long one management call may take before the test
// calls it hung: a failed write must be reported within seconds
// (docs/behaviour/cluster.md §3), this leaves room for a loaded machine.
const callBound = 30 * time.Second

// written is what one writer knows of one function it owns.
type written struct {
	created bool     // CreateFunction acknowledged
	acked   int      // last acknowledged Description (-1: none)
	unacked []string // Descriptions written after it without acknowledgement
}

// The NATS server leading the registry's stream dies while two lambada
// nodes create and update functions: every write answered 200 is there
// afterwards (read back on both nodes), every other one was answered with
// AWS's ServiceException 500 within seconds, and writes resume.
func TestRegistryLeaderLoss(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	nodes := []*servertest.Server{
		servertest.Start(t, servertest.Options{NATSURL: c.URLs(), Config: clusterNode}),
		servertest.Start(t, servertest.Options{NATSURL: c.URLs(), Config: clusterNode}),
	}
	// Never invoked: a small package keeps each CreateFunction cheap.
	code := servertest.Zip(t, map[string]string{"bootstrap": "#!/bin/sh\nexit 1\n"})
	ctx := context.Background()

	const writers = 4 // two per node
	var (
		mu     sync.Mutex
		fns    = map[string]*written{}
		okSum  [writers]int // acknowledged writes per writer
		killed bool
		after  [writers]int // acknowledged writes per writer after the kill
		failed int
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		client := servertest.NoRetry(nodes[w%2].Client)
		wg.Go(func() {
			var mine []string // functions whose creation was acknowledged
			for step := 0; ; step++ {
				select {
				case <-stop:
					return
				default:
				}
				cctx, cancel := context.WithTimeout(ctx, callBound)
				start := time.Now()
				var err error
				var name string
				desc := strconv.Itoa(step)
				if step%4 == 0 || len(mine) == 0 {
					name = fmt.Sprintf("w%d-%d", w, step)
					mu.Lock()
					fns[name] = &written{acked: -1}
					mu.Unlock()
					_, err = client.CreateFunction(cctx, &lambda.CreateFunctionInput{
						FunctionName: aws.String(name), Role: aws.String(outageRole), Runtime: types.RuntimeProvidedal2023,
						Code: &types.FunctionCode{ZipFile: code}, Description: aws.String(desc),
					})
				} else {
					name = mine[step%len(mine)]
					_, err = client.UpdateFunctionConfiguration(cctx, &lambda.UpdateFunctionConfigurationInput{
						FunctionName: aws.String(name), Description: aws.String(desc),
					})
				}
				took := time.Since(start)
				cancel()
				mu.Lock()
				f := fns[name]
				if err == nil {
					if !f.created {
						f.created = true
						mine = append(mine, name)
					}
					f.acked, f.unacked = step, nil
					okSum[w]++
					if killed {
						after[w]++
					}
					mu.Unlock()
					continue
				}
				failed++
				if f.created {
					f.unacked = append(f.unacked, desc)
				}
				mu.Unlock()
				if errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("writer %d: %s hung for %s", w, name, took.Round(time.Millisecond))
					return
				}
				if code, _, status := servertest.APIError(err); code != "ServiceException" || status != 500 {
					t.Errorf("writer %d: %s failed after %s with %v (code %q, status %d), want ServiceException 500", w, name, took.Round(time.Millisecond), err, code, status)
					return
				}
				t.Logf("writer %d: %s: ServiceException after %s", w, name, took.Round(time.Millisecond))
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
	everyWriter := func(counts *[writers]int, n int) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, c := range counts {
				if c < n {
					return false
				}
			}
			return true
		}
	}
	finish := func() {
		close(stop)
		wg.Wait()
	}
	if err := waitfor.Until(60*time.Second, func() error {
		if t.Failed() || everyWriter(&okSum, 3)() {
			return nil
		}
		return errors.New("writers still starting")
	}); err != nil || t.Failed() {
		finish()
		t.Fatalf("before the kill: %v", err)
	}
	leader := c.StreamLeader("KV_lambada_registry")
	c.Kill(leader)
	mu.Lock()
	killed = true
	mu.Unlock()
	t.Logf("killed NATS server %d, the registry's leader", leader)
	err := waitfor.Until(60*time.Second, func() error {
		if t.Failed() || everyWriter(&after, 3)() {
			return nil
		}
		return errors.New("writes did not resume")
	})
	finish()
	if err != nil {
		t.Fatalf("after the kill: %v", err)
	}
	if t.Failed() {
		t.FailNow()
	}

	// Read back, on both nodes: the last acknowledged Description, or one
	// written later whose answer was lost.
	acked := 0
	for name, f := range fns {
		if !f.created {
			continue
		}
		acked++
		allowed := map[string]bool{strconv.Itoa(f.acked): true}
		for _, d := range f.unacked {
			allowed[d] = true
		}
		for i, n := range nodes {
			waitfor.Eventually(t, 30*time.Second, func() error {
				out, err := n.Client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
				if err != nil {
					return fmt.Errorf("node %d: %s: %w", i, name, err)
				}
				if got := aws.ToString(out.Description); !allowed[got] {
					return fmt.Errorf("node %d: %s has Description %q, want the acknowledged %d (or one of %v written after it)", i, name, got, f.acked, f.unacked)
				}
				return nil
			})
		}
	}
	t.Logf("%d functions created, %d writes failed with ServiceException, all acknowledged writes read back on both nodes", acked, failed)
}

// gatedSink records async runs of the echo function's "record" op, but
// holds every run until opened: the events stay pending while it is shut.
type gatedSink struct {
	*httptest.Server
	open chan struct{}
	mu   sync.Mutex
	runs map[string]int
}

func newGatedSink(t *testing.T) *gatedSink {
	g := &gatedSink{open: make(chan struct{}), runs: map[string]int{}}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var h struct {
			RequestID string `json:"requestId"`
		}
		_ = json.NewDecoder(r.Body).Decode(&h)
		select {
		case <-g.open:
		case <-r.Context().Done(): // the run was abandoned: it did not happen
			return
		}
		g.mu.Lock()
		g.runs[h.RequestID]++
		g.mu.Unlock()
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *gatedSink) missing(ids []string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, id := range ids {
		if g.runs[id] == 0 {
			n++
		}
	}
	return n
}

// Everything stops — both lambada nodes, then all three NATS servers —
// and starts again: functions, versions, aliases and reserved concurrency
// are back, and the events accepted before and not yet run all run.
func TestRestartEverything(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	one := func(cfg *server.Config) { clusterNode(cfg); cfg.AsyncWorkers = 1 }
	dirs := []string{t.TempDir(), t.TempDir()}
	start := func() []*servertest.Server {
		return []*servertest.Server{
			servertest.Start(t, servertest.Options{NATSURL: c.URLs(), DataDir: dirs[0], Config: one}),
			servertest.Start(t, servertest.Options{NATSURL: c.URLs(), DataDir: dirs[1], Config: one}),
		}
	}
	nodes := start()
	ctx := context.Background()
	client := nodes[0].Client
	if _, err := client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("keep"), Role: aws.String(outageRole), Runtime: types.RuntimeProvidedal2023,
		Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")}, Description: aws.String("first"),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("keep")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("keep"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("keep"), Description: aws.String("second")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("keep"), ReservedConcurrentExecutions: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}

	sink := newGatedSink(t)
	payload, _ := json.Marshal(map[string]any{"op": "record", "url": sink.URL})
	var ids []string
	for i := range 10 {
		out, err := nodes[i%2].Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("keep:live"), InvocationType: types.InvocationTypeEvent, Payload: payload})
		if err != nil {
			t.Fatal(err)
		}
		id, _ := middlewareRequestID(out)
		ids = append(ids, id)
	}
	// Each node holds one attempt at the shut sink; stopping abandons it
	// after a short grace (its delivery stays unacknowledged).
	for _, n := range nodes {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_ = n.Close(sctx)
		cancel()
	}
	for i := range c.Size() {
		c.Kill(i)
	}
	if n := sink.missing(ids); n != len(ids) {
		t.Fatalf("%d of %d events ran before the restart", len(ids)-n, len(ids))
	}

	c.RestartAll()
	nodes = start()
	close(sink.open)
	for i, n := range nodes {
		waitfor.Eventually(t, 30*time.Second, func() error {
			out, err := n.Client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("keep")})
			if err != nil {
				return fmt.Errorf("node %d: %w", i, err)
			}
			if d := aws.ToString(out.Configuration.Description); d != "second" {
				return fmt.Errorf("node %d: Description %q, want second", i, d)
			}
			if out.Concurrency == nil || aws.ToInt32(out.Concurrency.ReservedConcurrentExecutions) != 4 {
				return fmt.Errorf("node %d: Concurrency %+v, want 4 reserved", i, out.Concurrency)
			}
			return nil
		})
		alias, err := n.Client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("keep"), Name: aws.String("live")})
		if err != nil || aws.ToString(alias.FunctionVersion) != "1" {
			t.Fatalf("node %d: alias live = %+v, %v; want version 1", i, alias, err)
		}
		v1, err := n.Client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("keep"), Qualifier: aws.String("1")})
		if err != nil || aws.ToString(v1.Description) != "first" {
			t.Fatalf("node %d: version 1 = %+v, %v; want Description first", i, v1, err)
		}
		// The stopped nodes' concurrency shares count until they are
		// declared gone (docs/behaviour/cluster.md §5): 429 until then.
		waitfor.Eventually(t, 30*time.Second, func() error {
			out, err := n.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("keep:live"), Payload: []byte(`{"op":"echo"}`)})
			if err != nil {
				return fmt.Errorf("node %d: sync invoke of keep:live: %w", i, err)
			}
			if out.FunctionError != nil {
				t.Fatalf("node %d: sync invoke of keep:live: %s %s", i, *out.FunctionError, out.Payload)
			}
			return nil
		})
	}
	waitfor.Eventually(t, 60*time.Second, func() error {
		if n := sink.missing(ids); n > 0 {
			return fmt.Errorf("%d of %d events accepted before the restart never ran", n, len(ids))
		}
		return nil
	})
}

// A lambada node starts while one of the three NATS servers — the one
// leading the event queue — is down, and serves: management writes,
// sync and Event invokes.
func TestStartWithOneNATSServerDown(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	dir := t.TempDir()
	first := servertest.Start(t, servertest.Options{NATSURL: c.URLs(), DataDir: dir, Config: clusterNode})
	ctx := context.Background()
	if _, err := first.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("before"), Role: aws.String(outageRole), Runtime: types.RuntimeProvidedal2023,
		Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
	}); err != nil {
		t.Fatal(err)
	}
	first.Stop(t)
	down := c.StreamLeader("LAMBADA_EVENTS")
	c.Kill(down)
	t.Logf("killed NATS server %d, the event queue's leader", down)

	// Start fails the test if the node cannot start.
	s := servertest.Start(t, servertest.Options{NATSURL: c.URLs(), DataDir: dir, Config: clusterNode})
	if code, h := health(t, s); code != http.StatusOK {
		t.Fatalf("/health = %d %v", code, h)
	}
	out, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("before"), Payload: []byte(`{"op":"echo"}`)})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("sync invoke: %v", err)
	}
	if _, err := s.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("after"), Role: aws.String(outageRole), Runtime: types.RuntimeProvidedal2023,
		Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
	}); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(t)
	payload, _ := json.Marshal(map[string]any{"op": "record", "url": rec.URL})
	ev, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("after"), InvocationType: types.InvocationTypeEvent, Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := middlewareRequestID(ev)
	waitfor.True(t, 30*time.Second, "the event's run", func() bool { return rec.ran(id) })
}
