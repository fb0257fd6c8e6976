package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// The README's cluster without a NATS install, with the real binary:
// three `lambada server --nats-cluster …` processes started at once form
// one lambada; a function created through one is invoked through another
// and `lambada nodes` lists the three.
func TestNATSClusterBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the real binary three times")
	}
	bin := filepath.Join(t.TempDir(), "lambada")
	build := exec.Command("go", "build", "-o", bin, "./cmd/lambada")
	build.Dir = moduleRootDir(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	creds := servertest.ClusterCredentials
	const n = 3
	var api, routes, listens []string
	for range n {
		api = append(api, freeLoopback(t))
		l := freeLoopback(t)
		listens = append(listens, l)
		routes = append(routes, "nats://"+l)
	}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait) // after every node's stop below
	for i := range n {
		cmd := exec.Command(bin, "server", "--listen", api[i], "--data", t.TempDir(),
			"--nats-listen", freeLoopback(t), "--nats-cluster-listen", listens[i],
			"--nats-cluster", strings.Join(routes, ","),
			"--isolation", "none", "--function-logs", "off", "--log-level", "warn")
		cmd.Env = append(os.Environ(), "LAMBADA_ACCESS_KEY_ID="+creds.AccessKeyID, "LAMBADA_SECRET_ACCESS_KEY="+creds.SecretAccessKey)
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		wg.Go(func() { exited <- cmd.Wait() })
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("node %d: exit after SIGTERM: %v\n%s", i, err, out)
				}
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Errorf("node %d did not stop within 30 s of SIGTERM", i)
			}
		})
	}
	for i := range n {
		waitfor.True(t, 60*time.Second, fmt.Sprintf("node %d healthy", i), func() bool {
			code, h := healthAt("http://" + api[i])
			return code == 200 && h["storage"] == "cluster"
		})
	}
	out, err := exec.Command(bin, "nodes", "--endpoint-url", "http://"+api[0]).CombinedOutput()
	if err != nil {
		t.Fatalf("lambada nodes: %v\n%s", err, out)
	}
	for i := range n {
		if !strings.Contains(string(out), "http://"+api[i]) {
			t.Errorf("lambada nodes does not list node %d (%s):\n%s", i, api[i], out)
		}
	}

	ctx := context.Background()
	a, c := servertest.NewClient("http://"+api[0], creds), servertest.NewClient("http://"+api[2], creds)
	if _, err := a.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("fn"), Role: aws.String(outageRole), Runtime: types.RuntimeProvidedal2023,
		Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
	}); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, 15*time.Second, "the function created on node 0 invoked on node 2", func() bool {
		out, err := servertest.NoRetry(c).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("fn"), Payload: []byte(`{"op":"echo"}`)})
		return err == nil && out.FunctionError == nil
	})
}

func healthAt(url string) (int, map[string]any) {
	resp, err := http.Get(url + "/health")
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var h map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&h)
	return resp.StatusCode, h
}

func freeLoopback(t *testing.T) string {
	return fmt.Sprintf("127.0.0.1:%d", servertest.FreePort(t))
}

func moduleRootDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}
