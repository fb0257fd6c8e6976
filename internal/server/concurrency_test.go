package server_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
)

// Two nodes sharing one storage run at most a function's reservation at
// once between them: the rest is 429 with AWS's Reason; a stopped node's
// shares go back to the others.
func TestReservedConcurrencyAcrossNodes(t *testing.T) {
	const reserved, calls = 3, 8
	url := natstest.StartServer(t)
	cfg := func(c *server.Config) { c.AccessKeyID, c.SecretAccessKey = "AKIDLIMIT", "limit-secret" }
	a := servertest.Start(t, servertest.Options{NATSURL: url, Config: cfg})
	b := servertest.Start(t, servertest.Options{NATSURL: url, Config: cfg})
	ctx := context.Background()
	if _, err := a.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("busy"), Role: aws.String(outageRole), Runtime: types.RuntimeProvidedal2023,
		Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String("busy"), ReservedConcurrentExecutions: aws.Int32(reserved),
	}); err != nil {
		t.Fatal(err)
	}
	clients := []*lambda.Client{servertest.NoRetry(a.Client), servertest.NoRetry(b.Client)}
	pollUntil(t, 10*time.Second, "the reservation on both nodes", func() bool {
		out, err := b.Client.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("busy")})
		return err == nil && out.ReservedConcurrentExecutions != nil
	})

	// calls invocations at once, each long enough to overlap all others.
	round := func(clients []*lambda.Client) (ok, throttled int32) {
		var wg sync.WaitGroup
		release := make(chan struct{})
		for i := range calls {
			c := clients[i%len(clients)]
			wg.Go(func() {
				<-release
				_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("busy"), Payload: []byte(`{"op":"sleep","ms":3000}`)})
				if err == nil {
					atomic.AddInt32(&ok, 1)
					return
				}
				var code string
				var status int
				code, _, status = servertest.APIError(err)
				if code != "TooManyRequestsException" || status != 429 {
					t.Errorf("invoke: %v", err)
					return
				}
				var tm *types.TooManyRequestsException
				if !asTooMany(err, &tm) || tm.Reason != types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded {
					t.Errorf("throttle without AWS's Reason: %v", err)
				}
				atomic.AddInt32(&throttled, 1)
			})
		}
		close(release)
		wg.Wait()
		return ok, throttled
	}
	ok, throttled := round(clients)
	t.Logf("two nodes, reserved %d, %d at once: %d ran, %d throttled", reserved, calls, ok, throttled)
	if ok > reserved {
		t.Fatalf("%d invocations ran at once across two nodes; the function reserves %d", ok, reserved)
	}
	if ok == 0 {
		t.Fatal("nothing ran")
	}

	// a stops: b gets the whole reservation (once its shares are gone).
	a.Stop(t)
	pollUntil(t, 20*time.Second, "the whole reservation on the remaining node", func() bool {
		ok, _ := round(clients[1:])
		return ok == reserved
	})
}

func asTooMany(err error, target **types.TooManyRequestsException) bool {
	return errors.As(err, target)
}
