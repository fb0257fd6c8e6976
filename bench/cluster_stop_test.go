package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// binCluster is three `lambada server --nats-cluster` processes (the real
// binary): each node is a lambada server and a NATS server named n1…n3,
// and can be killed or stopped and started again on its ports and data.
type binCluster struct {
	b                             *testing.B
	bin                           string
	api, natsURL, routes, listens []string
	data                          []string
	procs                         []*exec.Cmd
	exited                        []chan struct{}
	out                           []*strings.Builder // the current run's output
}

func startBinCluster(b *testing.B) *binCluster {
	b.Helper()
	bc := &binCluster{b: b, bin: lambadaBinary(b)}
	for i := range 3 {
		// Below the ephemeral range (natstest.FreePort): a node comes
		// back on its ports after every stop.
		bc.api = append(bc.api, fmt.Sprintf("127.0.0.1:%d", natstest.FreePort(b)))
		bc.natsURL = append(bc.natsURL, fmt.Sprintf("127.0.0.1:%d", natstest.FreePort(b)))
		l := fmt.Sprintf("127.0.0.1:%d", natstest.FreePort(b))
		bc.listens = append(bc.listens, l)
		bc.routes = append(bc.routes, "nats://"+l)
		bc.data = append(bc.data, b.TempDir())
		_ = i
	}
	bc.procs, bc.exited, bc.out = make([]*exec.Cmd, 3), make([]chan struct{}, 3), make([]*strings.Builder, 3)
	b.Cleanup(func() {
		for i := range bc.procs {
			bc.stop(i, syscall.SIGTERM)
		}
	})
	for i := range 3 {
		bc.start(i)
	}
	for i := range 3 {
		// Started at once on a loaded machine, a node can give up on its
		// first JetStream request before the cluster answers: once more.
		if !bc.healthy(i) {
			bc.start(i)
			bc.waitHealthy(i)
		}
	}
	return bc
}

// health asks node i's /health once: nil for 200.
func (bc *binCluster) health(i int) error {
	resp, err := http.Get("http://" + bc.api[i] + "/health")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("node %d /health: %d", i, resp.StatusCode)
	}
	return nil
}

// healthy waits up to 2 minutes for node i's /health; false if it exited.
func (bc *binCluster) healthy(i int) bool {
	err := waitfor.Until(2*time.Minute, func() error {
		select {
		case <-bc.exited[i]:
			return nil
		default:
		}
		return bc.health(i)
	})
	if err != nil {
		bc.b.Fatal(err)
	}
	select {
	case <-bc.exited[i]:
		bc.b.Logf("node %d exited at start, starting it again:\n%s", i, bc.out[i])
		return false
	default:
		return true
	}
}

func (bc *binCluster) start(i int) {
	bc.b.Helper()
	cmd := exec.Command(bc.bin, "server", "--listen", bc.api[i], "--data", bc.data[i],
		"--nats-name", fmt.Sprintf("n%d", i+1), "--nats-listen", bc.natsURL[i],
		"--nats-cluster-listen", bc.listens[i], "--nats-cluster", strings.Join(bc.routes, ","),
		"--isolation", "none", "--function-logs", "off", "--log-level", "error")
	cmd.Env = append(os.Environ(), "LAMBADA_ACCESS_KEY_ID="+clusterCreds.AccessKeyID, "LAMBADA_SECRET_ACCESS_KEY="+clusterCreds.SecretAccessKey)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		bc.b.Fatal(err)
	}
	bc.out[i] = out
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	bc.procs[i], bc.exited[i] = cmd, exited
}

// stop sends sig to node i and waits until it exited.
func (bc *binCluster) stop(i int, sig syscall.Signal) {
	cmd := bc.procs[i]
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	bc.wait(i)
}

// wait waits until node i, signalled, exited (SIGKILL after 60 s).
func (bc *binCluster) wait(i int) {
	select {
	case <-bc.exited[i]:
	case <-time.After(60 * time.Second):
		_ = bc.procs[i].Process.Kill()
		<-bc.exited[i]
	}
	bc.procs[i] = nil
}

func (bc *binCluster) waitHealthy(i int) {
	bc.b.Helper()
	waitfor.Eventually(bc.b, 2*time.Minute, func() error {
		select {
		case <-bc.exited[i]:
			bc.b.Fatalf("node %d exited:\n%s", i, bc.out[i])
		default:
		}
		return bc.health(i)
	})
}

// conn is a NATS connection to node i's client listener.
func (bc *binCluster) conn(i int) *nats.Conn {
	bc.b.Helper()
	nc, err := nats.Connect("nats://"+bc.natsURL[i], nats.UserInfo(clusterCreds.AccessKeyID, clusterCreds.SecretAccessKey), nats.NoReconnect())
	if err != nil {
		bc.b.Fatal(err)
	}
	return nc
}

// leader is the index of the node leading stream, as node via sees it.
func (bc *binCluster) leader(via int, stream string) int {
	bc.b.Helper()
	nc := bc.conn(via)
	defer nc.Close()
	js, _ := jetstream.New(nc)
	idx := -1
	waitfor.Eventually(bc.b, time.Minute, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := js.Stream(ctx, stream)
		if err != nil {
			return err
		}
		ci := st.CachedInfo().Cluster
		if ci == nil || ci.Leader == "" {
			return fmt.Errorf("%s has no leader", stream)
		}
		_, err = fmt.Sscanf(ci.Leader, "n%d", &idx)
		idx--
		return err
	})
	return idx
}

// waitCurrent waits until every stream has a leader and all its copies
// are current, as node via sees it.
func (bc *binCluster) waitCurrent(via int) {
	bc.b.Helper()
	nc := bc.conn(via)
	defer nc.Close()
	js, _ := jetstream.New(nc)
	waitfor.Eventually(bc.b, 2*time.Minute, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		l := js.ListStreams(ctx)
		n := 0
		for info := range l.Info() {
			n++
			ci := info.Cluster
			if ci == nil || ci.Leader == "" || len(ci.Replicas) != 2 {
				return fmt.Errorf("stream %s: leader or copies missing", info.Config.Name)
			}
			for _, r := range ci.Replicas {
				if !r.Current || r.Offline {
					return fmt.Errorf("stream %s: copy on %s not current", info.Config.Name, r.Name)
				}
			}
		}
		if err := l.Err(); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("no streams listed")
		}
		return nil
	})
}

// longestOutage tries call every 20 ms (each try bounded at 10 s) from
// t0 until over() holds and a call succeeded after it, and returns the
// longest time without a success: from t0 to the first one, or between
// two. After a crash that is the time to the first success; during a
// planned stop, the calls that waited or failed while the leadership
// moved.
func longestOutage(b *testing.B, t0 time.Time, what string, try func(context.Context) error, over func() bool) time.Duration {
	b.Helper()
	last, worst := t0, time.Duration(0)
	for {
		done := over()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := try(ctx)
		cancel()
		now := time.Now()
		if err == nil {
			worst, last = max(worst, now.Sub(last)), now
			if done {
				return worst
			}
		} else if now.Sub(t0) > 2*time.Minute {
			b.Fatalf("no successful %s within 2 minutes: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkClusterNodeStop: three `lambada server --nats-cluster`
// processes are the whole cluster (three copies). b.N times for each
// way of stopping — SIGKILL (a crash: raft's peers must wait for their
// election timeout) and SIGTERM (a planned stop: the node's NATS server
// hands its leaderships over before it stops, docs/behaviour/cluster.md
// §4) — the node leading LAMBADA_EVENTS stops and an Event invoke is
// tried every 20 ms (no SDK retries) through another node until the node
// exited, a new leader was elected and a call succeeded after both; then
// the same for the node leading KV_lambada_registry and
// UpdateFunctionConfiguration. Reported: the longest time without a
// successful call (after a crash, the time to the first success), and
// the new leader's election, the arrival of JetStream's LEADER_ELECTED
// advisory at a surviving node; lambada's share is the difference. The stopped node is started again and every stream
// is current before the next stop.
func BenchmarkClusterNodeStop(b *testing.B) {
	bc := startBinCluster(b)
	clients := make([]*lambda.Client, 3)
	for i := range clients {
		clients[i] = servertest.NoRetry(servertest.NewClient("http://"+bc.api[i], clusterCreds))
	}
	ctx := context.Background()
	if _, err := clients[0].CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("echo"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"),
		Code:    &types.FunctionCode{ZipFile: servertest.GoFunction(b, "echo")},
	}); err != nil {
		b.Fatal(err)
	}
	for _, c := range clients {
		waitfor.Eventually(b, time.Minute, func() error {
			_, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("echo")})
			return err
		})
	}
	n := 0
	event := func(c *lambda.Client) func(context.Context) error {
		return func(ctx context.Context) error {
			out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: types.InvocationTypeEvent, Payload: echoPayload})
			if err == nil && out.StatusCode != http.StatusAccepted {
				err = fmt.Errorf("status %d", out.StatusCode)
			}
			return err
		}
	}
	write := func(c *lambda.Client) func(context.Context) error {
		return func(ctx context.Context) error {
			n++
			_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("echo"), Description: aws.String(fmt.Sprint("write ", n))})
			return err
		}
	}
	results := map[string][]failover{}
	var order []string
	b.ResetTimer()
	for range b.N {
		for _, way := range []struct {
			name string
			sig  syscall.Signal
		}{{"sigkill", syscall.SIGKILL}, {"sigterm", syscall.SIGTERM}} {
			for _, k := range []struct {
				stream, what string
				try          func(*lambda.Client) func(context.Context) error
			}{{"LAMBADA_EVENTS", "event-accept", event}, {"KV_lambada_registry", "write", write}} {
				b.StopTimer()
				bc.waitCurrent(0)
				leader := bc.leader(0, k.stream)
				other := (leader + 1) % 3
				try := k.try(clients[other])
				firstSuccess(b, time.Now(), "call before the stop", try)
				nc := bc.conn(other)
				electedAt := make(chan time.Time, 1)
				if _, err := nc.Subscribe("$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED."+k.stream, func(*nats.Msg) {
					select {
					case electedAt <- time.Now():
					default:
					}
				}); err != nil {
					b.Fatal(err)
				}
				if err := nc.Flush(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				t0 := time.Now()
				// A SIGTERM'd node is still stopping while the calls are
				// tried: a planned stop begins with the signal.
				_ = bc.procs[leader].Process.Signal(way.sig)
				var at time.Time
				gap := longestOutage(b, t0, fmt.Sprintf("call after the %s of %s's leader", way.name, k.stream), try, func() bool {
					select {
					case <-bc.exited[leader]:
					default:
						return false
					}
					if at.IsZero() {
						select {
						case at = <-electedAt:
						default:
						}
					}
					return !at.IsZero()
				})
				b.StopTimer()
				nc.Close()
				bc.wait(leader)
				name := way.name + "-" + k.what
				if _, ok := results[name]; !ok {
					order = append(order, name)
				}
				results[name] = append(results[name], failover{elected: at.Sub(t0), success: gap})
				bc.start(leader)
				bc.waitHealthy(leader)
				b.StartTimer()
			}
		}
	}
	b.StopTimer()
	for _, name := range order {
		b.Logf("b.N=%d: %s, longest without a success after the stop of the stream's leader: %v", b.N, name, results[name])
		reportFailovers(b, name, results[name])
	}
}

// BenchmarkClusterNodeStartOneDown: the time a lambada node takes to
// start (server.Start, then its first 200 on /health) on a 3-server NATS
// cluster whose streams exist (three copies), with all three servers up
// against with one of them down — the one leading the event queue,
// stopped beforehand and the cluster settled without it, so that the
// figure is the node's start and not an election — alternating in the
// same run.
func BenchmarkClusterNodeStartOneDown(b *testing.B) {
	c := natstest.StartCluster(b, 3)
	ln := &lambadaNodes{}
	ln.add(b, servertest.Options{NATSURL: c.URLs()})
	ln.createEcho(b)
	ln.nodes[0].Stop(b)
	startOne := func() time.Duration {
		t0 := time.Now()
		s := servertest.Start(b, servertest.Options{NATSURL: c.URLs(), Config: clusterConfig})
		d := time.Since(t0)
		b.StopTimer()
		s.Stop(b)
		b.StartTimer()
		return d
	}
	var up, down latencies
	b.ResetTimer()
	for range b.N {
		up = append(up, startOne())
		b.StopTimer()
		dead := c.StreamLeader("LAMBADA_EVENTS")
		c.Kill(dead)
		c.WaitReady()
		c.WaitStreamsCurrent()
		b.StartTimer()
		down = append(down, startOne())
		b.StopTimer()
		c.Restart(dead)
		b.StartTimer()
	}
	b.StopTimer()
	b.Logf("b.N=%d: start with all three up %v; with one down %v", b.N, []time.Duration(up), []time.Duration(down))
	report(b, "all-up", up, nil)
	report(b, "one-down", down, nil)
	b.ReportMetric(float64(down.pct(0.50))/float64(up.pct(0.50)), "one-down-p50-x-all-up")
}
