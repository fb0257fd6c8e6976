// Package conformance runs lambada against the real clients users have: the
// AWS SDK for JavaScript v3 (js/, node --test) and the AWS CLI
// (cli/cli_test.sh). Each test boots its own server in-process and hands the
// suite the three variables "lambada server" prints, plus LAMBADA_ECHO_ZIP:
// the path of the Go echo test function's deployment package.
//
// The suites need Node with js/node_modules installed (npm ci --prefix
// conformance/js), the aws CLI and python3. A missing tool fails the test
// with what to install; LAMBADA_SKIP_CONFORMANCE=1 skips these tests.
package conformance

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambada-dev/lambada/internal/servertest"
)

// suiteTimeout bounds one suite. Each finishes in about a minute on an idle
// machine; the margin is for go test -race ./... sharing two cores with the
// other packages (one aws CLI call alone then takes seconds).
const suiteTimeout = 8 * time.Minute

const skipEnv = "LAMBADA_SKIP_CONFORMANCE"

func TestJavaScriptSDK(t *testing.T) {
	t.Parallel()
	requireTools(t, "node")
	if _, err := os.Stat(filepath.Join("js", "node_modules", "@aws-sdk", "client-lambda", "package.json")); err != nil {
		missing(t, "conformance/js/node_modules is not installed: run `npm ci --prefix conformance/js` "+
			"(needs Node.js 20+ and npm; Debian: apt-get install nodejs npm)")
	}
	trackInputs(t, "js/*.js", "js/package.json", "js/package-lock.json")
	runSuite(t, "js", "node", "--test")
}

func TestAWSCLI(t *testing.T) {
	t.Parallel()
	requireTools(t, "bash", "python3", "aws")
	trackInputs(t, "cli/*.sh")
	runSuite(t, ".", "bash", filepath.Join("cli", "cli_test.sh"))
}

// TestPython runs python/*_test.py with unittest: boto3 directly, and the
// AWS CLI through subprocess (python/iac_test.py covers the calls
// infrastructure-as-code tools make).
func TestPython(t *testing.T) {
	t.Parallel()
	requireTools(t, "python3", "aws")
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		missing(t, "boto3 is not installed for python3 (pip install boto3; Debian: apt-get install python3-boto3)")
	}
	trackInputs(t, "python/*_test.py")
	runSuite(t, "python", "python3", "-m", "unittest", "discover", "-p", "*_test.py", "-v")
}

// trackInputs reads the suite's own files so that go test's result cache,
// which knows only the files this process opens, reruns the test when a
// suite file changes.
func trackInputs(t *testing.T, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		files, err := filepath.Glob(p)
		if err != nil || len(files) == 0 {
			t.Fatalf("suite files %s: none found (%v)", p, err)
		}
		for _, f := range files {
			if _, err := os.ReadFile(f); err != nil {
				t.Fatalf("reading suite file: %v", err)
			}
		}
	}
}

// requireTools fails the test for each tool not on PATH.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	if os.Getenv(skipEnv) == "1" {
		t.Skipf("%s=1", skipEnv)
	}
	install := map[string]string{
		"node":    "Node.js 20+ (Debian: apt-get install nodejs npm)",
		"aws":     "the AWS CLI (Debian: apt-get install awscli)",
		"python3": "Python 3 (Debian: apt-get install python3)",
		"bash":    "bash",
	}
	var lacking []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			lacking = append(lacking, tool+": install "+install[tool])
		}
	}
	if len(lacking) > 0 {
		missing(t, "not on PATH: "+strings.Join(lacking, "; "))
	}
}

func missing(t *testing.T, what string) {
	t.Helper()
	t.Fatalf("%s\n(the conformance suites run the real clients; set %s=1 to skip them)", what, skipEnv)
}

// runSuite boots a server and runs one suite against it, logging the suite's
// output line by line (go test shows it on failure or with -v).
func runSuite(t *testing.T, dir, name string, args ...string) {
	s := servertest.Start(t, servertest.Options{})
	// The invoke tests deploy the Go echo function; the suites cannot build
	// Go, so the harness hands them its package.
	echoZip := filepath.Join(t.TempDir(), "echo.zip")
	if err := os.WriteFile(echoZip, servertest.GoFunction(t, "echo"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), suiteTimeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(),
		"AWS_ENDPOINT_URL_LAMBDA="+s.URL(),
		"AWS_ENDPOINT_URL_STS="+s.URL(),
		"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS="+s.URL(),
		"AWS_ACCESS_KEY_ID="+s.Creds.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+s.Creds.SecretAccessKey,
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"LAMBADA_ECHO_ZIP="+echoZip,
	)
	out := &lineLogger{t: t}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	out.flush()
	elapsed := time.Since(start).Round(time.Millisecond)
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %s did not finish within %v", name, strings.Join(args, " "), suiteTimeout)
	case err != nil:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("%s %s failed (exit status %d after %v); its output is above", name, strings.Join(args, " "), exit.ExitCode(), elapsed)
		}
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	t.Logf("%s %s passed in %v", name, strings.Join(args, " "), elapsed)
}

// cleanEnv is this process's environment without the AWS settings that
// would point the clients elsewhere or change their credentials.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// lineLogger writes each complete line to t.Log as it arrives.
type lineLogger struct {
	t   *testing.T
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			// An incomplete line: keep it for the next write.
			l.buf.Reset()
			l.buf.WriteString(line)
			return len(p), nil
		}
		l.t.Log(strings.TrimRight(line, "\r\n"))
	}
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() > 0 {
		l.t.Log(l.buf.String())
		l.buf.Reset()
	}
}
