package async_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// rec is the invocation record as a destination receives it.
type rec struct {
	Version        string `json:"version"`
	Timestamp      string `json:"timestamp"`
	RequestContext struct {
		RequestID              string `json:"requestId"`
		FunctionArn            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload  json.RawMessage `json:"requestPayload"`
	ResponseContext *struct {
		StatusCode      int    `json:"statusCode"`
		ExecutedVersion string `json:"executedVersion"`
		FunctionError   string `json:"functionError"`
	} `json:"responseContext"`
	ResponsePayload json.RawMessage `json:"responsePayload"`
}

func createDest(t *testing.T, s *servertest.Server, name, sinkURL string) {
	t.Helper()
	if _, err := s.Client.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Code:        &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
		Environment: &types.Environment{Variables: map[string]string{"RECORD_URL": sinkURL}},
	}); err != nil {
		t.Fatal(err)
	}
}

func putConfig(t *testing.T, s *servertest.Server, in *lambda.PutFunctionEventInvokeConfigInput) {
	t.Helper()
	if _, err := s.Client.PutFunctionEventInvokeConfig(context.Background(), in); err != nil {
		t.Fatalf("PutFunctionEventInvokeConfig: %v", err)
	}
}

func records(t *testing.T, hits []hit) []rec {
	out := make([]rec, len(hits))
	for i, h := range hits {
		if err := json.Unmarshal(h.Event, &out[i]); err != nil {
			t.Fatalf("record %s: %v", h.Event, err)
		}
	}
	return out
}

func TestSuccessAndRetriesExhaustedRecordsReachAFunction(t *testing.T) {
	s := start(t)
	sk := newSink(t)
	create(t, s, "src")
	createDest(t, s, "dest", sk.URL)
	destArn := "arn:aws:lambda:us-east-1:000000000000:function:dest"
	putConfig(t, s, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("src"), MaximumRetryAttempts: aws.Int32(1),
		DestinationConfig: &types.DestinationConfig{OnSuccess: &types.OnSuccess{Destination: aws.String(destArn)}, OnFailure: &types.OnFailure{Destination: aws.String(destArn)}},
	})

	okID := event(t, s, "src", map[string]any{"op": "echo", "n": 7})
	r := records(t, sk.wait(t, 1, 20*time.Second))[0]
	if r.Version != "1.0" || r.RequestContext.RequestID != okID || r.RequestContext.Condition != "Success" ||
		r.RequestContext.ApproximateInvokeCount != 1 || r.RequestContext.FunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:src:$LATEST" ||
		r.ResponseContext == nil || r.ResponseContext.StatusCode != 200 || r.ResponseContext.ExecutedVersion != "$LATEST" || r.ResponseContext.FunctionError != "" {
		t.Fatalf("success record %+v", r)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", r.Timestamp); err != nil {
		t.Fatalf("timestamp %q", r.Timestamp)
	}
	if string(r.RequestPayload) != `{"n":7,"op":"echo"}` || string(r.ResponsePayload) != `{"n":7,"op":"echo"}` {
		t.Fatalf("payloads %s / %s", r.RequestPayload, r.ResponsePayload)
	}

	failID := event(t, s, "src", map[string]any{"op": "error", "msg": "boom"})
	r = records(t, sk.wait(t, 2, 30*time.Second))[1]
	if r.RequestContext.RequestID != failID || r.RequestContext.Condition != "RetriesExhausted" || r.RequestContext.ApproximateInvokeCount != 2 ||
		r.ResponseContext == nil || r.ResponseContext.FunctionError != "Unhandled" ||
		string(r.ResponsePayload) != `{"errorMessage":"boom","errorType":"customErr"}` {
		t.Fatalf("failure record %+v %s", r, r.ResponsePayload)
	}

	// The async metrics, under AWS's meanings.
	b := s.MetricsText(t)
	for _, want := range []string{
		`lambada_async_events_received_total{function_name="src"} 2`,
		`lambada_async_events_dropped_total{condition="RetriesExhausted",function_name="src"} 1`,
		`lambada_async_retries_total{function_name="src"} 1`,
		`lambada_destination_deliveries_total{function_name="src",type="lambda"} 2`,
		`lambada_async_event_age_seconds_count{function_name="src"} 2`,
		"lambada_async_queue_depth ",
		"lambada_async_oldest_event_age_seconds ",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestEventAgeExceededAndZeroConcurrency(t *testing.T) {
	// A retry base longer than the age limit: the look-ahead gives up right
	// after the first failure.
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.AsyncRetryDelay = 61 * time.Second }})
	sk := newSink(t)
	create(t, s, "old")
	createDest(t, s, "dest", sk.URL)
	putConfig(t, s, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("old"), MaximumEventAgeInSeconds: aws.Int32(60),
		DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String("arn:aws:lambda:us-east-1:000000000000:function:dest")}},
	})
	id := event(t, s, "old", map[string]any{"op": "error", "msg": "late"})
	r := records(t, sk.wait(t, 1, 20*time.Second))[0]
	if r.RequestContext.RequestID != id || r.RequestContext.Condition != "EventAgeExceeded" || r.RequestContext.ApproximateInvokeCount != 1 ||
		r.ResponseContext == nil || r.ResponseContext.FunctionError != "Unhandled" {
		t.Fatalf("age record %+v", r)
	}

	if _, err := s.Client.PutFunctionConcurrency(context.Background(), &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String("old"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	id = event(t, s, "old", map[string]any{"op": "echo"}) // still accepted
	r = records(t, sk.wait(t, 2, 20*time.Second))[1]
	if r.RequestContext.RequestID != id || r.RequestContext.Condition != "ZeroReservedConcurrency" ||
		r.RequestContext.ApproximateInvokeCount != 0 || r.ResponseContext != nil || r.ResponsePayload != nil {
		t.Fatalf("zero-concurrency record %+v", r)
	}
}

func TestQueueDestinationAndDeadLetterRecords(t *testing.T) {
	s := start(t)
	const queue = "arn:aws:sqs:us-east-1:000000000000:failures.fifo"
	const dlq = "arn:aws:sns:us-east-1:000000000000:dead-letters"
	if _, err := s.Client.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
		FunctionName: aws.String("q"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Code:             &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
		DeadLetterConfig: &types.DeadLetterConfig{TargetArn: aws.String(dlq)},
	}); err != nil {
		t.Fatal(err)
	}
	putConfig(t, s, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("q"), MaximumRetryAttempts: aws.Int32(0),
		DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String(queue)}},
	})
	id := event(t, s, "q", map[string]any{"op": "error", "msg": "to the queue"})

	got := readRecords(t, s, queue, 1)
	var r rec
	if err := json.Unmarshal(got[0].Body, &r); err != nil {
		t.Fatal(err)
	}
	if r.RequestContext.RequestID != id || r.RequestContext.Condition != "RetriesExhausted" ||
		r.RequestContext.ApproximateInvokeCount != 1 || // MaximumRetryAttempts 0: one run
		got[0].Headers["Lambada-Condition"] != "RetriesExhausted" || got[0].Headers["Lambada-Request-Id"] != id ||
		!strings.HasPrefix(got[0].Subject, "lambada.destinations.sqs.us-east-1.000000000000.failures%2Efifo") {
		t.Fatalf("queue record %+v / %+v", got[0], r)
	}
	dead := readRecords(t, s, dlq, 1)
	if string(dead[0].Body) != `{"msg":"to the queue","op":"error"}` || dead[0].Headers["Requestid"] != id && dead[0].Headers["RequestID"] != id ||
		dead[0].Headers["ErrorCode"]+dead[0].Headers["Errorcode"] != "200" {
		t.Fatalf("dead letter %+v", dead[0])
	}
}

type storedRecord struct {
	Sequence uint64
	Subject  string
	Headers  map[string]string
	Body     json.RawMessage
}

// readRecords polls lambada's destination reader until n records arrived.
func readRecords(t *testing.T, s *servertest.Server, arn string, n int) []storedRecord {
	t.Helper()
	return readRecordsWithin(t, s, arn, n, 20*time.Second)
}

func readRecordsWithin(t *testing.T, s *servertest.Server, arn string, n int, timeout time.Duration) []storedRecord {
	t.Helper()
	var records []storedRecord
	waitfor.Eventually(t, timeout, func() error {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+"/lambada/destinations?Destination="+arn, nil)
		signGet(t, s, req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("read %s: %d %s", arn, resp.StatusCode, b)
		}
		var page struct{ Records []storedRecord }
		_ = json.Unmarshal(b, &page)
		if records = page.Records; len(records) < n {
			return fmt.Errorf("%d records on %s, want %d", len(records), arn, n)
		}
		return nil
	})
	return records
}
