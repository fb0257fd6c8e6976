package async_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/async"
	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/servertest"
)

// A failed event's OnFailure record and its dead-letter message can each
// be redriven: a new Event invocation of the same version with the same
// payload, which runs (and now succeeds) with the function's current
// configuration; a success record, an unknown sequence are refused.
func TestRedrive(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	const failures = "arn:aws:sqs:us-east-1:000000000000:failures"
	const successes = "arn:aws:sqs:us-east-1:000000000000:successes"
	const dlq = "arn:aws:sqs:us-east-1:000000000000:dlq"
	if _, err := s.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("rd"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Code:             &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
		DeadLetterConfig: &types.DeadLetterConfig{TargetArn: aws.String(dlq)},
	}); err != nil {
		t.Fatal(err)
	}
	putConfig(t, s, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("rd"), MaximumRetryAttempts: aws.Int32(0),
		DestinationConfig: &types.DestinationConfig{
			OnFailure: &types.OnFailure{Destination: aws.String(failures)},
			OnSuccess: &types.OnSuccess{Destination: aws.String(successes)},
		},
	})
	// The event reads a file that is not there yet: it fails.
	flag := filepath.Join(t.TempDir(), "flag")
	id := event(t, s, "rd", map[string]any{"op": "read", "msg": flag})
	failed := readRecords(t, s, failures, 1)[0]
	dead := readRecords(t, s, dlq, 1)[0]
	if dead.Headers[async.SourceHeader] != "arn:aws:lambda:us-east-1:000000000000:function:rd:$LATEST" {
		t.Fatalf("dead letter headers %v", dead.Headers)
	}
	if err := os.WriteFile(flag, []byte("fixed"), 0o644); err != nil {
		t.Fatal(err)
	}

	svc := s.Async()
	id1, err := svc.Redrive(ctx, failures, failed.Sequence)
	if err != nil || id1 == "" || id1 == id {
		t.Fatalf("Redrive(record) = %q, %v", id1, err)
	}
	id2, err := svc.Redrive(ctx, dlq, dead.Sequence)
	if err != nil || id2 == "" || id2 == id1 {
		t.Fatalf("Redrive(dead letter) = %q, %v", id2, err)
	}
	ok := readRecords(t, s, successes, 2)
	seen := map[string]bool{}
	for _, o := range ok {
		var r rec
		if err := json.Unmarshal(o.Body, &r); err != nil {
			t.Fatal(err)
		}
		if r.RequestContext.Condition != "Success" || string(r.ResponsePayload) != `{"content":"fixed"}` ||
			r.RequestContext.FunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:rd:$LATEST" {
			t.Fatalf("success record %+v %s", r, r.ResponsePayload)
		}
		var p map[string]string
		if err := json.Unmarshal(r.RequestPayload, &p); err != nil || p["msg"] != flag {
			t.Fatalf("redriven payload %s", r.RequestPayload)
		}
		seen[r.RequestContext.RequestID] = true
	}
	if !seen[id1] || !seen[id2] {
		t.Fatalf("success records of %v, want %s and %s", seen, id1, id2)
	}

	for _, tt := range []struct {
		dest string
		seq  uint64
		code string
	}{
		{successes, ok[0].Sequence, "InvalidParameterValueException"},
		{failures, failed.Sequence + 1000, "ResourceNotFoundException"},
		{failures, 0, "InvalidParameterValueException"},
		{"not-an-arn", 1, "InvalidParameterValueException"},
	} {
		_, err := svc.Redrive(ctx, tt.dest, tt.seq)
		var ae *awserr.Error
		if !errors.As(err, &ae) || ae.Code != tt.code {
			t.Errorf("Redrive(%s, %d) = %v, want %s", tt.dest, tt.seq, err, tt.code)
		}
	}
}
