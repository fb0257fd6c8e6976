package async_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// gatedSink records the runs of the echo function's "record" op, each
// once it completed: a run waits while the gate is shut, and one whose
// function died meanwhile (its request cancelled) is not recorded.
func newGatedSink(t *testing.T) (s *sink, open func()) {
	s = &sink{more: make(chan struct{}, 1024)}
	gate := make(chan struct{})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var h hit
		_ = json.Unmarshal(b, &h)
		s.arrived.Add(1)
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
		h.At = time.Now()
		s.mu.Lock()
		s.hits = append(s.hits, h)
		s.mu.Unlock()
		select {
		case s.more <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(s.Close)
	return s, sync.OnceFunc(func() { close(gate) })
}

// On a 3-server NATS cluster, two lambada nodes drain accepted events; one
// of them — the real binary — is killed with SIGKILL while it runs some
// (no drain, no acknowledgement, no goodbye to the node list; its function
// processes die with it). Every accepted event runs to completion at least
// once: what the dead node held comes back from the queue after the
// acknowledgement wait and runs on the other.
func TestClusterNodeKilledMidDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real binary")
	}
	const events = 60
	bin := buildLambada(t)
	c := natstest.StartCluster(t, 3)
	creds := server.Credentials{AccessKeyID: "AKIDCLUSTER", SecretAccessKey: "cluster-secret"}
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	victim := exec.Command(bin, "server", "--listen", addr, "--metrics-listen", metricsAddr, "--data", t.TempDir(), "--nats", c.URLs(),
		"--isolation", "none", "--async-workers", "8", "--async-retry-delay", "200ms", "--log-level", "warn")
	victim.Env = append(os.Environ(), "LAMBADA_ACCESS_KEY_ID="+creds.AccessKeyID, "LAMBADA_SECRET_ACCESS_KEY="+creds.SecretAccessKey)
	victim.Stderr = os.Stderr
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = victim.Process.Kill(); _, _ = victim.Process.Wait() })
	waitHealthy(t, "http://"+addr)
	a := servertest.NewClient("http://"+addr, creds)
	b := servertest.Start(t, servertest.Options{NATSURL: c.URLs(), Config: func(cfg *server.Config) {
		cfg.AccessKeyID, cfg.SecretAccessKey = creds.AccessKeyID, creds.SecretAccessKey
		cfg.AsyncRetryDelay = 200 * time.Millisecond
		cfg.AsyncWorkers = 16
	}})

	sk, open := newGatedSink(t)
	defer open()
	create(t, b, "drain")
	ctx := context.Background()
	waitfor.Eventually(t, 10*time.Second, func() error {
		_, err := a.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("drain")})
		return err
	})
	payload, _ := json.Marshal(map[string]any{"op": "record", "url": sk.URL})

	accepted := sendEvents(t, []*lambda.Client{a, b.Client}, 4, events, "drain", payload)
	// The node to kill is running attempts (held at the shut gate).
	waitfor.True(t, 30*time.Second, "attempts on the node to kill", func() bool {
		return servertest.MetricSumAt("http://"+metricsAddr+"/metrics", "lambada_async_event_age_seconds_count") > 0
	})
	if err := victim.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = victim.Process.Wait()
	t.Logf("killed the lambada node %s (pid %d) while it ran attempts", addr, victim.Process.Pid)
	open()

	hits := sk.waitFor(t, accepted, 90*time.Second)
	t.Logf("%d events accepted, all ran; %d runs, %d events ran more than once", len(accepted), len(hits), ranTwice(hits))
}
