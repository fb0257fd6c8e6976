package api_test

// The settings infrastructure-as-code tools read on every refresh (code
// signing, runtime management, provisioned concurrency), the refusals of
// what lambada does not do, and a sweep over every operation of the Lambda
// API model: none may answer "Unknown operation".

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
)

const (
	msgCodeSigning  = "Code signing is not supported by this server: lambada does not verify code signatures."
	msgProvisioned  = "Provisioned concurrency is not supported by this server: lambada starts environments on demand."
	msgPCNotFound   = "No Provisioned Concurrency Config found for this function"
	msgPCLatest     = "The function resource provided must be an alias or a published version."
	msgUnqualified  = "Unsupported function name parameter: this operation is permitted on the unqualified function name or ARN only."
	errPCNotFound   = "ProvisionedConcurrencyConfigNotFoundException"
	errCSCNotFound  = "CodeSigningConfigNotFoundException"
	cscArn          = "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef0"
	patUpdateRtMode = "Member must satisfy enum value set: [Auto, Manual, FunctionUpdate]"
)

func TestSettingsReads(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()
	mustCreate(t, c, "fx", func(in *lambda.CreateFunctionInput) { in.Publish = true })

	for _, name := range []string{"fx", arnPrefix + "fx"} {
		out, err := c.GetFunctionCodeSigningConfig(ctx, &lambda.GetFunctionCodeSigningConfigInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatalf("GetFunctionCodeSigningConfig %s: %v", name, err)
		}
		if aws.ToString(out.FunctionName) != "fx" || out.CodeSigningConfigArn == nil || *out.CodeSigningConfigArn != "" {
			t.Errorf("GetFunctionCodeSigningConfig %s = %q, %v; want fx and an empty ARN", name, aws.ToString(out.FunctionName), out.CodeSigningConfigArn)
		}
	}
	// The raw body carries both members, the ARN as "".
	if r := call(t, s, rawReq{method: "GET", target: "/2020-06-30/functions/fx/code-signing-config"}); string(r.body) != `{"CodeSigningConfigArn":"","FunctionName":"fx"}` {
		t.Errorf("raw body %s", r.body)
	}

	rm, err := c.GetRuntimeManagementConfig(ctx, &lambda.GetRuntimeManagementConfigInput{FunctionName: aws.String("fx")})
	if err != nil {
		t.Fatal(err)
	}
	if rm.UpdateRuntimeOn != types.UpdateRuntimeOnAuto || aws.ToString(rm.FunctionArn) != arnPrefix+"fx" || rm.RuntimeVersionArn != nil {
		t.Errorf("GetRuntimeManagementConfig = %s %s %v", rm.UpdateRuntimeOn, aws.ToString(rm.FunctionArn), rm.RuntimeVersionArn)
	}
	if _, err := c.GetRuntimeManagementConfig(ctx, &lambda.GetRuntimeManagementConfigInput{FunctionName: aws.String("fx"), Qualifier: aws.String("1")}); err != nil {
		t.Errorf("GetRuntimeManagementConfig of version 1: %v", err)
	}
	pr, err := c.PutRuntimeManagementConfig(ctx, &lambda.PutRuntimeManagementConfigInput{FunctionName: aws.String("fx"), UpdateRuntimeOn: types.UpdateRuntimeOnAuto})
	if err != nil {
		t.Fatal(err)
	}
	if pr.UpdateRuntimeOn != types.UpdateRuntimeOnAuto || aws.ToString(pr.FunctionArn) != arnPrefix+"fx" {
		t.Errorf("PutRuntimeManagementConfig = %s %s", pr.UpdateRuntimeOn, aws.ToString(pr.FunctionArn))
	}

	pl, err := c.ListProvisionedConcurrencyConfigs(ctx, &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String("fx")})
	if err != nil {
		t.Fatal(err)
	}
	if pl.ProvisionedConcurrencyConfigs == nil || len(pl.ProvisionedConcurrencyConfigs) != 0 || pl.NextMarker != nil {
		t.Errorf("ListProvisionedConcurrencyConfigs = %+v", pl)
	}
	if _, err := c.DeleteProvisionedConcurrencyConfig(ctx, &lambda.DeleteProvisionedConcurrencyConfigInput{FunctionName: aws.String("fx"), Qualifier: aws.String("1")}); err != nil {
		t.Errorf("DeleteProvisionedConcurrencyConfig (nothing to delete): %v", err)
	}

	lc, err := c.ListCodeSigningConfigs(ctx, &lambda.ListCodeSigningConfigsInput{})
	if err != nil || lc.CodeSigningConfigs == nil || len(lc.CodeSigningConfigs) != 0 {
		t.Errorf("ListCodeSigningConfigs = %+v, %v", lc, err)
	}
	lf, err := c.ListFunctionsByCodeSigningConfig(ctx, &lambda.ListFunctionsByCodeSigningConfigInput{CodeSigningConfigArn: aws.String(cscArn)})
	if err != nil || lf.FunctionArns == nil || len(lf.FunctionArns) != 0 {
		t.Errorf("ListFunctionsByCodeSigningConfig = %+v, %v", lf, err)
	}
	le, err := c.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{})
	if err != nil || le.EventSourceMappings == nil || len(le.EventSourceMappings) != 0 {
		t.Errorf("ListEventSourceMappings = %+v, %v", le, err)
	}
}

func TestSettingsErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	mustCreate(t, s.Client, "fx", func(in *lambda.CreateFunctionInput) { in.Publish = true })

	getCSC := func(fn string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.GetFunctionCodeSigningConfig(ctx, &lambda.GetFunctionCodeSigningConfigInput{FunctionName: aws.String(fn)})
			return err
		}
	}
	putRM := func(fn string, mode types.UpdateRuntimeOn, q *string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.PutRuntimeManagementConfig(ctx, &lambda.PutRuntimeManagementConfigInput{FunctionName: aws.String(fn), UpdateRuntimeOn: mode, Qualifier: q})
			return err
		}
	}
	getPC := func(fn, q string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{FunctionName: aws.String(fn), Qualifier: aws.String(q)})
			return err
		}
	}
	run(t, s, []tc{
		{"GetFunctionCodeSigningConfig/missing function", getCSC("nope"), nil, fnNotFound("nope")},
		{"GetFunctionCodeSigningConfig/qualified", getCSC("fx:1"), nil, invalid(msgUnqualified)},
		{"GetFunctionCodeSigningConfig/bad name", getCSC("f x"), nil, validation(one(q("f x"), "functionName", pattern(patFunctionName)))},
		{"PutFunctionCodeSigningConfig", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.PutFunctionCodeSigningConfig(ctx, &lambda.PutFunctionCodeSigningConfigInput{FunctionName: aws.String("fx"), CodeSigningConfigArn: aws.String(cscArn)})
			return err
		}, nil, invalid(msgCodeSigning)},
		{"PutFunctionCodeSigningConfig/missing function", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.PutFunctionCodeSigningConfig(ctx, &lambda.PutFunctionCodeSigningConfigInput{FunctionName: aws.String("nope"), CodeSigningConfigArn: aws.String(cscArn)})
			return err
		}, nil, fnNotFound("nope")},
		{"DeleteFunctionCodeSigningConfig", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.DeleteFunctionCodeSigningConfig(ctx, &lambda.DeleteFunctionCodeSigningConfigInput{FunctionName: aws.String("fx")})
			return err
		}, nil, invalid(msgCodeSigning)},
		{"CreateCodeSigningConfig", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.CreateCodeSigningConfig(ctx, &lambda.CreateCodeSigningConfigInput{AllowedPublishers: &types.AllowedPublishers{SigningProfileVersionArns: []string{"arn:aws:signer:us-east-1:000000000000:/signing-profiles/p/v"}}})
			return err
		}, nil, invalid(msgCodeSigning)},
		{"GetCodeSigningConfig", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.GetCodeSigningConfig(ctx, &lambda.GetCodeSigningConfigInput{CodeSigningConfigArn: aws.String(cscArn)})
			return err
		}, nil, want{code: errCSCNotFound, status: 404, msg: "The Lambda code signing configuration " + cscArn + " can not be found."}},
		{"CreateFunction/CodeSigningConfigArn", func(ctx context.Context, c *lambda.Client) error {
			in := createInput(t, "signed")
			in.CodeSigningConfigArn = aws.String(cscArn)
			_, err := c.CreateFunction(ctx, in)
			return err
		}, nil, notSupported()},
		{"PutRuntimeManagementConfig/Manual", putRM("fx", types.UpdateRuntimeOnManual, nil), nil,
			invalid("UpdateRuntimeOn Manual is not supported by this server: lambada's runtimes are part of its binary and change only with it (Auto).")},
		{"PutRuntimeManagementConfig/FunctionUpdate", putRM("fx", types.UpdateRuntimeOnFunctionUpdate, nil), nil,
			invalid("UpdateRuntimeOn FunctionUpdate is not supported by this server: lambada's runtimes are part of its binary and change only with it (Auto).")},
		{"PutRuntimeManagementConfig/bad mode", putRM("fx", "Sometimes", nil), nil, validation(one(q("Sometimes"), "updateRuntimeOn", patUpdateRtMode))},
		{"PutRuntimeManagementConfig/mode missing", nil, &rawReq{method: "PUT", target: "/2021-07-20/functions/fx/runtime-management-config", body: `{}`},
			validation(one("null", "updateRuntimeOn", "Member must not be null"))},
		{"PutRuntimeManagementConfig/missing function", putRM("nope", types.UpdateRuntimeOnAuto, nil), nil, fnNotFound("nope")},
		{"PutRuntimeManagementConfig/missing version", putRM("fx", types.UpdateRuntimeOnAuto, aws.String("7")), nil, fnNotFound("fx:7")},
		{"GetRuntimeManagementConfig/missing function", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.GetRuntimeManagementConfig(ctx, &lambda.GetRuntimeManagementConfigInput{FunctionName: aws.String("nope")})
			return err
		}, nil, fnNotFound("nope")},
		{"GetProvisionedConcurrencyConfig/version", getPC("fx", "1"), nil, want{code: errPCNotFound, status: 404, msg: msgPCNotFound}},
		{"GetProvisionedConcurrencyConfig/$LATEST", getPC("fx", "$LATEST"), nil, invalid(msgPCLatest)},
		{"GetProvisionedConcurrencyConfig/missing version", getPC("fx", "9"), nil, fnNotFound("fx:9")},
		{"GetProvisionedConcurrencyConfig/missing function", getPC("nope", "1"), nil, fnNotFound("nope:1")},
		{"GetProvisionedConcurrencyConfig/no qualifier", nil, &rawReq{method: "GET", target: "/2019-09-30/functions/fx/provisioned-concurrency"},
			validation(one("null", "qualifier", "Member must not be null"))},
		{"ListProvisionedConcurrencyConfigs/missing function", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.ListProvisionedConcurrencyConfigs(ctx, &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String("nope")})
			return err
		}, nil, fnNotFound("nope")},
		{"PutProvisionedConcurrencyConfig", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{FunctionName: aws.String("fx"), Qualifier: aws.String("1"), ProvisionedConcurrentExecutions: aws.Int32(2)})
			return err
		}, nil, invalid(msgProvisioned)},
		{"PutProvisionedConcurrencyConfig/zero", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{FunctionName: aws.String("fx"), Qualifier: aws.String("1"), ProvisionedConcurrentExecutions: aws.Int32(0)})
			return err
		}, nil, validation(one(q("0"), "provisionedConcurrentExecutions", "Member must have value greater than or equal to 1"))},
		{"CreateEventSourceMapping", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("fx"), EventSourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:q")})
			return err
		}, nil, invalid("CreateEventSourceMapping is not supported by this server: lambada has no event source mappings; invoke functions through the API instead.")},
	})
}

var reModelOp = regexp.MustCompile(`(?s)Name:\s+"([A-Za-z]+)",\s*\}, smithy\.ShapeTypeOperation, 0, &smithytraits\.HTTP\{Method: "([A-Z]+)",\s*URI:\s+"([^"]+)"`)

// modelOperations reads every operation, method and path from the Lambda
// client's service model in the module cache.
func modelOperations(t *testing.T) [][3]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-sdk-go-v2/service/lambda").Output()
	if err != nil {
		t.Skipf("locating the Lambda client module: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "schemas", "schemas.go"))
	if err != nil {
		t.Fatalf("reading the service model: %v", err)
	}
	var ops [][3]string
	for _, m := range reModelOp.FindAllStringSubmatch(string(src), -1) {
		ops = append(ops, [3]string{m[1], m[2], m[3]})
	}
	if len(ops) < 80 {
		t.Fatalf("found only %d operations in the service model", len(ops))
	}
	return ops
}

var reLabel = regexp.MustCompile(`\{[A-Za-z]+\}`)

func TestEveryModelOperationIsKnown(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	mustCreate(t, s.Client, "fx", nil)
	for _, op := range modelOperations(t) {
		name, method, uri := op[0], op[1], op[2]
		target := reLabel.ReplaceAllStringFunc(uri, func(l string) string {
			switch l {
			case "{FunctionName}":
				return "fx"
			case "{VersionNumber}":
				return "1"
			case "{Resource}", "{ResourceArn}":
				return awsEscape(arnPrefix + "fx")
			}
			return "x"
		})
		body := ""
		if method == "POST" || method == "PUT" {
			body = "{}"
		}
		r := call(t, s, rawReq{method: method, target: target, body: body})
		if et := r.header.Get("X-Amzn-ErrorType"); et == "UnknownOperationException" || r.status == 404 && et == "" {
			t.Errorf("%s (%s %s) answers %d %s", name, method, target, r.status, et)
		}
	}
}
