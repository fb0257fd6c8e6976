package runtimeapi

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAWSLambdaGo drives a real aws-lambda-go process through one warm
// environment: JSON results, next headers as the library parses them, an
// empty payload, a handler error, a streamed reader that must arrive chunk by
// chunk, a mid-stream failure in trailers, a large streamed result, and a
// panic that ends the process.
func TestAWSLambdaGo(t *testing.T) {
	t.Parallel()
	env := newFakeEnv()
	proc := startFunction(t, startServer(t, env))
	deadline := time.Now().Add(30 * time.Second).Truncate(time.Millisecond)
	invoke := func(inv *Invocation) delivery {
		t.Helper()
		if inv.Deadline.IsZero() {
			inv.Deadline = deadline
		}
		env.dispatch(inv)
		d := env.wait(t)
		if d.id != inv.RequestID {
			t.Fatalf("delivery for %q, want %q", d.id, inv.RequestID)
		}
		return d
	}

	t.Run("echo", func(t *testing.T) {
		d := invoke(&Invocation{RequestID: "r-echo", Payload: []byte(`{"op":"echo","n":1}`)})
		if d.kind != "response" || string(d.body) != `{"op":"echo","n":1}` || d.readErr != nil {
			t.Fatalf("got %s %q %v", d.kind, d.body, d.readErr)
		}
		if d.contentType != "application/json" || d.streaming || d.trailer != nil {
			t.Errorf("content type %q, streaming %v, trailer %+v", d.contentType, d.streaming, d.trailer)
		}
	})

	t.Run("next headers", func(t *testing.T) {
		const trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a87bd80c:1"
		const arn = "arn:aws:lambda:us-east-1:000000000000:function:fn:live"
		d := invoke(&Invocation{
			RequestID:          "r-ctx",
			Deadline:           deadline,
			InvokedFunctionARN: arn,
			TraceID:            trace,
			ClientContext:      `{"custom":{"tenant":"t-42"}}`,
			Payload:            []byte(`{"op":"context"}`),
		})
		var got struct {
			RequestID   string            `json:"requestId"`
			FunctionArn string            `json:"functionArn"`
			Custom      map[string]string `json:"custom"`
			DeadlineMs  int64             `json:"deadlineMs"`
			TraceEnv    string            `json:"traceEnv"`
		}
		if err := json.Unmarshal(d.body, &got); err != nil {
			t.Fatalf("%s: %q", err, d.body)
		}
		if got.RequestID != "r-ctx" || got.FunctionArn != arn || got.Custom["tenant"] != "t-42" ||
			got.DeadlineMs != deadline.UnixMilli() || got.TraceEnv != trace {
			t.Errorf("function saw %+v", got)
		}
	})

	t.Run("empty payload is {}", func(t *testing.T) {
		d := invoke(&Invocation{RequestID: "r-empty"})
		if string(d.body) != "{}" {
			t.Errorf("body %q", d.body)
		}
	})

	t.Run("handler error", func(t *testing.T) {
		d := invoke(&Invocation{RequestID: "r-err", Payload: []byte(`{"op":"error"}`)})
		if d.kind != "error" {
			t.Fatalf("kind %s", d.kind)
		}
		if want := `{"errorMessage":"boom m1","errorType":"customErr"}`; string(d.ferr.Document) != want || d.ferr.Type != "customErr" {
			t.Errorf("error %s %s, want %s", d.ferr.Type, d.ferr.Document, want)
		}
	})

	t.Run("stream arrives incrementally", func(t *testing.T) {
		marker := filepath.Join(t.TempDir(), "first-seen")
		env.setOnChunk(func(c []byte) {
			if string(c) == "first;" {
				if err := os.WriteFile(marker, nil, 0o600); err != nil {
					t.Error(err)
				}
			}
		})
		defer env.setOnChunk(nil)
		payload, _ := json.Marshal(map[string]string{"op": "stream", "marker": marker})
		d := invoke(&Invocation{RequestID: "r-stream", Payload: payload})
		if d.readErr != nil || string(d.body) != "first;second;" || len(d.chunks) != 2 {
			t.Fatalf("chunks %q (err %v); want [first; second;]", d.chunks, d.readErr)
		}
		if d.contentType != "text/plain" || d.streaming || d.trailer != nil {
			t.Errorf("content type %q, streaming %v, trailer %+v", d.contentType, d.streaming, d.trailer)
		}
	})

	t.Run("mid-stream error in trailers", func(t *testing.T) {
		d := invoke(&Invocation{RequestID: "r-mid", Payload: []byte(`{"op":"midstream"}`)})
		if d.kind != "response" || string(d.body) != "partial;" || d.readErr != nil {
			t.Fatalf("got %s %q %v", d.kind, d.body, d.readErr)
		}
		want := `{"errorMessage":"mid-stream failure","errorType":"errorString"}`
		if d.trailer == nil || d.trailer.Type != "errorString" || string(d.trailer.Document) != want {
			t.Errorf("trailer %+v, want errorString %s", d.trailer, want)
		}
	})

	t.Run("streamed result over 6 MB", func(t *testing.T) {
		const size = 7_000_000
		d := invoke(&Invocation{
			RequestID:     "r-big",
			Payload:       []byte(`{"op":"big","size":7000000}`),
			ResponseLimit: MaxStreamedResponse,
		})
		if d.readErr != nil || len(d.body) != size || strings.Trim(string(d.body), "x") != "" {
			t.Errorf("got %d bytes, err %v", len(d.body), d.readErr)
		}
	})

	t.Run("panic", func(t *testing.T) {
		d := invoke(&Invocation{RequestID: "r-panic", Payload: []byte(`{"op":"panic"}`)})
		var doc struct {
			ErrorMessage string `json:"errorMessage"`
			ErrorType    string `json:"errorType"`
			StackTrace   []struct {
				Path  string `json:"path"`
				Line  int    `json:"line"`
				Label string `json:"label"`
			} `json:"stackTrace"`
		}
		if d.kind != "error" || json.Unmarshal(d.ferr.Document, &doc) != nil {
			t.Fatalf("got %s %s", d.kind, d.ferr.Document)
		}
		if doc.ErrorMessage != "oh no" || doc.ErrorType != d.ferr.Type || len(doc.StackTrace) == 0 || doc.StackTrace[0].Label == "" {
			t.Errorf("panic document %s (type %q)", d.ferr.Document, d.ferr.Type)
		}
		if err := proc.waitExit(t); err == nil {
			t.Error("runtime exited 0 after a panic, want status 1")
		}
	})
}

// TestAWSLambdaGoOversize: a buffered result one byte over the limit gets
// 413, the environment reads exactly the limit and learns why, and
// aws-lambda-go exits on the 413.
func TestAWSLambdaGoOversize(t *testing.T) {
	t.Parallel()
	env := newFakeEnv()
	proc := startFunction(t, startServer(t, env))
	env.dispatch(&Invocation{
		RequestID: "r-over",
		Deadline:  time.Now().Add(30 * time.Second),
		Payload:   []byte(`{"op":"big","size":6291557}`),
	})
	d := env.wait(t)
	if !errors.Is(d.readErr, ErrResponseTooLarge) || len(d.body) != MaxBufferedResponse {
		t.Errorf("read %d bytes, err %v; want %d and ErrResponseTooLarge", len(d.body), d.readErr, MaxBufferedResponse)
	}
	if err := proc.waitExit(t); err == nil {
		t.Error("runtime exited 0, want a failure after the 413")
	}
	if out := proc.output.String(); !strings.Contains(out, "413") {
		t.Errorf("runtime output does not mention the 413:\n%s", out)
	}
}
