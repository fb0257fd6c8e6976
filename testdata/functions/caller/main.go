// Command caller is a test function that calls lambada back the way a
// Lambda function calls Lambda: aws-sdk-go-v2 configured from the
// environment only (AWS_ENDPOINT_URL_LAMBDA, AWS_REGION and the injected
// credentials). It reports each hop to a URL and invokes the next function
// of a chain, synchronously or as an Event.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

type event struct {
	// Next lists the functions to call in turn, cycling: [a] is a self
	// loop, [b, a] makes a→b→a→….
	Next  []string `json:"next"`
	Mode  string   `json:"mode"` // "sync" or "async"
	Depth int      `json:"depth"`
	Max   int      `json:"max"` // stop after this depth (the test's brake)
	URL   string   `json:"url"`
}

var client *awslambda.Client

func handle(ctx context.Context, ev event) (any, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	hop, _ := json.Marshal(map[string]any{
		"function": lambdacontext.FunctionName, "depth": ev.Depth,
		"trace": os.Getenv("_X_AMZN_TRACE_ID"), "requestId": lc.AwsRequestID,
	})
	if ev.URL != "" {
		if resp, err := http.Post(ev.URL, "application/json", bytes.NewReader(hop)); err == nil {
			resp.Body.Close()
		}
	}
	if ev.Depth >= ev.Max || len(ev.Next) == 0 {
		return map[string]any{"depth": ev.Depth, "stopped": "max"}, nil
	}
	next := ev
	next.Depth++
	target := ev.Next[ev.Depth%len(ev.Next)]
	payload, _ := json.Marshal(next)
	in := &awslambda.InvokeInput{FunctionName: aws.String(target), Payload: payload}
	if ev.Mode == "async" {
		in.InvocationType = types.InvocationTypeEvent
	}
	out, err := client.Invoke(ctx, in)
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			// The chain's caller sees which error stopped it.
			return nil, fmt.Errorf("%s at depth %d: %s", ae.ErrorCode(), next.Depth, ae.ErrorMessage())
		}
		return nil, err
	}
	if out.FunctionError != nil {
		// Pass the inner failure's message up unchanged.
		var doc struct {
			ErrorMessage string `json:"errorMessage"`
		}
		_ = json.Unmarshal(out.Payload, &doc)
		return nil, errors.New(doc.ErrorMessage)
	}
	if ev.Mode == "async" {
		return map[string]any{"depth": ev.Depth, "queued": target}, nil
	}
	return json.RawMessage(out.Payload), nil
}

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "loading AWS config:", err)
		os.Exit(1)
	}
	client = awslambda.NewFromConfig(cfg)
	lambda.Start(handle)
}
