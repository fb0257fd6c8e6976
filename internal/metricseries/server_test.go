package metricseries_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// The server's own store reads what its invocations and async queue
// record: counts, errors, throttles, durations, the concurrency and the
// queue while an event runs.
func TestServerSeries(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	if _, err := s.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("ms"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Runtime: types.RuntimeProvidedal2023,
		Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String("ms"), ReservedConcurrentExecutions: aws.Int32(1),
	}); err != nil {
		t.Fatal(err)
	}
	invoke := func(typ types.InvocationType, ev map[string]any) (*lambda.InvokeOutput, error) {
		b, _ := json.Marshal(ev)
		return servertest.NoRetry(s.Client).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("ms"), InvocationType: typ, Payload: b})
	}
	for range 3 {
		if _, err := invoke(types.InvocationTypeRequestResponse, map[string]any{"op": "echo"}); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := invoke(types.InvocationTypeRequestResponse, map[string]any{"op": "error", "msg": "no"}); err != nil || out.FunctionError == nil {
		t.Fatalf("error invoke: %v %+v", err, out)
	}
	// A function error keeps its slot until the runtime is idle again:
	// wait for it, or the event below may be throttled once too.
	waitfor.True(t, 20*time.Second, "the error's slot to be free", func() bool {
		return s.ConcurrentExecutions(t, "ms") == 0
	})
	// An event that holds the function's one slot.
	if _, err := invoke(types.InvocationTypeEvent, map[string]any{"op": "sleep", "ms": 2500}); err != nil {
		t.Fatal(err)
	}
	store := s.Series()
	waitfor.True(t, 20*time.Second, "the event to run", func() bool {
		store.Sample()
		se := store.Series("ms", time.Hour)
		last := len(se.Times) - 1
		return last >= 0 && se.Concurrent[last] == 1 && se.InFlight[last] == 1 && se.Queued[last] >= 1 && se.Depth[last] >= 1 && se.QueuedAge[last] > 0
	})
	if _, err := invoke(types.InvocationTypeRequestResponse, map[string]any{"op": "echo"}); err == nil {
		t.Fatal("a second call while the event holds the one slot was not throttled")
	}
	waitfor.True(t, 20*time.Second, "the event to finish", func() bool {
		store.Sample()
		return store.Summary("ms", time.Hour).Invocations == 5
	})
	got := store.Summary("ms", time.Hour)
	if got.Errors != 1 || got.Throttles != 1 {
		t.Fatalf("Summary = %+v, want 5 invocations, 1 error, 1 throttle", got)
	}
	// The 2.5 s sleep is the one slow invocation of five: p99 lands in
	// its bucket (2.048 s, 8.192 s], p50 far below.
	if got.DurationP99 < 2*time.Second || got.DurationP50 <= 0 || got.DurationP50 > 500*time.Millisecond {
		t.Fatalf("p50 %v, p99 %v", got.DurationP50, got.DurationP99)
	}
	waitfor.True(t, 20*time.Second, "the queue to be empty", func() bool {
		store.Sample()
		se := store.Series("ms", time.Hour)
		last := len(se.Times) - 1
		return se.Depth[last] == 0 && se.OldestAge[last] == 0 && se.Queued[last] == 0 && se.Concurrent[last] == 0
	})
}
