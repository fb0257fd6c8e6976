package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/cli"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// `lambada destinations` prints what reached an SQS destination.
func TestDestinationsCommand(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	const queue = "arn:aws:sqs:us-east-1:000000000000:failed"
	if _, err := s.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("f"), Role: aws.String("arn:aws:iam::000000000000:role/r"),
		Runtime: types.RuntimeProvidedal2023, Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("f"), MaximumRetryAttempts: aws.Int32(0),
		DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String(queue)}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f"), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(`{"op":"error","msg":"cli"}`)}); err != nil {
		t.Fatal(err)
	}
	// A record too large for one NATS message (its payload alone is 1 MB
	// of characters JSON encoders like to escape) is printed whole.
	pad := strings.Repeat("<&>", 349_000)
	if _, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f"), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(`{"op":"error","msg":"cli","pad":"` + pad + `"}`)}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", s.Creds.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s.Creds.SecretAccessKey)
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", s.URL())
	var lines []string
	waitfor.True(t, 20*time.Second, "both records on the queue", func() bool {
		var out, errb bytes.Buffer
		if err := cli.Run(ctx, []string{"destinations", "--arn", queue}, &out, &errb); err != nil {
			t.Fatalf("destinations: %v %s", err, errb.String())
		}
		lines = strings.Split(strings.TrimSpace(out.String()), "\n")
		return len(lines) == 2
	})
	large := 0
	for _, line := range lines {
		var rec struct {
			Sequence uint64
			Headers  map[string]string
			Body     struct {
				RequestContext struct{ Condition string } `json:"requestContext"`
				RequestPayload struct{ Pad string }       `json:"requestPayload"`
			}
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%v: %.300s", err, line)
		}
		if rec.Sequence == 0 || rec.Body.RequestContext.Condition != "RetriesExhausted" {
			t.Fatalf("record %.300s", line)
		}
		if rec.Body.RequestPayload.Pad != "" {
			large++
			if rec.Body.RequestPayload.Pad != pad || strings.Contains(line, `\u003c`) {
				t.Fatalf("the large record's payload came back as %d bytes", len(rec.Body.RequestPayload.Pad))
			}
		}
	}
	if large != 1 {
		t.Fatalf("%d large records", large)
	}
	// --after skips what was read.
	var out, errb bytes.Buffer
	if err := cli.Run(ctx, []string{"destinations", "--arn", queue, "--after", "999999"}, &out, &errb); err != nil || out.Len() != 0 {
		t.Fatalf("--after: %v %q", err, out.String())
	}
}
