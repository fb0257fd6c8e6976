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
	t.Setenv("AWS_ACCESS_KEY_ID", s.Creds.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s.Creds.SecretAccessKey)
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", s.URL())
	var line string
	waitfor.True(t, 20*time.Second, "a record on the queue", func() bool {
		var out, errb bytes.Buffer
		if err := cli.Run(ctx, []string{"destinations", "--arn", queue}, &out, &errb); err != nil {
			t.Fatalf("destinations: %v %s", err, errb.String())
		}
		line = strings.TrimSpace(out.String())
		return line != ""
	})
	var rec struct {
		Sequence uint64
		Headers  map[string]string
		Body     struct {
			RequestContext struct{ Condition string } `json:"requestContext"`
		}
	}
	if err := json.Unmarshal([]byte(strings.Split(line, "\n")[0]), &rec); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	if rec.Sequence == 0 || rec.Body.RequestContext.Condition != "RetriesExhausted" {
		t.Fatalf("record %s", line)
	}
	// --after skips what was read.
	var out, errb bytes.Buffer
	if err := cli.Run(ctx, []string{"destinations", "--arn", queue, "--after", "999999"}, &out, &errb); err != nil || out.Len() != 0 {
		t.Fatalf("--after: %v %q", err, out.String())
	}
}
