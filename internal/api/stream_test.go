package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
)

// streamed is what one InvokeWithResponseStream call delivered.
type streamed struct {
	out      *lambda.InvokeWithResponseStreamOutput
	chunks   []string
	arrived  []time.Time
	complete *types.InvokeWithResponseStreamCompleteEvent
}

func readStream(t *testing.T, c *lambda.Client, in *lambda.InvokeWithResponseStreamInput) (*streamed, error) {
	t.Helper()
	out, err := c.InvokeWithResponseStream(context.Background(), in)
	if err != nil {
		return nil, err
	}
	r := &streamed{out: out}
	if out.StatusCode != 200 {
		return r, nil
	}
	st := out.GetStream()
	defer st.Close()
	for ev := range st.Events() {
		switch v := ev.(type) {
		case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
			r.chunks = append(r.chunks, string(v.Value.Payload))
			r.arrived = append(r.arrived, time.Now())
		case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
			if r.complete != nil {
				t.Fatalf("second InvokeComplete")
			}
			r.complete = &v.Value
		default:
			t.Fatalf("unexpected event %T", ev)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatalf("stream error: %v (chunks %q, complete %v)", err, r.chunks, r.complete != nil)
	}
	if r.complete == nil {
		t.Fatalf("no InvokeComplete after %q", r.chunks)
	}
	return r, nil
}

func createEcho(t *testing.T, c *lambda.Client, name string) {
	t.Helper()
	_, err := c.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
	})
	if err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
}

func TestInvokeWithResponseStream(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	createEcho(t, c, "streamer")
	name := aws.String("streamer")

	t.Run("chunks in order, first before the end", func(t *testing.T) {
		start := time.Now()
		r, err := readStream(t, c, &lambda.InvokeWithResponseStreamInput{
			FunctionName: name, Payload: []byte(`{"op":"stream","n":3,"ms":300}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		end := time.Now()
		if got := strings.Join(r.chunks, ""); got != "chunk-0;chunk-1;chunk-2;" {
			t.Fatalf("body %q (chunks %q)", got, r.chunks)
		}
		if len(r.chunks) < 2 {
			t.Fatalf("chunks %q: want them one by one", r.chunks)
		}
		// The function sleeps 2×300 ms after its first chunk.
		if first := r.arrived[0]; end.Sub(first) < 400*time.Millisecond {
			t.Fatalf("first chunk at %v, stream ended at %v: not streamed", first.Sub(start), end.Sub(start))
		}
		if ct := aws.ToString(r.out.ResponseStreamContentType); ct != "application/octet-stream" {
			t.Fatalf("ResponseStreamContentType %q", ct)
		}
		if aws.ToString(r.out.ExecutedVersion) != "$LATEST" {
			t.Fatalf("ExecutedVersion %q", aws.ToString(r.out.ExecutedVersion))
		}
		if ic := r.complete; ic.ErrorCode != nil || ic.ErrorDetails != nil || ic.LogResult != nil {
			t.Fatalf("InvokeComplete %+v", ic)
		}
	})

	t.Run("mid-stream error", func(t *testing.T) {
		r, err := readStream(t, c, &lambda.InvokeWithResponseStreamInput{
			FunctionName: name, Payload: []byte(`{"op":"stream","n":1,"ms":50,"fail":true}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(r.chunks, ""); got != "chunk-0;partial;" {
			t.Fatalf("body %q", got)
		}
		ic := r.complete
		if aws.ToString(ic.ErrorCode) != "errorString" {
			t.Fatalf("ErrorCode %q", aws.ToString(ic.ErrorCode))
		}
		var doc struct{ ErrorMessage, ErrorType string }
		if err := json.Unmarshal([]byte(aws.ToString(ic.ErrorDetails)), &doc); err != nil || doc.ErrorMessage != "mid-stream failure" || doc.ErrorType != "errorString" {
			t.Fatalf("ErrorDetails %q (%v)", aws.ToString(ic.ErrorDetails), err)
		}
	})

	t.Run("error before any byte", func(t *testing.T) {
		r, err := readStream(t, c, &lambda.InvokeWithResponseStreamInput{
			FunctionName: name, Payload: []byte(`{"op":"error","msg":"boom"}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.chunks) != 0 || r.complete.ErrorCode == nil || !strings.Contains(aws.ToString(r.complete.ErrorDetails), "boom") {
			t.Fatalf("chunks %q, InvokeComplete %+v", r.chunks, r.complete)
		}
	})

	t.Run("LogType Tail", func(t *testing.T) {
		r, err := readStream(t, c, &lambda.InvokeWithResponseStreamInput{
			FunctionName: name, LogType: types.LogTypeTail, Payload: []byte(`{"op":"stream","n":2}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		b, err := base64.StdEncoding.DecodeString(aws.ToString(r.complete.LogResult))
		if err != nil || !strings.Contains(string(b), "REPORT RequestId:") {
			t.Fatalf("LogResult %q (%v)", b, err)
		}
		if strings.Join(r.chunks, "") != "chunk-0;chunk-1;" {
			t.Fatalf("chunks %q", r.chunks)
		}
	})

	t.Run("plain handler", func(t *testing.T) {
		payload := `{"op":"echo","msg":"plain"}`
		r, err := readStream(t, c, &lambda.InvokeWithResponseStreamInput{FunctionName: name, Payload: []byte(payload)})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(r.chunks, ""); got != payload {
			t.Fatalf("body %q", got)
		}
		if r.complete.ErrorCode != nil {
			t.Fatalf("InvokeComplete %+v", r.complete)
		}
	})

	t.Run("timeout mid-stream", func(t *testing.T) {
		// The default timeout is 3 s; the function would need 6.
		r, err := readStream(t, c, &lambda.InvokeWithResponseStreamInput{
			FunctionName: name, Payload: []byte(`{"op":"stream","n":30,"ms":200}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.chunks) == 0 || !strings.HasPrefix(r.chunks[0], "chunk-0;") {
			t.Fatalf("chunks %q", r.chunks)
		}
		if aws.ToString(r.complete.ErrorCode) != "Sandbox.Timedout" || !strings.Contains(aws.ToString(r.complete.ErrorDetails), "Task timed out after 3.00 seconds") {
			t.Fatalf("InvokeComplete %s %s", aws.ToString(r.complete.ErrorCode), aws.ToString(r.complete.ErrorDetails))
		}
	})

	t.Run("DryRun", func(t *testing.T) {
		r, err := readStream(t, c, &lambda.InvokeWithResponseStreamInput{FunctionName: name, InvocationType: types.ResponseStreamingInvocationTypeDryRun})
		if err != nil {
			t.Fatal(err)
		}
		if r.out.StatusCode != 204 {
			t.Fatalf("status %d", r.out.StatusCode)
		}
	})

	t.Run("unknown function", func(t *testing.T) {
		_, err := readStream(t, c, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("nope")})
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Fatalf("err %v, want ResourceNotFoundException", err)
		}
	})

	t.Run("Event refused", func(t *testing.T) {
		_, err := readStream(t, c, &lambda.InvokeWithResponseStreamInput{FunctionName: name, InvocationType: "Event"})
		code, msg, status := servertest.APIError(err)
		if code != "ValidationException" || status != 400 || !strings.Contains(msg, "[RequestResponse, DryRun]") {
			t.Fatalf("got %s %d %q", code, status, msg)
		}
	})
}
