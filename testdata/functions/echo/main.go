// Command echo is lambada's general test function: an unmodified
// aws-lambda-go function whose behaviour is chosen by the event's "op".
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Op    string   `json:"op"`
	Code  int      `json:"code"`
	MS    int      `json:"ms"`
	N     int      `json:"n"`
	Lines []string `json:"lines"`
	Msg   string   `json:"msg"`
	URL   string   `json:"url"`
	Fail  bool     `json:"fail"`
	Size  int      `json:"size"`
	To    string   `json:"to"`
}

type customErr struct{ msg string }

func (e *customErr) Error() string { return e.msg }

func init() {
	fmt.Println("echo init line")
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	// RECORD_URL set in the function's environment: report every event
	// (destination functions receive invocation records this way).
	if u := os.Getenv("RECORD_URL"); u != "" {
		lc, _ := lambdacontext.FromContext(ctx)
		body, _ := json.Marshal(map[string]any{"requestId": lc.AwsRequestID, "event": raw, "version": lambdacontext.FunctionVersion})
		if resp, err := http.Post(u, "application/json", bytes.NewReader(body)); err == nil {
			resp.Body.Close()
		}
	}
	var ev event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	switch ev.Op {
	case "echo", "":
		return raw, nil
	case "stream":
		// An io.Reader result streams: N chunks "chunk-<i>;" with MS
		// between them; Fail ends it with an error after "partial;".
		pr, pw := io.Pipe()
		go func() {
			for i := 0; i < ev.N; i++ {
				if i > 0 {
					time.Sleep(time.Duration(ev.MS) * time.Millisecond)
				}
				fmt.Fprintf(pw, "chunk-%d;", i)
			}
			if ev.Fail {
				fmt.Fprint(pw, "partial;")
				time.Sleep(time.Duration(ev.MS) * time.Millisecond)
				pw.CloseWithError(errors.New("mid-stream failure"))
				return
			}
			pw.Close()
		}()
		return io.Reader(pr), nil
	case "bytes":
		// N bytes streamed from a reader of repeated "0123456789", 32 KiB
		// per write: large streams without holding them in memory.
		// (aws-lambda-go streams a reader only when it marshals to "{}".)
		return &digits{left: ev.N}, nil
	case "streamexit":
		// One chunk, then the process exits mid-stream.
		pr, pw := io.Pipe()
		go func() {
			fmt.Fprint(pw, "before-exit;")
			time.Sleep(100 * time.Millisecond)
			os.Exit(3)
		}()
		return io.Reader(pr), nil
	case "stamps":
		// N chunks, MS apart, each the wall-clock time it was written
		// (Unix ns) and ";": chunk latency measurements.
		pr, pw := io.Pipe()
		go func() {
			for i := 0; i < ev.N; i++ {
				if i > 0 {
					time.Sleep(time.Duration(ev.MS) * time.Millisecond)
				}
				fmt.Fprintf(pw, "%d;", time.Now().UnixNano())
			}
			pw.Close()
		}()
		return io.Reader(pr), nil
	case "truncate":
		// Post a chunked /response by hand and drop the connection before
		// its last chunk, then stay alive: the body is cut off while the
		// runtime process lives on.
		lc, _ := lambdacontext.FromContext(ctx)
		conn, err := net.Dial("tcp", os.Getenv("AWS_LAMBDA_RUNTIME_API"))
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(conn, "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: runtime\r\n"+
			"Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n\r\n8\r\npartial;\r\n", lc.AwsRequestID)
		time.Sleep(50 * time.Millisecond)
		conn.Close()
		time.Sleep(time.Duration(ev.MS) * time.Millisecond)
		return nil, errors.New("truncate: still alive")
	case "pid":
		return map[string]int{"pid": os.Getpid()}, nil
	case "digest":
		// "record" for large events: report the SHA-256 and size of the
		// exact bytes received instead of the event, then fail or succeed.
		lc, _ := lambdacontext.FromContext(ctx)
		sum := sha256.Sum256(raw)
		body, _ := json.Marshal(map[string]any{"requestId": lc.AwsRequestID, "version": lambdacontext.FunctionVersion,
			"event": map[string]any{"sha256": hex.EncodeToString(sum[:]), "bytes": len(raw)}})
		resp, err := http.Post(ev.URL, "application/json", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		if ev.Fail {
			return nil, &customErr{"recorded failure " + lc.AwsRequestID}
		}
		return map[string]string{"recorded": lc.AwsRequestID}, nil
	case "record":
		// Report this attempt to a sink the test runs, then succeed or
		// fail; "ms" first makes the attempt take that long.
		time.Sleep(time.Duration(ev.MS) * time.Millisecond)
		lc, _ := lambdacontext.FromContext(ctx)
		body, _ := json.Marshal(map[string]any{"requestId": lc.AwsRequestID, "event": raw, "version": lambdacontext.FunctionVersion, "pid": os.Getpid()})
		resp, err := http.Post(ev.URL, "application/json", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		if ev.Fail {
			return nil, &customErr{"recorded failure " + lc.AwsRequestID}
		}
		return map[string]string{"recorded": lc.AwsRequestID}, nil
	case "context":
		// "ms" makes it slow too, so concurrent calls show distinct pids.
		time.Sleep(time.Duration(ev.MS) * time.Millisecond)
		lc, _ := lambdacontext.FromContext(ctx)
		dl, _ := ctx.Deadline()
		return map[string]any{
			"requestId": lc.AwsRequestID, "invokedArn": lc.InvokedFunctionArn,
			"clientContext": lc.ClientContext, "deadlineMs": dl.UnixMilli(),
			"version": lambdacontext.FunctionVersion, "name": lambdacontext.FunctionName,
			"memory": lambdacontext.MemoryLimitInMB, "traceId": os.Getenv("_X_AMZN_TRACE_ID"),
			"pid": os.Getpid(),
		}, nil
	case "error":
		return nil, &customErr{ev.Msg}
	case "errorstring":
		return nil, errors.New(ev.Msg)
	case "panic":
		panic(ev.Msg)
	case "exit":
		fmt.Println("about to exit")
		os.Exit(ev.Code)
	case "sleep":
		fmt.Println("sleeping")
		time.Sleep(time.Duration(ev.MS) * time.Millisecond)
		return map[string]string{"slept": "yes"}, nil
	case "big":
		return strings.Repeat("x", ev.N), nil
	case "log":
		for _, l := range ev.Lines {
			fmt.Println(l)
		}
		log.Print("via log")
		return map[string]int{"pid": os.Getpid()}, nil
	case "flood":
		// n lines of size bytes (newline included), one write each, to
		// stdout or, with "to":"devnull", to /dev/null (the baseline).
		out := os.Stdout
		if ev.To == "devnull" {
			f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			out = f
		}
		line := []byte(strings.Repeat("f", max(ev.Size, 1)-1) + "\n")
		for i := range ev.N {
			copy(line, fmt.Sprintf("%08d", i))
			if _, err := out.Write(line); err != nil {
				return nil, err
			}
		}
		return map[string]int{"lines": ev.N}, nil
	case "env":
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		wd, _ := os.Getwd()
		env["__cwd"] = wd
		return env, nil
	case "run":
		// Runs the program named Msg, found on PATH (a layer's /opt/bin).
		out, err := exec.Command(ev.Msg).Output()
		if err != nil {
			return nil, err
		}
		return map[string]string{"out": string(out)}, nil
	case "read":
		b, err := os.ReadFile(ev.Msg)
		if err != nil {
			return nil, err
		}
		return map[string]string{"content": string(b)}, nil
	case "spawn":
		cmd := exec.Command("sleep", "300")
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return map[string]int{"pid": cmd.Process.Pid}, nil
	}
	return nil, fmt.Errorf("unknown op %q", ev.Op)
}

// digits reads "0123456789" over and over, at most 32 KiB per read, until
// left bytes were read.
type digits struct{ off, left int }

// digitPattern holds "0123456789" repeated past 32 KiB: a read copies from
// it at the right phase, at memory speed (the function should not be the
// slow part of a throughput measurement).
var digitPattern = []byte(strings.Repeat("0123456789", 32<<10/10+2))

func (d *digits) Read(p []byte) (int, error) {
	if d.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(len(p), 32<<10, d.left)]
	d.left -= len(p)
	copy(p, digitPattern[d.off%10:])
	d.off += len(p)
	return len(p), nil
}

// initMode lets tests make init fail: ECHO_INIT=error posts /init/error,
// exit exits before the first next, slow sleeps.
func initMode() {
	switch os.Getenv("ECHO_INIT") {
	case "error":
		url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
		resp, err := http.Post(url, "application/json",
			strings.NewReader(`{"errorMessage":"init broke","errorType":"Runtime.Custom"}`))
		if err == nil {
			resp.Body.Close()
		}
		os.Exit(1)
	case "exit":
		fmt.Println("exiting during init")
		os.Exit(2)
	case "slow":
		time.Sleep(10 * time.Second)
	}
}

func main() {
	initMode()
	lambda.Start(handle)
}
