package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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

func TestSecondServerOnSameDataFailsFast(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	srv, err := server.New(server.Config{Listen: "127.0.0.1:0", DataDir: s.DataDir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	err = srv.Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "in use by another lambada server") {
		t.Fatalf("second server: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("failing took %v", d)
	}
	// The first server is unharmed.
	if _, err := s.Client.ListFunctions(ctx, &lambda.ListFunctionsInput{}); err != nil {
		t.Fatal(err)
	}
}

func TestNonLoopbackNeedsExplicitCredentials(t *testing.T) {
	for _, listen := range []string{"0.0.0.0:9070", ":9070", "10.1.2.3:9070", "example.com:9070"} {
		_, err := server.New(server.Config{Listen: listen, DataDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("%s: %v", listen, err)
		}
	}
	for _, listen := range []string{"127.0.0.1:9070", "localhost:9070", "[::1]:9070"} {
		if _, err := server.New(server.Config{Listen: listen, DataDir: t.TempDir()}); err != nil {
			t.Errorf("%s: %v", listen, err)
		}
	}
	if _, err := server.New(server.Config{Listen: "0.0.0.0:0", AccessKeyID: "AK", SecretAccessKey: "SK"}); err != nil {
		t.Errorf("explicit credentials: %v", err)
	}
	if _, err := server.New(server.Config{Listen: "127.0.0.1:0", AccessKeyID: "AK"}); err == nil {
		t.Error("half a key pair accepted")
	}
}

func TestGeneratedCredentialsAreKeptPrivate(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	fi, err := os.Stat(filepath.Join(s.DataDir, "credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file mode %v", fi.Mode().Perm())
	}
	if _, generated := s.Credentials(); !generated {
		t.Fatal("first start did not generate credentials")
	}
}

func TestExplicitCredentials(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) {
		c.AccessKeyID, c.SecretAccessKey = "AKIDEXPLICIT", "explicit-secret"
	}})
	if s.Creds.AccessKeyID != "AKIDEXPLICIT" {
		t.Fatalf("creds %+v", s.Creds)
	}
	if _, err := os.Stat(filepath.Join(s.DataDir, "credentials.json")); !os.IsNotExist(err) {
		t.Fatalf("a key pair was written although credentials were explicit: %v", err)
	}
	if _, err := s.Client.ListFunctions(context.Background(), &lambda.ListFunctionsInput{}); err != nil {
		t.Fatal(err)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	resp, err := http.Get(s.URL() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if resp.StatusCode != 200 || h["status"] != "ok" || h["storage"] != "embedded" {
		t.Fatalf("health %d %v", resp.StatusCode, h)
	}
	// Which runtimes this host runs: node and python3 are on the test
	// machines' PATH (the suites need them).
	rt, _ := h["runtimes"].(map[string]any)
	if rt["provided"] != "bootstrap" || !strings.HasPrefix(fmt.Sprint(rt["nodejs"]), "v") || !strings.HasPrefix(fmt.Sprint(rt["python"]), "3.") {
		t.Fatalf("health runtimes %v", h["runtimes"])
	}
	if _, err := s.Client.ListFunctions(context.Background(), &lambda.ListFunctionsInput{}); err != nil {
		t.Fatal(err)
	}
	b := s.MetricsText(t)
	if !strings.Contains(string(b), `lambada_api_requests_total{operation="ListFunctions",status="200"} 1`) {
		t.Fatalf("metrics lack the request counter:\n%.2000s", b)
	}
	s.Stop(t)
	if _, err := http.Get(s.URL() + "/health"); err == nil {
		t.Fatal("health still answers after Close")
	}
}

// Two servers on one NATS JetStream share one registry: what one writes,
// the other serves within a second, through its own watched view.
func TestSharedRegistryOverExternalNATS(t *testing.T) {
	url := natstest.StartServer(t)
	creds := func(c *server.Config) { c.AccessKeyID, c.SecretAccessKey = "AKIDSHARED", "shared-secret" }
	a := servertest.Start(t, servertest.Options{NATSURL: url, Config: creds})
	b := servertest.Start(t, servertest.Options{NATSURL: url, Config: creds})
	ctx := context.Background()

	resp, err := http.Get(a.URL() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if h["storage"] != "external" {
		t.Fatalf("health %v", h)
	}

	_, err = a.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("shared"), Role: aws.String("arn:aws:iam::000000000000:role/r"),
		Runtime: types.RuntimeProvidedal2023,
		Code:    &types.FunctionCode{ZipFile: servertest.Zip(t, map[string]string{"bootstrap": "x"})},
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool {
		_, err := b.Client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("shared")})
		return err == nil
	})
	upd, err := b.Client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("shared"), Timeout: aws.Int32(42)})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool {
		c, err := a.Client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("shared")})
		return err == nil && aws.ToString(c.RevisionId) == aws.ToString(upd.RevisionId) && aws.ToInt32(c.Timeout) == 42
	})
	// A code URL made by one node downloads through the other.
	got, err := a.Client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("shared")})
	if err != nil {
		t.Fatal(err)
	}
	loc := strings.Replace(aws.ToString(got.Code.Location), a.Addr(), b.Addr(), 1)
	r, err := http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Fatalf("code via the other node: %d", r.StatusCode)
	}
	if _, err := a.Client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool {
		_, err := b.Client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("shared")})
		return err != nil && strings.Contains(err.Error(), "ResourceNotFoundException")
	})
}

// eventually polls cond for up to one second: the multi-node promise.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	waitfor.True(t, time.Second, "the other node to agree", cond)
}

// The default --data is relative (./lambada-data); functions start in their
// own task root, so every path the server hands them must still resolve.
func TestRelativeDataDirRunsFunctions(t *testing.T) {
	t.Chdir(t.TempDir())
	s := servertest.Start(t, servertest.Options{DataDir: "lambada-data"})
	ctx := context.Background()
	_, err := s.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("rel"), Role: aws.String("arn:aws:iam::000000000000:role/r"),
		Runtime: types.RuntimePython312, Handler: aws.String("h.handler"),
		Code: &types.FunctionCode{ZipFile: servertest.Zip(t, map[string]string{"h.py": "def handler(event, context):\n    return {'ok': event['n'] + 1}\n"})},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("rel"), Payload: []byte(`{"n":41}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out.FunctionError != nil || string(out.Payload) != `{"ok": 42}` {
		t.Fatalf("invoke: error %q, payload %s", aws.ToString(out.FunctionError), out.Payload)
	}
}
