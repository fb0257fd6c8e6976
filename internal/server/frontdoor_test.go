package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/frontdoor"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
)

// The HTTP front door (docs/security.md, "HTTP front door").

// head writes req's request line and headers (not its body) to conn, with
// Content-Length n, or chunked when n < 0.
func head(t *testing.T, conn net.Conn, req *http.Request, n int64) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", req.Method, req.URL.RequestURI(), req.Host)
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if n >= 0 {
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", n)
	} else {
		b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
	}
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
}

// signed is a request to s's API signed with creds for body (Content-Length
// n is signed when > 0), at time at.
func signed(t *testing.T, s *servertest.Server, creds server.Credentials, method, path string, body []byte, n int64) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = n
	servertest.SignRequest(t, req, creds, body)
	return req
}

func dial(t *testing.T, s *servertest.Server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// awsError reads one answer from conn (within 10 s) and checks it is the
// AWS-shaped error wanted; msg "" skips the message, a trailing "…" checks
// a prefix.
func awsError(t *testing.T, conn net.Conn, status int, code, msg string) *http.Response {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	checkAWSError(t, resp, status, code, msg)
	return resp
}

func checkAWSError(t *testing.T, resp *http.Response, status int, code, msg string) {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != status || resp.Header.Get("X-Amzn-ErrorType") != code ||
		resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("X-Amzn-Requestid") == "" {
		t.Fatalf("got %d %q %v\n%s, want %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), resp.Header, b, status, code)
	}
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("body is not JSON: %q", b)
	}
	got, ok := body["message"].(string)
	if !ok { // the function URL data plane's casing
		got, _ = body["Message"].(string)
	}
	if m, ok := strings.CutSuffix(msg, "…"); ok && !strings.HasPrefix(got, m) || !ok && msg != "" && got != msg {
		t.Fatalf("message %q, want %q", got, msg)
	}
}

func TestFrontDoorRefusesBeforeTheBody(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	const big = 70_000_000 // announced, never sent
	bad := server.Credentials{AccessKeyID: "LKIAUNKNOWN", SecretAccessKey: "x"}
	for _, tc := range []struct {
		name, code, msg string
		req             func() *http.Request
	}{
		{"no Authorization", "MissingAuthenticationTokenException", "Missing Authentication Token", func() *http.Request {
			r, _ := http.NewRequest("POST", s.URL()+"/2015-03-31/functions", nil)
			return r
		}},
		{"malformed Authorization", "IncompleteSignatureException",
			"Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.",
			func() *http.Request {
				r, _ := http.NewRequest("POST", s.URL()+"/2015-03-31/functions", nil)
				r.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
				return r
			}},
		{"unknown access key", "UnrecognizedClientException", "The security token included in the request is invalid.", func() *http.Request {
			return signed(t, s, bad, "POST", "/2015-03-31/functions", nil, big)
		}},
		{"date outside the skew", "InvalidSignatureException", "Signature expired: …", func() *http.Request {
			r := signed(t, s, s.Creds, "POST", "/2015-03-31/functions", nil, big)
			old := time.Now().UTC().Add(-10 * time.Minute).Format("20060102T150405Z")
			r.Header.Set("X-Amz-Date", old)
			r.Header.Set("Authorization", regexp.MustCompile(`/\d{8}/`).ReplaceAllString(r.Header.Get("Authorization"), "/"+old[:8]+"/"))
			return r
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := dial(t, s)
			head(t, conn, tc.req(), big)
			resp := awsError(t, conn, 403, tc.code, tc.msg)
			if !resp.Close {
				t.Fatal("the connection stays open under an unread body")
			}
		})
	}
	out, err := s.Client.ListFunctions(context.Background(), &lambda.ListFunctionsInput{})
	if err != nil || len(out.Functions) != 0 {
		t.Fatalf("functions after refusals: %v %v", out, err)
	}
}

func TestFrontDoorCutsSlowBodies(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) {
		c.Limits = frontdoor.Limits{BodyTimeout: 300 * time.Millisecond, BodyMinRate: 1024}
	}})
	body := bytes.Repeat([]byte("a"), 64)
	createPython(t, s, "f")
	url := publicURL(t, s, "f")
	for _, tc := range []struct {
		name    string
		chunked bool
		req     func() *http.Request
	}{
		{"api", false, func() *http.Request {
			return signed(t, s, s.Creds, "POST", "/2015-03-31/functions/f/invocations", body, int64(len(body)))
		}},
		{"api chunked", true, func() *http.Request {
			return signed(t, s, s.Creds, "POST", "/2015-03-31/functions/f/invocations", body, int64(len(body)))
		}},
		{"function URL", false, func() *http.Request { r, _ := http.NewRequest("POST", url, nil); return r }},
		{"function URL chunked", true, func() *http.Request { r, _ := http.NewRequest("POST", url, nil); return r }},
	} {
		chunked := tc.chunked
		t.Run(tc.name, func(t *testing.T) {
			conn := dial(t, s)
			n := int64(len(body))
			if chunked {
				n = -1
			}
			head(t, conn, tc.req(), n)
			// One byte per 200 ms: far below 1 KiB/s.
			var sent sync.WaitGroup
			sent.Add(1)
			var wrote int
			go func() {
				defer sent.Done()
				for i := range body {
					p := body[i : i+1]
					var err error
					if chunked {
						_, err = fmt.Fprintf(conn, "1\r\n%s\r\n", p)
					} else {
						_, err = conn.Write(p)
					}
					if err != nil {
						return
					}
					wrote++
					time.Sleep(200 * time.Millisecond)
				}
			}()
			resp := awsError(t, conn, 408, "RequestTimeoutException",
				"Your socket connection to the server was not read from or written to within the timeout period.")
			if !resp.Close {
				t.Fatal("the connection of a timed-out body stays open")
			}
			conn.Close()
			sent.Wait()
			if wrote >= len(body) {
				t.Fatalf("the whole body (%d bytes) was waited for", wrote)
			}
		})
	}
}

func TestFrontDoorBodyBudget(t *testing.T) {
	const budget = 1 << 20
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) {
		c.Limits = frontdoor.Limits{BodyBudget: budget}
	}})
	payload := append(append([]byte(`"`), bytes.Repeat([]byte("a"), 900_000)...), '"')
	path := "/2015-03-31/functions/nope/invocations"

	// A body that takes most of the budget and stalls.
	hog := dial(t, s)
	head(t, hog, signed(t, s, s.Creds, "POST", path, payload, int64(len(payload))), int64(len(payload)))
	if _, err := hog.Write(payload[:1000]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stalled body to hold the budget", func() bool {
		return gauge(t, s, "lambada_http_body_bytes_in_use") == float64(len(payload))
	})

	// Another such body is refused at once, unread.
	c := dial(t, s)
	head(t, c, signed(t, s, s.Creds, "POST", path, payload, int64(len(payload))), int64(len(payload)))
	resp := awsError(t, c, 429, "TooManyRequestsException", "Rate exceeded")
	if !resp.Close || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("429 headers %v", resp.Header)
	}

	// Small requests still fit.
	ctx := context.Background()
	if _, err := s.Client.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("nope"), Payload: []byte(`{}`)})
	if code, _, st := servertest.APIError(err); code != "ResourceNotFoundException" || st != 404 {
		t.Fatalf("small invoke: %v", err)
	}

	// The stalled body's share comes back when it goes.
	hog.Close()
	waitFor(t, "the budget to be released", func() bool { return gauge(t, s, "lambada_http_body_bytes_in_use") == 0 })
	_, err = s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("nope"), Payload: payload})
	if code, _, st := servertest.APIError(err); code != "ResourceNotFoundException" || st != 404 {
		t.Fatalf("large invoke after release: %v", err)
	}
}

// TestFrontDoorUnderAttack: unauthenticated large uploads, idle and silent
// connections far past the connection limit; the server's connections,
// file descriptors and heap stay bounded, and /health and a signed invoke
// keep answering.
func TestFrontDoorUnderAttack(t *testing.T) {
	const maxConns = 32
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) {
		c.MaxConnections = maxConns
		c.HeaderTimeout = 2 * time.Second
		c.KeepAliveTimeout = 2 * time.Second
	}})
	ctx := context.Background()
	createPython(t, s, "victim")
	invoke(t, s, "victim", `{"n":1}`) // warm
	baseFDs := openFDs(t)
	peak := servertest.PeakLiveHeap()
	baseHeap := servertest.LiveHeap()

	// 150 idle connections that never send a byte.
	const idle = 150
	var held []net.Conn
	for range idle {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	// 10 unauthenticated 70 MB CreateFunction uploads sent flat out.
	var uploads sync.WaitGroup
	junk := make([]byte, 1<<20)
	for range 10 {
		uploads.Add(1)
		go func() {
			defer uploads.Done()
			c, err := net.Dial("tcp", s.Addr())
			if err != nil {
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "POST /2015-03-31/functions HTTP/1.1\r\nHost: %s\r\nContent-Length: 70000000\r\n\r\n", s.Addr())
			for i := 0; i < 70; i++ {
				if _, err := c.Write(junk); err != nil {
					return
				}
			}
		}()
	}

	// /health and a signed invoke keep answering while all this is open.
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 5 {
		resp, err := hc.Get(s.URL() + "/health")
		if err != nil {
			t.Fatalf("/health %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("/health %d: %d", i, resp.StatusCode)
		}
		invoke(t, s, "victim", `{"n":2}`)
	}
	uploads.Wait()
	open, fds, grew := gauge(t, s, "lambada_http_connections_open"), openFDs(t)-len(held), int64(peak())-int64(baseHeap)
	t.Logf("under attack: %v connections open (limit %d), %d fds (%d before), live heap peak +%d KB", open, maxConns, fds, baseFDs, grew>>10)
	if open > maxConns {
		t.Fatalf("%v connections open, limit %d", open, maxConns)
	}
	// The test holds its own ends of the idle connections in this process.
	if fds > baseFDs+maxConns+16 {
		t.Fatalf("%d server fds, %d before the attack (limit %d connections)", fds, baseFDs, maxConns)
	}
	if grew > 64<<20 {
		t.Fatalf("live heap grew by %d MB under unauthenticated uploads", grew>>20)
	}
	if _, err := s.Client.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{}); err != nil {
		t.Fatal(err)
	}
}

// Long answers are not cut by the write timeout: a sync invoke and a
// response stream that outlast it arrive whole.
func TestFrontDoorLongAnswersOutliveWriteTimeout(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) {
		c.Limits = frontdoor.Limits{WriteTimeout: 300 * time.Millisecond, BodyTimeout: 300 * time.Millisecond}
	}})
	ctx := context.Background()
	createPython(t, s, "slow")
	if got := invoke(t, s, "slow", `{"sleep":1.5}`); got != `{"sleep": 1.5}` {
		t.Fatalf("slow invoke answered %q", got)
	}
	// A function URL runs a function too.
	base := publicURL(t, s, "slow")
	resp, err := http.Post(base+"?sleep=1.5", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"sleep":"1.5"`) {
		t.Fatalf("slow function URL answered %d %.300s", resp.StatusCode, b)
	}
	_, err = s.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("stream"), Runtime: types.RuntimeNodejs20x, Handler: aws.String("index.handler"),
		Role: aws.String("arn:aws:iam::000000000000:role/r"), Timeout: aws.Int32(10),
		Code: &types.FunctionCode{ZipFile: servertest.FolderFunction(t, "node/stream")},
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := servertest.ReadStream(t, s.Client, &lambda.InvokeWithResponseStreamInput{
		FunctionName: aws.String("stream"), Payload: []byte(`{"op":"chunks","n":3,"ms":700}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Body() != "chunk-0;chunk-1;chunk-2;" || r.Complete.ErrorCode != nil {
		t.Fatalf("stream %q %+v", r.Body(), r.Complete)
	}
}

func TestFrontDoorMalformedRequestsAreAWSShaped(t *testing.T) {
	const maxHeader = 4096
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.MaxHeaderBytes = maxHeader }})
	host := "Host: " + s.Addr() + "\r\n"
	huge := "X-Big: " + strings.Repeat("a", maxHeader+8192) + "\r\n"
	for _, tc := range []struct {
		name, raw, code, msg string
		status               int
	}{
		{"dot segment", "GET /./2015-03-31/functions HTTP/1.1\r\n" + host + "\r\n", "UnknownOperationException", "Unknown operation", 404},
		{"dot-dot segment", "GET /2015-03-31/x/../functions HTTP/1.1\r\n" + host + "\r\n", "UnknownOperationException", "Unknown operation", 404},
		{"double slash", "GET //2015-03-31/functions HTTP/1.1\r\n" + host + "\r\n", "UnknownOperationException", "Unknown operation", 404},
		{"inner double slash", "GET /2015-03-31//functions HTTP/1.1\r\n" + host + "\r\n", "UnknownOperationException", "Unknown operation", 404},
		{"health path cleaned", "GET /x/../health HTTP/1.1\r\n" + host + "\r\n", "UnknownOperationException", "Unknown operation", 404},
		{"bad escape", "GET /2015-03-31/functions/%zz HTTP/1.1\r\n" + host + "\r\n", "UnknownOperationException", "Unknown operation", 404},
		{"bad request line", "NOT HTTP\r\n\r\n", "UnknownOperationException", "Unknown operation", 404},
		{"headers too large", "GET /2015-03-31/functions HTTP/1.1\r\n" + host + huge + "\r\n", "RequestEntityTooLargeException",
			"Request headers must be smaller than 4096 bytes", 413},
		{"unsigned metrics", "GET /metrics HTTP/1.1\r\n" + host + "\r\n", "MissingAuthenticationTokenException", "Missing Authentication Token", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := dial(t, s)
			if _, err := io.WriteString(conn, tc.raw); err != nil {
				t.Fatal(err)
			}
			awsError(t, conn, tc.status, tc.code, tc.msg)
		})
	}
}

func TestMetricsListen(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.MetricsListen = "127.0.0.1:0" }})
	resp, err := http.Get("http://" + s.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "lambada_http_connections_open") {
		t.Fatalf("--metrics-listen /metrics: %d %.300s", resp.StatusCode, b)
	}
	// On the API's address it needs the key pair.
	if !strings.Contains(string(s.MetricsText(t)), "lambada_http_connections_open") {
		t.Fatal("signed /metrics lacks the series")
	}
}

// Invalid UTF-8 in a JSON body is refused as AWS's parser refuses it, and
// nothing is stored.
func TestInvalidUTF8IsRefused(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	createPython(t, s, "f")
	zip := servertest.Zip(t, map[string]string{"app.py": "def handler(e, c):\n    return e\n"})
	create := `{"FunctionName":"g","Runtime":"python3.12","Handler":"app.handler","Role":"arn:aws:iam::000000000000:role/r",` +
		"\"Description\":\"caf\xff\",\"Code\":{\"ZipFile\":\"" + base64.StdEncoding.EncodeToString(zip) + "\"}}"
	for _, tc := range []struct {
		name, method, path, body, msg string
	}{
		{"CreateFunction Description", "POST", "/2015-03-31/functions", create, "Could not parse request body into json: Invalid UTF-8 start byte 0xff"},
		{"Environment value", "PUT", "/2015-03-31/functions/f/configuration", "{\"Environment\":{\"Variables\":{\"K\":\"v\xc3\x28\"}}}",
			"Could not parse request body into json: Invalid UTF-8 middle byte 0x28"},
		{"alias Description", "POST", "/2015-03-31/functions/f/aliases", "{\"Name\":\"live\",\"FunctionVersion\":\"$LATEST\",\"Description\":\"\xe2\x82\"}",
			"Could not parse request body into json: Invalid UTF-8 middle byte 0x22"},
		{"Invoke payload", "POST", "/2015-03-31/functions/f/invocations", "{\"k\":\"\xff\"}",
			"Could not parse request body into json: Could not parse payload into json: Invalid UTF-8 start byte 0xff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			req := signed(t, s, s.Creds, tc.method, tc.path, body, int64(len(body)))
			req.Body = io.NopCloser(bytes.NewReader(body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			checkAWSError(t, resp, 400, "InvalidRequestContentException", tc.msg)
		})
	}
	if _, err := s.Client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("g")}); err == nil {
		t.Fatal("the refused function was stored")
	}
	c, err := s.Client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("f")})
	if err != nil || c.Environment != nil {
		t.Fatalf("configuration after the refused update: %v %v", c.Environment, err)
	}
	if _, err := s.Client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("f"), Name: aws.String("live")}); err == nil {
		t.Fatal("the refused alias was stored")
	}
}

// publicURL gives function name an AuthType NONE URL with the two
// permissions it needs and returns its path-style address on s.
func publicURL(t *testing.T, s *servertest.Server, name string) string {
	t.Helper()
	ctx := context.Background()
	u, err := s.Client.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{
		FunctionName: aws.String(name), AuthType: types.FunctionUrlAuthTypeNone,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []*lambda.AddPermissionInput{
		{StatementId: aws.String("url"), Action: aws.String("lambda:InvokeFunctionUrl"), Principal: aws.String("*"), FunctionUrlAuthType: types.FunctionUrlAuthTypeNone},
		{StatementId: aws.String("invoke"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("*"), InvokedViaFunctionUrl: aws.Bool(true)},
	} {
		in.FunctionName = aws.String(name)
		if _, err := s.Client.AddPermission(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(aws.ToString(u.FunctionUrl), "http://"), ".")
	return s.URL() + "/_lambda-url/" + id + "/"
}

// createPython creates a Python function that returns its event after
// sleeping event["sleep"] seconds (or ?sleep= through a function URL).
func createPython(t *testing.T, s *servertest.Server, name string) {
	t.Helper()
	zip := servertest.Zip(t, map[string]string{"app.py": "import time\n\ndef handler(e, c):\n    q = e.get('queryStringParameters') or {}\n    time.sleep(float(e.get('sleep', q.get('sleep', 0))))\n    return e\n"})
	_, err := s.Client.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: types.RuntimePython312, Handler: aws.String("app.handler"),
		Role: aws.String("arn:aws:iam::000000000000:role/r"), Timeout: aws.Int32(10), Code: &types.FunctionCode{ZipFile: zip},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func invoke(t *testing.T, s *servertest.Server, name, payload string) string {
	t.Helper()
	out, err := s.Client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(payload)})
	if err != nil {
		t.Fatalf("invoke %s: %v", name, err)
	}
	if out.FunctionError != nil {
		t.Fatalf("invoke %s: %s %s", name, *out.FunctionError, out.Payload)
	}
	return string(out.Payload)
}

// gauge reads one unlabelled series from /metrics.
func gauge(t *testing.T, s *servertest.Server, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(s.MetricsText(t))
	if m == nil {
		t.Fatalf("no %s in /metrics", name)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
