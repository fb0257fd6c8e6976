package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/lambada-dev/lambada/internal/syncbuf"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// runMainEnv makes the test binary be lambada itself: started with it set,
// it runs main with its arguments.
const runMainEnv = "LAMBADA_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// `lambada dev DIR` as a user runs it (docs/behaviour/dev-loop.md §5): a
// process started in a terminal, its output read, the handler edited, then
// Ctrl-C (SIGINT) — it exits 0 and says the function is left in place.
func TestDevAsAUser(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "hello")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	handler := func(v string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte("def handler(event, context):\n    return '"+v+"'\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	handler("v1")
	cmd := exec.Command(exe, "dev", dir, "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--isolation", "none")
	env := []string{runMainEnv + "=1"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "LAMBADA_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	var out syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	waitfor.True(t, 60*time.Second, "lambada dev to be ready", func() bool {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("lambada dev ended: %v\n%s", err, out.String())
		default:
		}
		return strings.Contains(out.String(), "edits are live")
	})
	exports := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^export (\w+)=(\S+)$`).FindAllStringSubmatch(out.String(), -1) {
		exports[m[1]] = m[2]
	}
	c := lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(exports["AWS_ENDPOINT_URL_LAMBDA"]),
		Credentials: credentials.NewStaticCredentialsProvider(exports["AWS_ACCESS_KEY_ID"], exports["AWS_SECRET_ACCESS_KEY"], "")})
	answers := func(want string) {
		t.Helper()
		waitfor.True(t, 15*time.Second, "hello to answer "+want, func() bool {
			got, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("hello")})
			return err == nil && got.FunctionError == nil && string(got.Payload) == want
		})
	}
	answers(`"v1"`)
	handler("v2")
	answers(`"v2"`)

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Errorf("lambada dev after Ctrl-C: %v\n%s", err, out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("lambada dev did not stop on Ctrl-C:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "# stopped. Function hello is left in place") {
		t.Errorf("Ctrl-C does not say the function stays:\n%s", out.String())
	}
}
