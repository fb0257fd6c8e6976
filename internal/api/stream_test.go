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

func readStream(t *testing.T, c *lambda.Client, in *lambda.InvokeWithResponseStreamInput) (*servertest.Streamed, error) {
	t.Helper()
	return servertest.ReadStream(t, c, in)
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
		if got := strings.Join(r.Chunks, ""); got != "chunk-0;chunk-1;chunk-2;" {
			t.Fatalf("body %q (chunks %q)", got, r.Chunks)
		}
		if len(r.Chunks) < 2 {
			t.Fatalf("chunks %q: want them one by one", r.Chunks)
		}
		// The function sleeps 2×300 ms after its first chunk.
		if first := r.Arrived[0]; end.Sub(first) < 400*time.Millisecond {
			t.Fatalf("first chunk at %v, stream ended at %v: not streamed", first.Sub(start), end.Sub(start))
		}
		if ct := aws.ToString(r.Out.ResponseStreamContentType); ct != "application/octet-stream" {
			t.Fatalf("ResponseStreamContentType %q", ct)
		}
		if aws.ToString(r.Out.ExecutedVersion) != "$LATEST" {
			t.Fatalf("ExecutedVersion %q", aws.ToString(r.Out.ExecutedVersion))
		}
		if ic := r.Complete; ic.ErrorCode != nil || ic.ErrorDetails != nil || ic.LogResult != nil {
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
		if got := strings.Join(r.Chunks, ""); got != "chunk-0;partial;" {
			t.Fatalf("body %q", got)
		}
		ic := r.Complete
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
		if len(r.Chunks) != 0 || r.Complete.ErrorCode == nil || !strings.Contains(aws.ToString(r.Complete.ErrorDetails), "boom") {
			t.Fatalf("chunks %q, InvokeComplete %+v", r.Chunks, r.Complete)
		}
	})

	t.Run("LogType Tail", func(t *testing.T) {
		r, err := readStream(t, c, &lambda.InvokeWithResponseStreamInput{
			FunctionName: name, LogType: types.LogTypeTail, Payload: []byte(`{"op":"stream","n":2}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		b, err := base64.StdEncoding.DecodeString(aws.ToString(r.Complete.LogResult))
		if err != nil || !strings.Contains(string(b), "REPORT RequestId:") {
			t.Fatalf("LogResult %q (%v)", b, err)
		}
		if strings.Join(r.Chunks, "") != "chunk-0;chunk-1;" {
			t.Fatalf("chunks %q", r.Chunks)
		}
	})

	t.Run("plain handler", func(t *testing.T) {
		payload := `{"op":"echo","msg":"plain"}`
		r, err := readStream(t, c, &lambda.InvokeWithResponseStreamInput{FunctionName: name, Payload: []byte(payload)})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(r.Chunks, ""); got != payload {
			t.Fatalf("body %q", got)
		}
		if r.Complete.ErrorCode != nil {
			t.Fatalf("InvokeComplete %+v", r.Complete)
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
		if len(r.Chunks) == 0 || !strings.HasPrefix(r.Chunks[0], "chunk-0;") {
			t.Fatalf("chunks %q", r.Chunks)
		}
		if aws.ToString(r.Complete.ErrorCode) != "Sandbox.Timedout" || !strings.Contains(aws.ToString(r.Complete.ErrorDetails), "Task timed out after 3.00 seconds") {
			t.Fatalf("InvokeComplete %s %s", aws.ToString(r.Complete.ErrorCode), aws.ToString(r.Complete.ErrorDetails))
		}
	})

	t.Run("DryRun", func(t *testing.T) {
		r, err := readStream(t, c, &lambda.InvokeWithResponseStreamInput{FunctionName: name, InvocationType: types.ResponseStreamingInvocationTypeDryRun})
		if err != nil {
			t.Fatal(err)
		}
		if r.Out.StatusCode != 204 {
			t.Fatalf("status %d", r.Out.StatusCode)
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
