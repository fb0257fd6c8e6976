package async_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// TestKillNineLosesNoAcceptedEvent starts the real binary, sends 300
// events, kill -9s the server half-way, restarts it on the same data
// folder and checks that every event answered with 202 ran.
func TestKillNineLosesNoAcceptedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real binary twice")
	}
	bin := buildLambada(t)
	data := t.TempDir()
	addr := freeAddr(t)
	creds := server.Credentials{AccessKeyID: "AKIDCRASH", SecretAccessKey: "crash-secret"}
	run := func() *exec.Cmd {
		cmd := exec.Command(bin, "server", "--listen", addr, "--data", data, "--async-retry-delay", "200ms", "--log-level", "warn")
		cmd.Env = append(os.Environ(), "LAMBADA_ACCESS_KEY_ID="+creds.AccessKeyID, "LAMBADA_SECRET_ACCESS_KEY="+creds.SecretAccessKey)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
		waitHealthy(t, "http://"+addr)
		return cmd
	}
	srv := run()
	client := servertest.NewClient("http://"+addr, creds)
	ctx := context.Background()
	sk := newSink(t)
	if _, err := client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("crash"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
	}); err != nil {
		t.Fatal(err)
	}

	const total = 300
	payload, _ := json.Marshal(map[string]any{"op": "record", "url": sk.URL})
	var mu sync.Mutex
	accepted := map[string]bool{}
	var wg sync.WaitGroup
	next := make(chan int)
	killed := make(chan struct{})
	var once sync.Once
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if i == total/2 {
					once.Do(func() {
						_ = srv.Process.Signal(syscall.SIGKILL)
						_, _ = srv.Process.Wait()
						close(killed)
					})
				}
				out, err := client.Invoke(ctx, &lambda.InvokeInput{
					FunctionName: aws.String("crash"), InvocationType: types.InvocationTypeEvent, Payload: payload,
				}, func(o *lambda.Options) { o.Retryer = aws.NopRetryer{} })
				if err != nil || out.StatusCode != 202 {
					continue // not accepted: no promise was made
				}
				id, _ := middleware.GetRequestIDMetadata(out.ResultMetadata)
				mu.Lock()
				accepted[id] = true
				mu.Unlock()
			}
		}()
	}
	for i := range total {
		if i > total/2 {
			<-killed
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if len(accepted) < total/3 {
		t.Fatalf("only %d events accepted before the kill", len(accepted))
	}

	run()
	waitfor.Eventually(t, 90*time.Second, func() error {
		seen := map[string]bool{}
		sk.mu.Lock()
		for _, h := range sk.hits {
			seen[h.RequestID] = true
		}
		sk.mu.Unlock()
		missing := 0
		for id := range accepted {
			if !seen[id] {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d accepted events never ran", missing, len(accepted))
		}
		return nil
	})
	t.Logf("%d accepted events all ran (%d runs in all, duplicates allowed)", len(accepted), sk.count())
}

// lambadaBinary is ./cmd/lambada built once per test binary.
var lambadaBinary struct {
	sync.Mutex
	path string
}

// buildLambada builds ./cmd/lambada (once per test binary) and returns
// its path.
func buildLambada(t *testing.T) string {
	t.Helper()
	lambadaBinary.Lock()
	defer lambadaBinary.Unlock()
	if lambadaBinary.path != "" {
		return lambadaBinary.path
	}
	dir, err := os.MkdirTemp("", "lambada-bin-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "lambada")
	build := exec.Command("go", "build", "-o", bin, "./cmd/lambada")
	build.Dir = moduleRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	lambadaBinary.path = bin
	return bin
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHealthy(t *testing.T, url string) {
	t.Helper()
	waitfor.True(t, 30*time.Second, url+" healthy", func() bool {
		resp, err := http.Get(url + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

func moduleRoot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(string(out[:len(out)-1]))
}
