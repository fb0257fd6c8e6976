package api_test

// Every bad input of docs/behaviour/management.md and docs/behaviour/api-common.md for the
// function-management operations, sent with the real aws-sdk-go-v2 Lambda
// client — or, where the SDK refuses to send the input (a missing required
// member, bytes that are not JSON, a non-integer MaxItems, a body of 70 MB),
// as a raw request signed with the SDK's own SigV4 signer. Each case checks
// the error code, the HTTP status and (where the spec gives it) the exact
// message, and that the server's state is the same afterwards.

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/registry"
	"github.com/lambada-dev/lambada/internal/servertest"
)

func TestGetFunctionErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	ok := setupOK(t)
	ctx := context.Background()
	mustCreate(t, s.Client, "fx", nil)
	ok(s.Client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fx")}))
	ok(s.Client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("fx"), Name: aws.String("live"), FunctionVersion: aws.String("1")}))

	long65 := strings.Repeat("a", 65)
	long257 := strings.Repeat("a", 257)
	cases := []struct {
		name, fn, qualifier string
		want                want
	}{
		{"missing function", "nope", "", fnNotFound("nope")},
		{"missing function with Qualifier", "nope", "1", fnNotFound("nope:1")},
		{"missing function with qualified name", "nope:live", "", fnNotFound("nope:live")},
		{"missing function by ARN", arnPrefix + "nope", "", fnNotFound("nope")},
		{"missing version", "fx", "7", fnNotFound("fx:7")},
		{"missing version in name", "fx:7", "", fnNotFound("fx:7")},
		{"missing alias", "fx", "ghost", fnNotFound("fx:ghost")},
		{"missing alias in name", "fx:ghost", "", fnNotFound("fx:ghost")},
		{"Qualifier $latest is an alias", "fx", "$latest", fnNotFound("fx:$latest")},
		{"Qualifier $LATEST.PUBLISHED", "fx", "$LATEST.PUBLISHED", fnNotFound("fx:$LATEST.PUBLISHED")},
		{"name $LATEST.PUBLISHED", "fx:$LATEST.PUBLISHED", "", fnNotFound("fx:$LATEST.PUBLISHED")},
		{"bare name over 64", long65, "", fnNotFound(long65)},
		{"Qualifier pattern", "fx", "bad!", validation(one(q("bad!"), "qualifier", pattern(patQualifier)))},
		{"Qualifier over 128", "fx", strings.Repeat("q", 129),
			validation(one(q(strings.Repeat("q", 129)), "qualifier", "Member must have length less than or equal to 128"))},
		{"name $latest", "fx:$latest", "", validation(one(q("fx:$latest"), "functionName", pattern(patNamespaced)))},
		{"name two qualifiers", "fx:1:2", "", validation(one(q("fx:1:2"), "functionName", pattern(patNamespaced)))},
		{"name with a space", "f x", "", validation(one(q("f x"), "functionName", pattern(patNamespaced)))},
		{"ARN of another service", "arn:aws:s3:::bucket", "", validation(one(q("arn:aws:s3:::bucket"), "functionName", pattern(patNamespaced)))},
		{"name over 256", long257, "", validation(one(q(long257), "functionName", "Member must have length less than or equal to 256"))},
		{"qualifier mismatch", "fx:1", "live", invalid(msgMismatch)},
		{"qualifier mismatch on a missing function", "nope:1", "2", invalid(msgMismatch)},
		{"ARN of another region", "arn:aws:lambda:eu-west-1:000000000000:function:fx", "",
			notFound("Functions from 'eu-west-1' are not reachable in this region ('us-east-1')")},
		{"ARN of another region and account", "arn:aws:lambda:eu-west-1:111111111111:function:fx", "",
			notFound("Functions from 'eu-west-1' are not reachable in this region ('us-east-1')")},
		{"ARN of another account", "arn:aws:lambda:us-east-1:111111111111:function:fx", "", denied()},
		{"partial ARN of another account", "111111111111:function:fx:1", "", denied()},
	}
	var all []tc
	for _, c := range cases {
		var qual *string
		if c.qualifier != "" {
			qual = aws.String(c.qualifier)
		}
		all = append(all,
			tc{"GetFunction/" + c.name, func(ctx context.Context, cl *lambda.Client) error {
				_, err := cl.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(c.fn), Qualifier: qual})
				return err
			}, nil, c.want},
			tc{"GetFunctionConfiguration/" + c.name, func(ctx context.Context, cl *lambda.Client) error {
				_, err := cl.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(c.fn), Qualifier: qual})
				return err
			}, nil, c.want})
	}
	run(t, s, all)

	// Equal qualifiers in the name and the query are fine.
	if _, err := s.Client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fx:live"), Qualifier: aws.String("live")}); err != nil {
		t.Errorf("same qualifier twice: %v", err)
	}
}

// --- UpdateFunctionConfiguration / UpdateFunctionCode ---------------------------------

func TestUpdateFunctionErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	ok := setupOK(t)
	ctx := context.Background()
	host, other := architectures()
	mustCreate(t, s.Client, "fx", func(in *lambda.CreateFunctionInput) {
		in.Environment = &types.Environment{Variables: map[string]string{"KEEP": "1"}}
	})
	ok(s.Client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fx")}))
	mustCreate(t, s.Client, "no-handler", func(in *lambda.CreateFunctionInput) { in.Handler = nil })
	cur, err := s.Client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("fx")})
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	stale := "00000000-0000-4000-8000-000000000000"
	newZip := servertest.Zip(t, map[string]string{"bootstrap": "#!/bin/sh\necho v2"})
	zipB64 := base64.StdEncoding.EncodeToString(newZip)

	config := func(mod func(in *lambda.UpdateFunctionConfigurationInput)) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx")}
			mod(in)
			_, err := c.UpdateFunctionConfiguration(ctx, in)
			return err
		}
	}
	code := func(mod func(in *lambda.UpdateFunctionCodeInput)) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("fx"), ZipFile: newZip}
			mod(in)
			_, err := c.UpdateFunctionCode(ctx, in)
			return err
		}
	}
	arch := func(a ...string) func(in *lambda.UpdateFunctionCodeInput) {
		return func(in *lambda.UpdateFunctionCodeInput) {
			in.Architectures = []types.Architecture{}
			for _, x := range a {
				in.Architectures = append(in.Architectures, types.Architecture(x))
			}
		}
	}
	big := map[string]string{"BIG": strings.Repeat("x", 4087)}

	run(t, s, []tc{
		// UpdateFunctionConfiguration.
		{"config/qualified name", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.FunctionName = aws.String("fx:1") }), nil, invalidAny()},
		{"config/name with $LATEST", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.FunctionName = aws.String("fx:$LATEST") }), nil, invalidAny()},
		{"config/qualified ARN", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.FunctionName = aws.String(arnPrefix + "fx:1") }), nil, invalidAny()},
		{"config/missing function", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.FunctionName, in.Timeout = aws.String("nope"), aws.Int32(5)
		}), nil, fnNotFound("nope")},
		{"config/ARN of another account", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.FunctionName = aws.String("arn:aws:lambda:us-east-1:111111111111:function:fx")
		}), nil, denied()},
		{"config/stale RevisionId", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.RevisionId, in.Timeout = aws.String(stale), aws.Int32(5)
		}), nil, precondition()},
		{"config/timeout 0", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.Timeout = aws.Int32(0) }), nil,
			validation(one(q("0"), "timeout", "Member must have value greater than or equal to 1"))},
		{"config/timeout 901", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.Timeout = aws.Int32(901) }), nil,
			invalid(one(q("901"), "timeout", "Member must have value less than or equal to 900"))},
		{"config/memory 127", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.MemorySize = aws.Int32(127) }), nil,
			validation(one(q("127"), "memorySize", "Member must have value greater than or equal to 128"))},
		{"config/memory 10241", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.MemorySize = aws.Int32(10241) }), nil,
			invalid(one(q("10241"), "memorySize", "Member must have value less than or equal to 10240"))},
		{"config/ephemeral 511", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(511)}
		}), nil, validation(one(q("511"), "ephemeralStorage.size", "Member must have value greater than or equal to 512"))},
		{"config/ephemeral 10241", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(10241)}
		}), nil, validation(one(q("10241"), "ephemeralStorage.size", "Member must have value less than or equal to 10240"))},
		{"config/role pattern", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.Role = aws.String("admin") }), nil,
			validation(one(q("admin"), "role", pattern(patRole)))},
		{"config/runtime not in enum", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.Runtime = "python9" }), nil, runtimeEnum("python9")},
		{"config/runtime deprecated", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.Runtime = "python2.7" }), nil,
			want{code: errInvalid, status: 400, free: true, prefix: "The runtime parameter of python2.7 is no longer supported for creating or updating AWS Lambda functions."}},
		{"config/runtime unsupported", config(func(in *lambda.UpdateFunctionConfigurationInput) { in.Runtime = types.RuntimeJava21 }), nil,
			invalid("The runtime parameter of java21 is not supported by this server.")},
		{"config/nodejs without handler", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("no-handler"), Runtime: types.RuntimeNodejs22x})
			return err
		}, nil, invalid(msgHandler)},
		{"config/handler emptied on nodejs", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx"),
				Runtime: types.RuntimePython313, Handler: aws.String("")})
			return err
		}, nil, invalid(msgHandler)},
		{"config/env bad key", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"bad-key": "x"}}
		}), nil, validation(one(q("{bad-key=x}"), "environment.variables", "Map keys must satisfy constraint: ["+pattern(patEnvKey)+"]"))},
		{"config/env reserved keys", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"LAMBDA_TASK_ROOT": "/tmp", "AWS_EXECUTION_ENV": "x"}}
		}), nil, invalid(msgReserved + "AWS_EXECUTION_ENV, LAMBDA_TASK_ROOT")},
		{"config/env over 4KB", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.Environment = &types.Environment{Variables: big}
		}), nil, invalid(msgEnvTooBig + `{"BIG":"` + big["BIG"] + `"}`)},
		{"config/layers", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.Layers = []string{"arn:aws:lambda:us-east-1:000000000000:layer:deps:1"}
		}), nil, invalid("Layer version arn:aws:lambda:us-east-1:000000000000:layer:deps:1 does not exist.")},
		{"config/vpc", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.VpcConfig = &types.VpcConfig{SubnetIds: []string{"subnet-1"}}
		}), nil, invalid("VpcConfig is not supported by this server.")},
		{"config/kms key", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.KMSKeyArn = aws.String("arn:aws:kms:us-east-1:000000000000:key/1234")
		}), nil, invalid("KMSKeyArn is not supported by this server.")},
		{"config/snapstart", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.SnapStart = &types.SnapStart{ApplyOn: types.SnapStartApplyOnPublishedVersions}
		}), nil, invalid("SnapStart is not supported by this server.")},
		{"config/logging system level with Text", config(func(in *lambda.UpdateFunctionConfigurationInput) {
			in.LoggingConfig = &types.LoggingConfig{SystemLogLevel: types.SystemLogLevelWarn}
		}), nil, invalid(registry.LevelWithTextMessage)},
		{"config/malformed JSON", nil, &rawReq{method: "PUT", target: "/2015-03-31/functions/fx/configuration", body: `{"Timeout":`}, badContent()},
		{"config/wrong member type", nil, &rawReq{method: "PUT", target: "/2015-03-31/functions/fx/configuration", body: `{"Environment":{"Variables":["A"]}}`}, badContent()},

		// UpdateFunctionCode.
		{"code/qualified name", code(func(in *lambda.UpdateFunctionCodeInput) { in.FunctionName = aws.String("fx:1") }), nil, invalidAny()},
		{"code/qualified ARN", code(func(in *lambda.UpdateFunctionCodeInput) { in.FunctionName = aws.String(arnPrefix + "fx:$LATEST") }), nil, invalidAny()},
		{"code/missing function", code(func(in *lambda.UpdateFunctionCodeInput) { in.FunctionName = aws.String("nope") }), nil, fnNotFound("nope")},
		{"code/name pattern", code(func(in *lambda.UpdateFunctionCodeInput) { in.FunctionName = aws.String("fx!") }), nil,
			validation(one(q("fx!"), "functionName", pattern(patFunctionName)))},
		{"code/stale RevisionId", code(func(in *lambda.UpdateFunctionCodeInput) { in.RevisionId = aws.String(stale) }), nil, precondition()},
		{"code/stale RevisionId with Publish", code(func(in *lambda.UpdateFunctionCodeInput) { in.RevisionId, in.Publish = aws.String(stale), true }), nil, precondition()},
		{"code/DryRun with stale RevisionId", code(func(in *lambda.UpdateFunctionCodeInput) { in.RevisionId, in.DryRun = aws.String(stale), true }), nil, precondition()},
		{"code/not a zip", code(func(in *lambda.UpdateFunctionCodeInput) { in.ZipFile = []byte("nope") }), nil, invalid(msgNotZip)},
		{"code/DryRun not a zip", code(func(in *lambda.UpdateFunctionCodeInput) { in.ZipFile, in.DryRun = []byte("nope"), true }), nil, invalid(msgNotZip)},
		{"code/from S3", code(func(in *lambda.UpdateFunctionCodeInput) {
			in.ZipFile, in.S3Bucket, in.S3Key = nil, aws.String("bucket"), aws.String("code.zip")
		}), nil, invalidAny()},
		{"code/from an image", code(func(in *lambda.UpdateFunctionCodeInput) {
			in.ZipFile, in.ImageUri = nil, aws.String("000000000000.dkr.ecr.us-east-1.amazonaws.com/app:1")
		}), nil, invalidAny()},
		{"code/no code", code(func(in *lambda.UpdateFunctionCodeInput) { in.ZipFile = nil }), nil, invalidAny()},
		{"code/architectures empty", code(arch()), nil, validation(one(q("[]"), "architectures", "Member must have length greater than or equal to 1"))},
		{"code/architectures two", code(arch("arm64", "x86_64")), nil,
			validation(one(q("[arm64, x86_64]"), "architectures", "Member must have length less than or equal to 1"))},
		{"code/architecture misspelt", code(arch("amd64")), nil, validation(one(q("[amd64]"), "architectures", msgArchEnum))},
		{"code/architecture of another host", code(arch(other)), nil,
			invalid(fmt.Sprintf("Architecture %s is not supported by this server (host architecture: %s).", other, host))},
		{"code/undecodable base64", nil, &rawReq{method: "PUT", target: "/2015-03-31/functions/fx/code", body: `{"ZipFile":"@@@"}`}, invalid(msgNotZip)},
		{"code/malformed JSON", nil, &rawReq{method: "PUT", target: "/2015-03-31/functions/fx/code", body: `{"ZipFile":"` + zipB64}, badContent()},
		{"code/wrong member type", nil, &rawReq{method: "PUT", target: "/2015-03-31/functions/fx/code", body: `{"ZipFile":"` + zipB64 + `","DryRun":1}`}, badContent()},
		{"code/request body over 70167211 bytes", nil, &rawReq{method: "PUT", target: "/2015-03-31/functions/fx/code", size: maxCodeBody + 1},
			tooLarge("Request must be smaller than 70167211 bytes for the UpdateFunctionCode operation")},
	})

	t.Run("DryRun changes nothing", func(t *testing.T) {
		unchanged(t, s.Client, func() {
			out, err := s.Client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
				FunctionName: aws.String("fx"), ZipFile: newZip, DryRun: true, RevisionId: cur.RevisionId,
			})
			if err != nil {
				t.Fatalf("DryRun: %v", err)
			}
			if aws.ToString(out.CodeSha256) != aws.ToString(cur.CodeSha256) || aws.ToString(out.RevisionId) != aws.ToString(cur.RevisionId) ||
				aws.ToString(out.Version) != "$LATEST" {
				t.Errorf("DryRun answered %s/%s/%s, want the current %s/%s/$LATEST", aws.ToString(out.CodeSha256), aws.ToString(out.RevisionId),
					aws.ToString(out.Version), aws.ToString(cur.CodeSha256), aws.ToString(cur.RevisionId))
			}
			// DryRun with Publish publishes nothing either.
			if _, err := s.Client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
				FunctionName: aws.String("fx"), ZipFile: newZip, DryRun: true, Publish: true,
			}); err != nil {
				t.Fatalf("DryRun+Publish: %v", err)
			}
		})
	})

	t.Run("current RevisionId accepted", func(t *testing.T) {
		out, err := s.Client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String("fx"), RevisionId: cur.RevisionId, Description: aws.String("next"),
		})
		if err != nil {
			t.Fatalf("UpdateFunctionConfiguration with the current RevisionId: %v", err)
		}
		// The old RevisionId is stale now.
		_, err = s.Client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("fx"), ZipFile: newZip, RevisionId: cur.RevisionId})
		precondition().sdk(t, err)
		if _, err := s.Client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("fx"), ZipFile: newZip, RevisionId: out.RevisionId}); err != nil {
			t.Fatalf("UpdateFunctionCode with the current RevisionId: %v", err)
		}
	})
}

// --- PublishVersion / DeleteFunction ----------------------------------------------------
