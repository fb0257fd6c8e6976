package api_test

// One request that breaks several model constraints gets one
// ValidationException listing each (docs/behaviour/api-common.md §5.3):
// the qualifier's before the name's, the name's before the body members'.

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
)

func TestEveryViolationAtOnce(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	mustCreate(t, s.Client, "fx", nil)
	const badQ, badName = "q q", "f x"
	qv := viol(q(badQ), "qualifier", pattern(patQualifier))
	nvNs := viol(q(badName), "functionName", pattern(patNamespaced))
	nv := viol(q(badName), "functionName", pattern(patFunctionName))
	two := func(a, b string) want { return validation("2 validation errors detected: " + a + "; " + b) }
	three := func(a, b, c string) want {
		return validation("3 validation errors detected: " + a + "; " + b + "; " + c)
	}
	run(t, s, []tc{
		{"GetFunction", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(badName), Qualifier: aws.String(badQ)})
			return err
		}, nil, two(qv, nvNs)},
		{"GetFunctionConfiguration", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(badName), Qualifier: aws.String(badQ)})
			return err
		}, nil, two(qv, nvNs)},
		{"Invoke", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(badName), Qualifier: aws.String(badQ), LogType: "Loud"})
			return err
		}, nil, three(qv, nvNs, viol(q("Loud"), "logType", "Member must satisfy enum value set: [None, Tail]"))},
		{"DeleteFunction", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(badName), Qualifier: aws.String(badQ)})
			return err
		}, nil, two(qv, nvNs)},
		{"GetFunctionEventInvokeConfig", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String(badName), Qualifier: aws.String(badQ)})
			return err
		}, nil, two(qv, nvNs)},
		{"UpdateFunctionConfiguration", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(badName), Timeout: aws.Int32(0)})
			return err
		}, nil, two(nv, viol(q("0"), "timeout", "Member must have value greater than or equal to 1"))},
		{"UpdateFunctionCode", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(badName), ZipFile: []byte("x"), Architectures: []types.Architecture{}})
			return err
		}, nil, two(nv, viol(q("[]"), "architectures", "Member must have length greater than or equal to 1"))},
		{"PublishVersion", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(badName), Description: aws.String(string(make([]byte, 257)))})
			return err
		}, nil, want{code: errValidation, status: 400, prefix: "2 validation errors detected: " + nv + "; Value '", free: true}},
		{"CreateAlias", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(badName), Name: aws.String("123"), FunctionVersion: aws.String("v1")})
			return err
		}, nil, three(nv, viol(q("123"), "name", pattern(patAlias)), viol(q("v1"), "functionVersion", pattern(patVersion)))},
		{"UpdateAlias", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(badName), Name: aws.String("123"), FunctionVersion: aws.String("v1")})
			return err
		}, nil, three(nv, viol(q("123"), "name", pattern(patAlias)), viol(q("v1"), "functionVersion", pattern(patVersion)))},
		{"ListAliases", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: aws.String(badName), FunctionVersion: aws.String("v1")})
			return err
		}, nil, two(nvNs, viol(q("v1"), "functionVersion", pattern(patVersion)))},
		{"PutFunctionConcurrency", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(badName), ReservedConcurrentExecutions: aws.Int32(-1)})
			return err
		}, nil, two(nv, viol(q("-1"), "reservedConcurrentExecutions", "Member must have value greater than or equal to 0"))},
		{"PutFunctionRecursionConfig", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.PutFunctionRecursionConfig(ctx, &lambda.PutFunctionRecursionConfigInput{FunctionName: aws.String(badName), RecursiveLoop: "Sometimes"})
			return err
		}, nil, two(viol(q(badName), "functionName", pattern(`(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)`)),
			viol(q("Sometimes"), "recursiveLoop", "Member must satisfy enum value set: [Terminate, Allow]"))},
	})
}
