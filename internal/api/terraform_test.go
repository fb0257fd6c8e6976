package api_test

// The call sequences the Terraform/OpenTofu AWS provider makes for its
// Lambda resources, replayed with the Go SDK: create, read back until
// ready, refresh, update, tag changes, destroy. A step that fails here
// fails `tofu apply` or leaves a plan that is never empty.

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
)

// tfRead is the provider's read of aws_lambda_function: GetFunction,
// ListVersionsByFunction (to find the latest published version) and
// GetFunctionCodeSigningConfig.
func tfRead(t *testing.T, c *lambda.Client, name string) *lambda.GetFunctionOutput {
	t.Helper()
	ctx := context.Background()
	g, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatalf("read: GetFunction: %v", err)
	}
	p := lambda.NewListVersionsByFunctionPaginator(c, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(name), MaxItems: aws.Int32(10000)})
	for p.HasMorePages() {
		if _, err := p.NextPage(ctx); err != nil {
			t.Fatalf("read: ListVersionsByFunction: %v", err)
		}
	}
	csc, err := c.GetFunctionCodeSigningConfig(ctx, &lambda.GetFunctionCodeSigningConfigInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatalf("read: GetFunctionCodeSigningConfig: %v", err)
	}
	if aws.ToString(csc.CodeSigningConfigArn) != "" {
		t.Errorf("read: code signing config %q", aws.ToString(csc.CodeSigningConfigArn))
	}
	return g
}

func TestTerraformFunctionLifecycle(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()
	const name = "tf-fn"

	// apply: create, wait for Active, read.
	in := createInput(t, name)
	in.Tags = map[string]string{"Name": "tf-fn", "env": "dev"}
	in.Publish = true
	if _, err := c.CreateFunction(ctx, in); err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	if err := lambda.NewFunctionActiveV2Waiter(c).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatalf("waiting for Active: %v", err)
	}
	g := tfRead(t, c, name)
	if !maps.Equal(g.Tags, in.Tags) {
		t.Errorf("tags read back %v, want %v", g.Tags, in.Tags)
	}
	first := *g.Configuration

	// plan: a refresh reads the same state again (an empty plan).
	again := tfRead(t, c, name)
	if aws.ToString(again.Configuration.RevisionId) != aws.ToString(first.RevisionId) ||
		aws.ToString(again.Configuration.CodeSha256) != aws.ToString(first.CodeSha256) || !maps.Equal(again.Tags, g.Tags) {
		t.Errorf("refresh differs from the state after apply")
	}

	// aws_lambda_alias and aws_lambda_function_event_invoke_config.
	if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatalf("CreateAlias: %v", err)
	}
	if _, err := c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(name), Name: aws.String("live")}); err != nil {
		t.Fatalf("GetAlias: %v", err)
	}
	if _, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String(name), MaximumRetryAttempts: aws.Int32(0)}); err != nil {
		t.Fatalf("PutFunctionEventInvokeConfig: %v", err)
	}

	// apply an update: configuration, then tags (add one, change one, remove one).
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(name), Description: aws.String("v2")}); err != nil {
		t.Fatalf("UpdateFunctionConfiguration: %v", err)
	}
	if err := lambda.NewFunctionUpdatedV2Waiter(c).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatalf("waiting for the update: %v", err)
	}
	arn := aws.ToString(first.FunctionArn)
	if _, err := c.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: []string{"env"}}); err != nil {
		t.Fatalf("UntagResource: %v", err)
	}
	if _, err := c.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{"Name": "renamed", "owner": "me"}}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	g = tfRead(t, c, name)
	if want := map[string]string{"Name": "renamed", "owner": "me"}; !maps.Equal(g.Tags, want) {
		t.Errorf("tags after update %v, want %v", g.Tags, want)
	}
	if aws.ToString(g.Configuration.Description) != "v2" {
		t.Errorf("description after update %q", aws.ToString(g.Configuration.Description))
	}

	// destroy: event invoke config, alias, function; then the read that
	// tells the provider the function is gone.
	if _, err := c.DeleteFunctionEventInvokeConfig(ctx, &lambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String(name)}); err != nil {
		t.Fatalf("DeleteFunctionEventInvokeConfig: %v", err)
	}
	if _, err := c.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String(name), Name: aws.String("live")}); err != nil {
		t.Fatalf("DeleteAlias: %v", err)
	}
	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name)}); err != nil {
		t.Fatalf("DeleteFunction: %v", err)
	}
	_, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("GetFunction after destroy: %v, want ResourceNotFoundException", err)
	}
}
