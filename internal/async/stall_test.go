package async_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// echoVariant is the echo function with one more file: the same behaviour
// under another code SHA-256, so its first start unpacks its own code.
func echoVariant(t *testing.T) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(servertest.GoFunction(t, "echo")), int64(len(servertest.GoFunction(t, "echo"))))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"variant.txt": "another code"}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = string(b)
	}
	return servertest.Zip(t, files)
}

// On a 3-server NATS cluster, a node's only async worker takes an event
// whose cold start must read the function's code just after the code
// bucket's leader lost its quorum: the read cannot complete (its requests
// go unanswered or are refused, and are asked again for up to
// jetstream.BlobStallTimeout). The node's Close does not wait for it (the
// attempt gives up and its event goes back to the queue:
// docs/behaviour/cluster.md §3), and the event is not lost: it runs on a
// node started once the servers are back. (The read's own bounds are
// tested in internal/store/jetstream, TestBlobReadStalledByLeaderlessStore.)
func TestCloseDuringAStalledCodeRead(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	cfg := func(cfg *server.Config) {
		cfg.AccessKeyID, cfg.SecretAccessKey = "AKIDCLUSTER", "cluster-secret"
		cfg.AsyncRetryDelay = 200 * time.Millisecond
		cfg.AsyncWorkers = 1
	}
	a := servertest.Start(t, servertest.Options{NATSURL: c.URLs(), Config: cfg})
	sk, open := newGatedSink(t)
	defer open()
	create(t, a, "holder")
	ctx := context.Background()
	if _, err := a.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("cold"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Code: &types.FunctionCode{ZipFile: echoVariant(t)},
	}); err != nil {
		t.Fatal(err)
	}
	record := map[string]any{"op": "record", "url": sk.URL}
	// The one worker runs holder's attempt, held at the shut gate.
	event(t, a, "holder", record)
	waitfor.True(t, 60*time.Second, "holder's run at the gate", func() bool { return sk.arrived.Load() > 0 })
	id := event(t, a, "cold", record)
	// cold's event is delivered to the node, where it waits for the worker.
	nc, err := nats.Connect(c.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	waitfor.Eventually(t, 30*time.Second, func() error {
		cons, err := js.Consumer(ctx, "LAMBADA_EVENTS", "lambada-workers")
		if err != nil {
			return err
		}
		if n := cons.CachedInfo().NumAckPending; n != 2 {
			return fmt.Errorf("%d events delivered, want 2", n)
		}
		return nil
	})
	nc.Close()

	// The two servers that do not lead the code bucket die: its leader
	// is left without quorum.
	leader := c.StreamLeader("OBJ_lambada_code")
	c.Kill((leader + 1) % c.Size())
	c.Kill((leader + 2) % c.Size())
	open()
	waitfor.True(t, 30*time.Second, "cold's attempt begun", func() bool {
		return servertest.MetricSum(a.MetricsText(t), "lambada_async_event_age_seconds_count", `function_name="cold"`) > 0
	})

	cctx, cancel := context.WithTimeout(ctx, server.DefaultShutdownTimeout)
	defer cancel()
	start := time.Now()
	err = a.Close(cctx)
	t.Logf("node closed in %s (%v)", time.Since(start).Round(time.Millisecond), err)
	if err != nil && strings.Contains(err.Error(), "async") {
		t.Fatalf("closing the node: %v", err)
	}

	// A node started while the streams still elect their leaders waits
	// for them (503 "JetStream system temporarily unavailable" is asked
	// again, docs/behaviour/cluster.md §3).
	c.RestartAll()
	servertest.Start(t, servertest.Options{NATSURL: c.URLs(), Config: func(c *server.Config) {
		cfg(c)
		c.AsyncWorkers = 4
	}})
	sk.waitFor(t, map[string]bool{id: true}, 90*time.Second)
}
