package cli_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/cli"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/syncbuf"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// `lambada logs` prints a function's lines, filters them and follows new
// ones.
func TestLogsCommand(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	if _, err := s.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("f"), Role: aws.String("arn:aws:iam::000000000000:role/r"),
		Runtime: types.RuntimeProvidedal2023, Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
	}); err != nil {
		t.Fatal(err)
	}
	invoke := func(line string) {
		if _, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f"),
			Payload: []byte(`{"op":"log","lines":["` + line + `"]}`)}); err != nil {
			t.Fatal(err)
		}
	}
	invoke("first-line")
	t.Setenv("AWS_ACCESS_KEY_ID", s.Creds.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s.Creds.SecretAccessKey)
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", s.URL())
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", s.URL())

	// Follow: the first line, then one written later, each printed once.
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out, errb := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	done := make(chan error, 1)
	go func() { done <- cli.Run(fctx, []string{"logs", "f", "--follow", "--since", "1h"}, out, errb) }()
	waitOut := func(want string) {
		t.Helper()
		waitfor.Eventually(t, 20*time.Second, func() error {
			if !strings.Contains(out.String(), want) {
				return fmt.Errorf("%q not printed:\n%s%s", want, out.String(), errb.String())
			}
			return nil
		})
	}
	waitOut(" first-line\n")
	invoke("second-line")
	waitOut(" second-line\n")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "first-line") != 1 || !strings.Contains(out.String(), "] START RequestId: ") && !strings.Contains(out.String(), " START RequestId: ") {
		t.Errorf("follow output:\n%s", out.String())
	}

	// --filter, without --follow.
	var fo, fe syncbuf.Buffer
	if err := cli.Run(ctx, []string{"logs", "f", "--filter", "second-line"}, &fo, &fe); err != nil {
		t.Fatalf("%v %s", err, fe.String())
	}
	if lines := strings.Split(strings.TrimSpace(fo.String()), "\n"); len(lines) != 1 || !strings.HasSuffix(lines[0], " second-line") {
		t.Errorf("filtered: %q", fo.String())
	}
	if err := cli.Run(ctx, []string{"logs", "f", "--since", "ten"}, &fo, &fe); err == nil {
		t.Error("bad --since accepted")
	}
}
