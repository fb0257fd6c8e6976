package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/cli"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/syncbuf"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// startDev runs `lambada dev args…` as a user would (with an embedded
// server) and returns a client of that server, its output, and a stop
// that presses Ctrl-C and waits for the command to end.
func startDev(t *testing.T, args ...string) (*lambda.Client, *syncbuf.Buffer, func() int) {
	t.Helper()
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", "")
	t.Setenv("LAMBADA_ACCESS_KEY_ID", "")
	t.Setenv("LAMBADA_SECRET_ACCESS_KEY", "")
	out, stop := runDev(t, args...)
	exports := map[string]string{}
	re := regexp.MustCompile(`(?m)^export (\w+)=(\S+)$`)
	for _, m := range re.FindAllStringSubmatch(out.String(), -1) {
		exports[m[1]] = m[2]
	}
	c := lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(exports["AWS_ENDPOINT_URL_LAMBDA"]),
		Credentials: credentials.NewStaticCredentialsProvider(exports["AWS_ACCESS_KEY_ID"], exports["AWS_SECRET_ACCESS_KEY"], "")})
	return c, out, stop
}

// runDev runs `lambada dev args…` until it says edits are live.
func runDev(t *testing.T, args ...string) (*syncbuf.Buffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errs syncbuf.Buffer
	done := make(chan int, 1)
	argv := append([]string{"dev"}, args...)
	argv = append(argv, "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--isolation", "none")
	go func() { done <- cli.Main(ctx, argv, &out, &errs) }()
	stopped := false
	stop := func() int {
		if stopped {
			return 0
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(60 * time.Second):
			t.Fatalf("lambada dev did not stop; output:\n%s", out.String())
			return -1
		}
	}
	t.Cleanup(func() { stop() })
	waitfor.True(t, 60*time.Second, "lambada dev to be ready", func() bool {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("lambada dev ended with %d:\n%s\n%s", code, out.String(), errs.String())
		default:
		}
		return strings.Contains(out.String(), "edits are live")
	})
	return &out, stop
}

func invokeAnswer(c *lambda.Client, name string) (string, error) {
	out, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(name)})
	if err != nil {
		return "", err
	}
	if out.FunctionError != nil {
		return "", fmt.Errorf("function error: %s", out.Payload)
	}
	return string(out.Payload), nil
}

func waitAnswer(t *testing.T, c *lambda.Client, name, want string) {
	t.Helper()
	waitAnswerWithin(t, 15*time.Second, c, name, want)
}

func waitAnswerWithin(t *testing.T, d time.Duration, c *lambda.Client, name, want string) {
	t.Helper()
	waitfor.Eventually(t, d, func() error {
		got, err := invokeAnswer(c, name)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%s answers %s, want %s", name, got, want)
		}
		return nil
	})
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// `lambada dev DIR`: guesses the runtime, starts a server, creates the
// function, reloads on edit, prints its log lines, leaves it on Ctrl-C.
func TestDevCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hello")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "app.py"), "def handler(event, context):\n    print('log-v1')\n    return 'v1'\n")
	c, out, stop := startDev(t, dir)
	if !strings.Contains(out.String(), "# function hello: runtime python3.15, handler app.handler") {
		t.Errorf("the guess is not printed:\n%s", out.String())
	}
	waitAnswer(t, c, "hello", `"v1"`)
	write(t, filepath.Join(dir, "app.py"), "def handler(event, context):\n    print('log-v2')\n    return 'v2'\n")
	waitAnswer(t, c, "hello", `"v2"`)
	waitfor.True(t, 15*time.Second, "the function's log lines in the terminal", func() bool {
		return strings.Contains(out.String(), "log-v1") && strings.Contains(out.String(), "log-v2")
	})
	if code := stop(); code != 0 {
		t.Errorf("exit code %d", code)
	}
	if !strings.Contains(out.String(), "Function hello is left in place") {
		t.Errorf("Ctrl-C does not say the function stays:\n%s", out.String())
	}
}

// --build runs on each change; a failing build keeps the old code and
// prints the error.
func TestDevBuild(t *testing.T) {
	dir := t.TempDir()
	// The "build" checks the source compiles, as a real build would.
	build := "python3 -c \"import ast,sys; ast.parse(open('app.py').read())\""
	write(t, filepath.Join(dir, "app.py"), "def handler(event, context):\n    return 'v1'\n")
	t.Setenv("TMPDIR", t.TempDir()) // where the built copy goes
	c, out, _ := startDev(t, dir, "--name", "built", "--build", build)
	waitAnswer(t, c, "built", `"v1"`)
	write(t, filepath.Join(dir, "app.py"), "def handler(event, context) oops\n")
	waitfor.True(t, 15*time.Second, "the build failure printed", func() bool {
		return strings.Contains(out.String(), "build failed (the function keeps its previous code)") &&
			strings.Contains(out.String(), "SyntaxError")
	})
	if got, err := invokeAnswer(c, "built"); err != nil || got != `"v1"` {
		t.Errorf("after a failed build the function answers %s, %v; want the old code", got, err)
	}
	write(t, filepath.Join(dir, "app.py"), "def handler(event, context):\n    return 'v3'\n")
	waitAnswer(t, c, "built", `"v3"`)
}

// --debug puts the function in debug mode and prints the debugger's port.
func TestDevDebug(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "index.mjs"), "export const handler = async () => process.env.LAMBADA_DEBUG;\n")
	c, out, _ := startDev(t, dir, "--name", "dbg", "--debug", "--debug-port", "9339")
	if !strings.Contains(out.String(), "# function dbg: runtime nodejs26.x, handler index.handler") ||
		!strings.Contains(out.String(), "dbg in debug mode: no timeout, one invocation at a time, debugger port 127.0.0.1:9339") {
		t.Errorf("output:\n%s", out.String())
	}
	cfg, err := c.GetFunctionConfiguration(context.Background(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("dbg")})
	if err != nil {
		t.Fatal(err)
	}
	if v := cfg.Environment.Variables; v["LAMBADA_DEBUG"] != "1" || v["LAMBADA_DEBUG_PORT"] != "9339" {
		t.Errorf("variables %v", v)
	}
}

// A lambada.json starts several functions with their variables and URLs.
func TestDevProject(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"api", "worker"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(root, "api", "index.mjs"), "export const handler = async () => 'api:' + process.env.GREETING;\n")
	write(t, filepath.Join(root, "worker", "app.py"), "def handler(event, context):\n    return 'worker'\n")
	write(t, filepath.Join(root, "lambada.json"), `{"functions": [
  {"name": "api", "dir": "api", "env": {"GREETING": "hi"}, "url": true},
  {"name": "worker", "dir": "worker", "runtime": "python3.12", "handler": "app.handler"}
]}`)
	c, out, stop := startDev(t, root)
	waitAnswer(t, c, "api", `"api:hi"`)
	waitAnswer(t, c, "worker", `"worker"`)
	u, err := c.GetFunctionUrlConfig(context.Background(), &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("api")})
	if err != nil || !strings.Contains(out.String(), "# api: "+aws.ToString(u.FunctionUrl)) {
		t.Errorf("URL %v not printed:\n%s", err, out.String())
	}
	write(t, filepath.Join(root, "worker", "app.py"), "def handler(event, context):\n    return 'worker2'\n")
	waitAnswer(t, c, "worker", `"worker2"`)
	stop()
	if !strings.Contains(out.String(), "Function api, worker is left in place") {
		t.Errorf("output:\n%s", out.String())
	}
}

// `lambada dev` against a running server, on a function created before
// from a zip: it switches it to the folder (runtime, handler guessed), says
// so, keeps its variables, and edits are live.
func TestDevUpdatesExistingFunction(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	if _, err := s.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("old"),
		Role: aws.String("arn:aws:iam::000000000000:role/r"), Runtime: types.RuntimeNodejs22x, Handler: aws.String("index.handler"),
		Code:        &types.FunctionCode{ZipFile: servertest.Zip(t, map[string]string{"index.mjs": "export const handler = async () => 'zip';\n"})},
		Environment: &types.Environment{Variables: map[string]string{"KEEP": "kept"}},
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := invokeAnswer(s.Client, "old"); err != nil || got != `"zip"` {
		t.Fatalf("before: %s %v", got, err)
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "app.py"), "import os\ndef handler(event, context):\n    return 'folder-v1:' + os.environ['KEEP']\n")
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", s.URL())
	t.Setenv("AWS_ACCESS_KEY_ID", s.Creds.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s.Creds.SecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	out, stop := runDev(t, dir, "--name", "old")
	if want := "# old existed (code from a zip, runtime nodejs22.x, handler index.handler): updated to run from " + dir +
		", runtime python3.15, handler app.handler"; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	if strings.Contains(out.String(), "export AWS_") {
		t.Errorf("an embedded server was started:\n%s", out.String())
	}
	waitAnswer(t, s.Client, "old", `"folder-v1:kept"`)
	got, err := s.Client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("old")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Code.Location) != "file://"+dir || got.Configuration.Runtime != "python3.15" || aws.ToString(got.Configuration.Handler) != "app.handler" {
		t.Errorf("GetFunction: %s %s %s", aws.ToString(got.Code.Location), got.Configuration.Runtime, aws.ToString(got.Configuration.Handler))
	}
	write(t, filepath.Join(dir, "app.py"), "def handler(event, context):\n    return 'folder-v2'\n")
	waitAnswer(t, s.Client, "old", `"folder-v2"`)
	if code := stop(); code != 0 {
		t.Errorf("exit code %d", code)
	}
	if !strings.Contains(out.String(), "Function old is left in place.") {
		t.Errorf("output:\n%s", out.String())
	}
	if _, err := s.Client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("old")}); err != nil {
		t.Errorf("after Ctrl-C: %v", err)
	}
}

// --build with a real `go build` of a Go function (its own go.mod; the
// modules come from the module cache, no network): an edit is rebuilt and
// live, a compile error is printed and the old binary keeps answering.
func TestDevGoBuild(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum", "main.go"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "devloop", "gofn", f))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, f), string(b))
	}
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOFLAGS", "-mod=readonly")
	t.Setenv("GOWORK", "off")
	t.Setenv("CGO_ENABLED", "0")
	t.Setenv("TMPDIR", t.TempDir()) // where the built copy goes
	c, out, _ := startDev(t, dir, "--name", "gofn", "--build", "go build -o bootstrap .")
	if !strings.Contains(out.String(), "# function gofn: runtime provided.al2023, handler bootstrap") {
		t.Errorf("the guess is not printed:\n%s", out.String())
	}
	const build = 90 * time.Second // a link on a loaded 2-core machine
	waitAnswerWithin(t, build, c, "gofn", `"go-v1"`)
	src, err := os.ReadFile(filepath.Join(dir, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "main.go"), strings.Replace(string(src), `return "go-v1", nil`, `return oops, nil`, 1))
	waitfor.True(t, build, "the compiler's error printed", func() bool {
		return strings.Contains(out.String(), "build failed (the function keeps its previous code)") &&
			strings.Contains(out.String(), "undefined: oops")
	})
	if got, err := invokeAnswer(c, "gofn"); err != nil || got != `"go-v1"` {
		t.Errorf("after a failed build the function answers %s, %v; want the old code", got, err)
	}
	write(t, filepath.Join(dir, "main.go"), strings.Replace(string(src), `"go-v1"`, `"go-v2"`, 1))
	waitAnswerWithin(t, build, c, "gofn", `"go-v2"`)
	// The build's own output (bootstrap written in DIR) is no new change:
	// two builds ran for the two edits, no third.
	if n := strings.Count(out.String(), "# change in "); n != 2 {
		t.Errorf("%d builds after 2 edits:\n%s", n, out.String())
	}
}
