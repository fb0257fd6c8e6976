// Command lambdafn is an ordinary aws-lambda-go function that the runtimeapi
// tests build and run as a real process against the Runtime API server. The
// event's "op" chooses the behaviour.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Op     string `json:"op"`
	Marker string `json:"marker"`
	Size   int64  `json:"size"`
}

type customErr struct{ msg string }

func (e customErr) Error() string { return e.msg }

// gatedReader yields "first;", then waits until the marker file exists
// (created by the test once it has received "first;"), then "second;". A
// runtime API that buffered the body would never let the test see "first;"
// alone, and the reader would give up and say so.
type gatedReader struct {
	marker string
	step   int
}

func (g *gatedReader) ContentType() string { return "text/plain" }

func (g *gatedReader) Read(p []byte) (int, error) {
	g.step++
	switch g.step {
	case 1:
		return copy(p, "first;"), nil
	case 2:
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
			if _, err := os.Stat(g.marker); err == nil {
				return copy(p, "second;"), nil
			}
		}
		return copy(p, "gave-up-waiting;"), nil
	}
	return 0, io.EOF
}

// failingReader yields "partial;" and then fails.
type failingReader struct{ done bool }

func (f *failingReader) Read(p []byte) (int, error) {
	if !f.done {
		f.done = true
		return copy(p, "partial;"), nil
	}
	return 0, errors.New("mid-stream failure")
}

// sizedReader yields n bytes of 'x'.
type sizedReader struct{ n int64 }

func (s *sizedReader) Read(p []byte) (int, error) {
	if s.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.n {
		p = p[:s.n]
	}
	for i := range p {
		p[i] = 'x'
	}
	s.n -= int64(len(p))
	return len(p), nil
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev event
	_ = json.Unmarshal(raw, &ev)
	switch ev.Op {
	case "context":
		lc, _ := lambdacontext.FromContext(ctx)
		deadline, _ := ctx.Deadline()
		return map[string]any{
			"requestId":   lc.AwsRequestID,
			"functionArn": lc.InvokedFunctionArn,
			"custom":      lc.ClientContext.Custom,
			"deadlineMs":  deadline.UnixMilli(),
			"traceEnv":    os.Getenv("_X_AMZN_TRACE_ID"),
		}, nil
	case "error":
		return nil, customErr{"boom m1"}
	case "stream":
		return &gatedReader{marker: ev.Marker}, nil
	case "midstream":
		return &failingReader{}, nil
	case "big":
		return &sizedReader{n: ev.Size}, nil
	case "panic":
		panic("oh no")
	}
	return raw, nil
}

func main() { lambda.Start(handle) }
