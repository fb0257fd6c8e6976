package async_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/store/jetstream"
)

// Debug mode (docs/behaviour/dev-loop.md §6): an Event invocation of a
// 1 s-timeout function that stays paused longer than its timeout and than
// the queue's ack wait runs exactly once — no retry, no second delivery
// while it is paused — and its record says Success.
func TestDebugModePausedEventRunsOnce(t *testing.T) {
	s := start(t)
	runs := newSink(t) // every start of the function reports here
	dests := newSink(t)
	if _, err := s.Client.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
		FunctionName: aws.String("paused"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")}, Timeout: aws.Int32(1),
		Environment: &types.Environment{Variables: map[string]string{"LAMBADA_DEBUG": "1", "RECORD_URL": runs.URL}},
	}); err != nil {
		t.Fatal(err)
	}
	createDest(t, s, "dest", dests.URL)
	putConfig(t, s, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("paused"), MaximumRetryAttempts: aws.Int32(2),
		DestinationConfig: &types.DestinationConfig{
			OnSuccess: &types.OnSuccess{Destination: aws.String("arn:aws:lambda:us-east-1:000000000000:function:dest")},
			OnFailure: &types.OnFailure{Destination: aws.String("arn:aws:lambda:us-east-1:000000000000:function:dest")},
		},
	})
	// Paused (sleeping) past the function's timeout and the ack wait after
	// which the queue would hand an unsettled event out again.
	pause := jetstream.QueueAckWait + 2*time.Second
	id := event(t, s, "paused", map[string]any{"op": "sleep", "ms": pause.Milliseconds()})

	r := records(t, dests.wait(t, 1, pause+30*time.Second))[0]
	if r.RequestContext.RequestID != id || r.RequestContext.Condition != "Success" || r.RequestContext.ApproximateInvokeCount != 1 ||
		r.ResponseContext == nil || r.ResponseContext.FunctionError != "" || string(r.ResponsePayload) != `{"slept":"yes"}` {
		t.Fatalf("record %+v %s", r, r.ResponsePayload)
	}
	hits := runs.wait(t, 1, time.Second)
	if len(hits) != 1 || hits[0].RequestID != id {
		t.Fatalf("the function ran %d times: %+v", len(hits), hits)
	}
	b := string(s.MetricsText(t))
	for _, absent := range []string{
		`lambada_async_retries_total{function_name="paused"}`,
		`lambada_async_throttled_requeues_total{function_name="paused"}`,
		`lambada_async_events_dropped_total{condition="RetriesExhausted",function_name="paused"}`,
	} {
		if strings.Contains(b, absent) {
			t.Errorf("/metrics has %s: the paused event was handed out again", absent)
		}
	}
	if runs.count() != 1 {
		t.Errorf("the function ran %d times", runs.count())
	}
}
