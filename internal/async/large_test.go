package async_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
)

// Event (1,048,576 bytes) and InvokeAsync (262,144 bytes) payloads at their
// limits, made of the characters JSON encoders escape, are accepted, run
// exactly 1 + MaximumRetryAttempts times by a function that always fails
// (and sees exactly the bytes sent),
// and reach their OnFailure queue and dead-letter target whole — on the
// embedded node and on an external nats-server whose max_payload is NATS's
// default 1 MB. One byte more is refused with AWS's 413.
func TestLargeEventsRunExactlyAsConfigured(t *testing.T) {
	for _, mode := range []string{"embedded", "external"} {
		t.Run(mode, func(t *testing.T) {
			opt := servertest.Options{Config: func(c *server.Config) { c.AsyncRetryDelay = 50 * time.Millisecond }}
			if mode == "external" {
				opt.NATSURL = natstest.StartServer(t)
			}
			testLargeEvents(t, servertest.Start(t, opt))
		})
	}
}

func testLargeEvents(t *testing.T, s *servertest.Server) {
	ctx := context.Background()
	sk := newSink(t)
	// payload is exactly n bytes of JSON that makes the echo function
	// report the attempt to the sink and fail.
	payload := func(n int) []byte {
		head := fmt.Sprintf(`{"op":"digest","url":%q,"fail":true,"pad":"`, sk.URL)
		pad := bytes.Repeat([]byte("<&>"), n/3+1)[:n-len(head)-2]
		return append(append([]byte(head), pad...), `"}`...)
	}
	const dlq = "arn:aws:sns:us-east-1:000000000000:big-dead-letters"
	queue := func(r int) string { return fmt.Sprintf("arn:aws:sqs:us-east-1:000000000000:big%d", r) }
	sent := map[string][]byte{} // request id → payload
	runs := map[string]int{}    // request id → attempts it must make
	for r := range 3 {
		name := fmt.Sprintf("big%d", r)
		in := &lambda.CreateFunctionInput{
			FunctionName: aws.String(name), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
			Code:    &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
			Timeout: aws.Int32(60), // a loaded machine under -race
		}
		if r == 2 {
			in.DeadLetterConfig = &types.DeadLetterConfig{TargetArn: aws.String(dlq)}
		}
		if _, err := s.Client.CreateFunction(ctx, in); err != nil {
			t.Fatal(err)
		}
		putConfig(t, s, &lambda.PutFunctionEventInvokeConfigInput{
			FunctionName: aws.String(name), MaximumRetryAttempts: aws.Int32(int32(r)),
			DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String(queue(r))}},
		})
		p := payload(1_048_576)
		out, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), InvocationType: types.InvocationTypeEvent, Payload: p})
		if err != nil || out.StatusCode != 202 {
			t.Fatalf("Event at the limit: %v", err)
		}
		id, _ := middleware.GetRequestIDMetadata(out.ResultMetadata)
		sent[id], runs[id] = p, r+1
		p = payload(262_144)
		aout, err := s.Client.InvokeAsync(ctx, &lambda.InvokeAsyncInput{FunctionName: aws.String(name), InvokeArgs: bytes.NewReader(p)})
		if err != nil || aout.Status != 202 {
			t.Fatalf("InvokeAsync at the limit: %v", err)
		}
		id, _ = middleware.GetRequestIDMetadata(aout.ResultMetadata)
		sent[id], runs[id] = p, r+1
	}
	noRetry := func(o *lambda.Options) { o.Retryer = aws.NopRetryer{} }
	_, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("big0"), InvocationType: types.InvocationTypeEvent, Payload: payload(1_048_577)}, noRetry)
	wantAPIError(t, err, 413, "RequestEntityTooLargeException", "1048577 byte payload is too large for the Event invocation type (limit 1048576 bytes)")
	_, err = s.Client.InvokeAsync(ctx, &lambda.InvokeAsyncInput{FunctionName: aws.String("big0"), InvokeArgs: bytes.NewReader(payload(262_145))}, noRetry)
	wantAPIError(t, err, 413, "RequestEntityTooLargeException", "262145 byte payload is too large for the Event invocation type (limit 262144 bytes)")

	// Every attempt (reported to the sink), then every record: polling
	// megabytes of records from the start would slow the server down.
	total := 0
	for _, n := range runs {
		total += n
	}
	sk.wait(t, total, 2*time.Minute)
	// Every event ends on its queue with the whole payload embedded.
	for r := range 3 {
		for _, got := range readRecordsWithin(t, s, queue(r), 2, 2*time.Minute) {
			var rc rec
			if err := json.Unmarshal(got.Body, &rc); err != nil {
				t.Fatalf("record of %d bytes: %v", len(got.Body), err)
			}
			id := rc.RequestContext.RequestID
			if rc.RequestContext.Condition != "RetriesExhausted" || rc.RequestContext.ApproximateInvokeCount != r+1 ||
				rc.ResponseContext == nil || rc.ResponseContext.FunctionError != "Unhandled" ||
				!strings.Contains(string(rc.ResponsePayload), "recorded failure "+id) {
				t.Fatalf("record of %s: %+v %+v %.300s", id, rc.RequestContext, rc.ResponseContext, rc.ResponsePayload)
			}
			if !bytes.Equal(rc.RequestPayload, sent[id]) {
				t.Fatalf("record of %s embeds %d bytes, want the %d sent", id, len(rc.RequestPayload), len(sent[id]))
			}
		}
	}
	for _, d := range readRecordsWithin(t, s, dlq, 2, 2*time.Minute) {
		id := d.Headers["RequestID"] + d.Headers["Requestid"]
		if !bytes.Equal(d.Body, sent[id]) {
			t.Fatalf("dead letter of %q: %d bytes, want the %d sent", id, len(d.Body), len(sent[id]))
		}
	}
	// Attempts end before their record; a stray attempt would come within
	// a few retry delays.
	time.Sleep(time.Second)
	sk.mu.Lock()
	defer sk.mu.Unlock()
	seen := map[string]int{}
	for _, h := range sk.hits {
		seen[h.RequestID]++
		var ev struct {
			SHA256 string
			Bytes  int
		}
		want := sha256.Sum256(sent[h.RequestID])
		if err := json.Unmarshal(h.Event, &ev); err != nil || ev.SHA256 != hex.EncodeToString(want[:]) {
			t.Fatalf("attempt of %s got %d bytes that differ from the %d sent (%v)", h.RequestID, ev.Bytes, len(sent[h.RequestID]), err)
		}
	}
	for id, want := range runs {
		if seen[id] != want {
			t.Errorf("event %s (%d bytes) ran %d times, want %d", id, len(sent[id]), seen[id], want)
		}
	}
	if len(seen) != len(runs) {
		t.Errorf("%d events ran, want %d", len(seen), len(runs))
	}
}
