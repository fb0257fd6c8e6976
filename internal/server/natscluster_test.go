package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
)

// Three lambada servers in --nats-cluster mode are the whole cluster: a
// function created on one is invoked on another, an Event accepted by one
// runs, and with one node (and its NATS server) stopped the other two keep
// accepting writes and events (three copies, quorum two); the stopped node
// rejoins on restart with everything written meanwhile.
func TestNATSClusterMode(t *testing.T) {
	c := servertest.StartCluster(t, 3, func(cfg *server.Config) { cfg.AsyncRetryDelay = 200 * time.Millisecond })
	a, b := c.Node(0), c.Node(1)
	for i := range 3 {
		code, h := health(t, c.Node(i))
		if code != http.StatusOK || h["storage"] != "cluster" || h["replicas"] != float64(3) {
			t.Fatalf("node %d /health: %d storage=%v replicas=%v, want 200 cluster 3", i, code, h["storage"], h["replicas"])
		}
	}
	pollUntil(t, 15*time.Second, "three live nodes", func() bool {
		_, h := health(t, a)
		nodes, _ := h["nodes"].([]any)
		return len(nodes) == 3
	})
	ctx := context.Background()
	rec := newRecorder(t)
	if _, err := a.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("fn"), Role: aws.String(outageRole), Runtime: types.RuntimeProvidedal2023,
		Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
	}); err != nil {
		t.Fatal(err)
	}
	invoke := func(s *servertest.Server, name string) error {
		out, err := servertest.NoRetry(s.Client).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"op":"echo"}`)})
		if err == nil && out.FunctionError != nil {
			t.Fatalf("function error %s: %s", *out.FunctionError, out.Payload)
		}
		return err
	}
	pollUntil(t, 15*time.Second, "the function created on node 0 invoked on node 2", func() bool { return invoke(c.Node(2), "fn") == nil })
	event := func(s *servertest.Server) (string, error) {
		payload, _ := json.Marshal(map[string]any{"op": "record", "url": rec.URL})
		out, err := servertest.NoRetry(s.Client).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("fn"), InvocationType: types.InvocationTypeEvent, Payload: payload})
		if err != nil {
			return "", err
		}
		id, _ := middlewareRequestID(out)
		return id, nil
	}
	id, err := event(b)
	if err != nil {
		t.Fatal(err)
	}
	pollUntil(t, 30*time.Second, "the event accepted by node 1 to run", func() bool { return rec.ran(id) })

	// One node (and its NATS server) stops: the other two keep a quorum.
	c.Stop(2)
	start := time.Now()
	pollUntil(t, 30*time.Second, "a management write with one node stopped", func() bool {
		_, err := servertest.NoRetry(a.Client).UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String("fn"), Description: aws.String("written while node 2 was down"),
		})
		return err == nil
	})
	t.Logf("first management write %s after the node stopped", time.Since(start).Round(time.Millisecond))
	if _, err := b.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("fn2"), Role: aws.String(outageRole), Runtime: types.RuntimeProvidedal2023,
		Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
	}); err != nil {
		t.Fatalf("CreateFunction with one node stopped: %v", err)
	}
	for _, s := range []*servertest.Server{a, b} {
		pollUntil(t, 30*time.Second, "an accepted event with one node stopped", func() bool {
			id, err = event(s)
			return err == nil
		})
		pollUntil(t, 30*time.Second, "the event's run with one node stopped", func() bool { return rec.ran(id) })
	}

	// Back on its ports and files: node 2 has what was written meanwhile.
	cn := c.Restart(2)
	pollUntil(t, 30*time.Second, "the restarted node to see the function created while it was down", func() bool { return invoke(cn, "fn2") == nil })
	got, err := cn.Client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("fn")})
	if err != nil {
		t.Fatal(err)
	}
	if d := aws.ToString(got.Description); d != "written while node 2 was down" {
		t.Errorf("restarted node: Description = %q, want the write made while it was down", d)
	}
	id, err = event(cn)
	if err != nil {
		t.Fatalf("Event on the restarted node: %v", err)
	}
	pollUntil(t, 30*time.Second, "the event accepted by the restarted node to run", func() bool { return rec.ran(id) })
}

// --nats-cluster needs the key pair set explicitly (every node shares it,
// and it guards the NATS listeners) and excludes --nats.
func TestNATSClusterSettingsRefused(t *testing.T) {
	routes := []string{"nats://127.0.0.1:6222"}
	for name, cfg := range map[string]server.Config{
		"without the key pair": {NATSCluster: routes},
		"with --nats":          {NATSCluster: routes, NATSURL: "nats://127.0.0.1:4222", AccessKeyID: "AKID", SecretAccessKey: "s"},
	} {
		cfg.DataDir = t.TempDir()
		if _, err := server.New(cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
