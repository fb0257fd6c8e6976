// Package servertest boots a whole lambada in-process on 127.0.0.1:0 with a
// temporary data folder and hands tests a ready aws-sdk-go-v2 Lambda client.
package servertest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/lambada-dev/lambada/internal/sandbox"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/syncbuf"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// Options change how a test server starts.
type Options struct {
	// DataDir reuses a folder (to test restarts); "" = a new temp dir.
	DataDir string
	// NATSURL uses an external NATS server instead of the embedded one.
	NATSURL string
	// Config, when set, may adjust the server configuration further.
	Config func(*server.Config)
}

// Server is a running test server.
type Server struct {
	*server.Server
	Client  *lambda.Client
	DataDir string
	Creds   server.Credentials
}

// Start boots a server and stops it when the test ends.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	if opt.DataDir == "" {
		opt.DataDir = t.TempDir()
	}
	s, err := start(t, opt)
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	waitHealthy(t, s.URL())
	return s
}

// start boots a server without failing t (it may run on another
// goroutine) and registers its stop; the caller waits for /health.
func start(t testing.TB, opt Options) (*Server, error) {
	cfg := server.Config{
		Listen:  "127.0.0.1:0",
		DataDir: opt.DataDir,
		NATSURL: opt.NATSURL,
		Logger:  testLogger(t),
		// Tests see the runtime's real pid (echo's "pid" op tells warm
		// from cold); the sandbox suite asks for isolation explicitly.
		Isolation: sandbox.None,
		// Function log lines stay off the test's output; tests of the
		// console set FunctionLogs and FunctionLogsOutput.
		FunctionLogs: server.FunctionLogsOff,
	}
	if opt.Config != nil {
		opt.Config(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		return nil, fmt.Errorf("starting: %w", err)
	}
	s := &Server{Server: srv, DataDir: opt.DataDir}
	s.Creds, _ = srv.Credentials()
	t.Cleanup(func() { s.Stop(t) })
	s.Client = NewClient(srv.URL(), s.Creds)
	return s, nil
}

// Stop closes the server (also done at cleanup; safe twice).
func (s *Server) Stop(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Errorf("servertest: closing: %v", err)
	}
}

// NewClient is an aws-sdk-go-v2 Lambda client for a lambada endpoint.
func NewClient(endpoint string, c server.Credentials) *lambda.Client {
	return lambda.New(lambda.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, ""),
		HTTPClient:   InMemoryBodies{&http.Client{Timeout: 60 * time.Second}},
	})
}

// InMemoryBodies works around a client-side race between smithy-go and
// net/http that a server as fast as lambada exposes. The SDK wraps request
// bodies in a reader that net/http does not know to be in memory, so the
// transport flushes the headers, writes the body straight to the socket
// and then probes the body for extra bytes. smithy-go closes the body as
// soon as Do returns, and after Close its WriteTo answers io.EOF as an
// error: when the response head arrives before that probe ran (lambada
// answers in a few hundred µs; a busy two-core machine can stall the
// writer that long), the transport closes the connection under the
// response being read, and a response stream ends with "use of closed
// network connection". A *bytes.Reader body is written with its headers in
// one flush after the probe, which closes the window.
type InMemoryBodies struct{ *http.Client }

// Do sends r with its body copied into memory.
func (c InMemoryBodies) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	return c.Client.Do(r)
}

func waitHealthy(t testing.TB, url string) {
	t.Helper()
	waitfor.True(t, 10*time.Second, url+"/health to answer 200", func() bool {
		resp, err := http.Get(url + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// testLogger is the server's logger: everything to stderr when
// LAMBADA_TEST_LOG is set; otherwise its warnings and errors are kept and
// printed only if t fails, so that a failure on CI says what the server
// saw (an internal error's cause is only in the log).
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("LAMBADA_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	kept := &syncbuf.Buffer{Limit: keptLogMax}
	t.Cleanup(func() {
		if log := kept.String(); t.Failed() && log != "" {
			t.Logf("the server's warnings and errors:\n%s", log)
		}
	})
	return slog.New(slog.NewTextHandler(kept, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// keptLogMax bounds the log testLogger keeps: a test that floods warnings
// on purpose keeps its first ones.
const keptLogMax = 256 << 10

// Zip builds a deployment package from name → content; "bootstrap" gets
// mode 0755, everything else 0644.
func Zip(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		mode := os.FileMode(0o644)
		if name == "bootstrap" {
			mode = 0o755
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// NoRetry is c without retries, for tests that count what the server did
// with each refused call (the SDK retries 429 and 5xx).
func NoRetry(c *lambda.Client) *lambda.Client {
	return lambda.New(c.Options(), func(o *lambda.Options) { o.Retryer = aws.NopRetryer{} })
}

// LogsClient is an aws-sdk-go-v2 CloudWatch Logs client for the server.
func (s *Server) LogsClient() *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider(s.Creds.AccessKeyID, s.Creds.SecretAccessKey, ""),
		HTTPClient:   InMemoryBodies{&http.Client{Timeout: 60 * time.Second}},
	})
}

// MetricsText returns the server's /metrics text, read on the API's address
// with a request signed by the server's key pair, as /metrics there
// requires (docs/security.md).
func (s *Server) MetricsText(t testing.TB) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL()+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	SignRequest(t, req, s.Creds, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("servertest: GET /metrics: %d %v\n%s", resp.StatusCode, err, b)
	}
	return b
}

// ConcurrentExecutions is fn's running invocations on the server, from its
// /metrics (lambada_concurrent_executions; 0 when the series is absent).
func (s *Server) ConcurrentExecutions(t testing.TB, fn string) int {
	t.Helper()
	return int(MetricSum(s.MetricsText(t), "lambada_concurrent_executions", `function_name="`+fn+`"`))
}

// SignRequest signs req for the Lambda API (SigV4, us-east-1) with c as
// an SDK would, body being its whole body (nil for none).
func SignRequest(t testing.TB, req *http.Request, c server.Credentials, body []byte) {
	t.Helper()
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
}

// MetricSum adds up the samples of the series name in a Prometheus text
// exposition: every label set whose text contains each of match (0 when
// there is none).
func MetricSum(exposition []byte, name string, match ...string) float64 {
	sum := 0.0
	for line := range strings.SplitSeq(string(exposition), "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (!strings.HasPrefix(rest, "{") && !strings.HasPrefix(rest, " ")) {
			continue
		}
		matched := true
		for _, m := range match {
			matched = matched && strings.Contains(rest, m)
		}
		f := strings.Fields(rest)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil && matched {
			sum += v
		}
	}
	return sum
}

// MetricSumAt is MetricSum of the exposition at url, read unsigned (a
// --metrics-listen address); 0 when it cannot be read.
func MetricSumAt(url, name string, match ...string) float64 {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0
	}
	return MetricSum(b, name, match...)
}
