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

	"github.com/lambada-dev/lambada/internal/servertest"
)

func TestPublishAndDeleteErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	ok := setupOK(t)
	ctx := context.Background()
	c := s.Client
	mustCreate(t, c, "fx", nil)
	ok(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fx")}))
	ok(c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx"), Timeout: aws.Int32(10)}))
	ok(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fx")}))
	ok(c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx"), Timeout: aws.Int32(20)}))
	ok(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fx")}))
	ok(c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("fx"), Name: aws.String("live"), FunctionVersion: aws.String("1")}))
	ok(c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("fx"), Name: aws.String("canary"), FunctionVersion: aws.String("1"),
		RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.1}}}))
	latest, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("fx")})
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	sha := aws.ToString(latest.CodeSha256)
	otherSha := base64.StdEncoding.EncodeToString(make([]byte, 32))

	publish := func(fn string, in lambda.PublishVersionInput) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in.FunctionName = aws.String(fn)
			_, err := c.PublishVersion(ctx, &in)
			return err
		}
	}
	del := func(fn, qualifier string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.DeleteFunctionInput{FunctionName: aws.String(fn)}
			if qualifier != "" {
				in.Qualifier = aws.String(qualifier)
			}
			_, err := c.DeleteFunction(ctx, in)
			return err
		}
	}

	run(t, s, []tc{
		// PublishVersion.
		{"publish/stale RevisionId with nothing changed", publish("fx", lambda.PublishVersionInput{RevisionId: aws.String("stale")}), nil, precondition()},
		{"publish/stale RevisionId before CodeSha256", publish("fx", lambda.PublishVersionInput{RevisionId: aws.String("stale"), CodeSha256: aws.String(otherSha)}), nil, precondition()},
		{"publish/CodeSha256 mismatch", publish("fx", lambda.PublishVersionInput{CodeSha256: aws.String(otherSha)}), nil,
			invalid(fmt.Sprintf("CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", otherSha, sha))},
		{"publish/description over 256", publish("fx", lambda.PublishVersionInput{Description: aws.String(strings.Repeat("d", 257))}), nil,
			validation(one(q(strings.Repeat("d", 257)), "description", "Member must have length less than or equal to 256"))},
		{"publish/qualified name", publish("fx:1", lambda.PublishVersionInput{}), nil, invalidAny()},
		{"publish/missing function", publish("nope", lambda.PublishVersionInput{}), nil, fnNotFound("nope")},
		{"publish/name pattern", publish("fx fx", lambda.PublishVersionInput{}), nil, validation(one(q("fx fx"), "functionName", pattern(patFunctionName)))},
		{"publish/malformed JSON", nil, &rawReq{method: "POST", target: "/2015-03-31/functions/fx/versions", body: `{"CodeSha256"`}, badContent()},
		{"publish/nothing changed returns the newest version", func(ctx context.Context, c *lambda.Client) error {
			out, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fx"), RevisionId: latest.RevisionId, CodeSha256: aws.String(sha)})
			if err == nil && aws.ToString(out.Version) != "3" {
				return fmt.Errorf("got version %s, want 3 again", aws.ToString(out.Version))
			}
			return err
		}, nil, want{}},

		// DeleteFunction: qualifier rules come before the lookup.
		{"delete/$LATEST", del("fx", "$LATEST"), nil, invalid(msgDelLatest)},
		{"delete/$LATEST in name", del("fx:$LATEST", ""), nil, invalid(msgDelLatest)},
		{"delete/$LATEST of a missing function", del("nope", "$LATEST"), nil, invalid(msgDelLatest)},
		{"delete/alias", del("fx", "live"), nil, invalid(msgDelAlias)},
		{"delete/alias in name", del("fx:live", ""), nil, invalid(msgDelAlias)},
		{"delete/alias of a missing function", del("nope:live", ""), nil, invalid(msgDelAlias)},
		{"delete/qualifier mismatch", del("fx:1", "2"), nil, invalid(msgMismatch)},
		{"delete/qualifier pattern", del("fx", "v 1"), nil, validation(one(q("v 1"), "qualifier", pattern(patQualifier)))},
		{"delete/name pattern", del("fx:$latest", ""), nil, validation(one(q("fx:$latest"), "functionName", pattern(patNamespaced)))},
		{"delete/missing function", del("nope", ""), nil, fnNotFound("nope")},
		{"delete/missing function with a version", del("nope", "3"), nil, fnNotFound("nope")},
		{"delete/missing function with a version in the name", del("nope:3", ""), nil, fnNotFound("nope")},
		{"delete/ARN of another region", del("arn:aws:lambda:ap-south-1:000000000000:function:fx", ""), nil,
			notFound("Functions from 'ap-south-1' are not reachable in this region ('us-east-1')")},
		{"delete/ARN of another account", del("arn:aws:lambda:us-east-1:222222222222:function:fx", ""), nil, denied()},
		{"delete/version referenced by aliases", del("fx", "1"), nil,
			conflict("Unable to delete version because the following aliases reference it: [canary, live]")},
		{"delete/version referenced by weights", del("fx", "2"), nil,
			conflict("Unable to delete version because the following aliases reference it: [canary]")},
		{"delete/missing version is 204", del("fx", "99"), nil, want{}},
	})
}

// --- aliases ------------------------------------------------------------------

func TestAliasErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	ok := setupOK(t)
	ctx := context.Background()
	c := s.Client
	mustCreate(t, c, "fx", nil)
	ok(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fx")}))
	ok(c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx"), Timeout: aws.Int32(10)}))
	ok(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fx")}))
	live, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("fx"), Name: aws.String("live"), FunctionVersion: aws.String("1")})
	if err != nil {
		t.Fatalf("setup: %v", err)
	}

	type weights = map[string]float64
	createAlias := func(fn, name, version string, w weights) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.CreateAliasInput{FunctionName: aws.String(fn), Name: aws.String(name), FunctionVersion: aws.String(version)}
			if w != nil {
				in.RoutingConfig = &types.AliasRoutingConfiguration{AdditionalVersionWeights: w}
			}
			_, err := c.CreateAlias(ctx, in)
			return err
		}
	}
	updateAlias := func(name string, version *string, w weights, rev *string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.UpdateAliasInput{FunctionName: aws.String("fx"), Name: aws.String(name), FunctionVersion: version, RevisionId: rev}
			if w != nil {
				in.RoutingConfig = &types.AliasRoutingConfiguration{AdditionalVersionWeights: w}
			}
			_, err := c.UpdateAlias(ctx, in)
			return err
		}
	}
	getAlias := func(fn, name string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(fn), Name: aws.String(name)})
			return err
		}
	}
	deleteAlias := func(name string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("fx"), Name: aws.String(name)})
			return err
		}
	}
	listAliases := func(fn, version string, maxItems *int32) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.ListAliasesInput{FunctionName: aws.String(fn), MaxItems: maxItems}
			if version != "" {
				in.FunctionVersion = aws.String(version)
			}
			_, err := c.ListAliases(ctx, in)
			return err
		}
	}
	const wpath = "routingConfig.additionalVersionWeights"
	aliasARN := arnPrefix + "fx:"

	run(t, s, []tc{
		// CreateAlias: names.
		{"create/all-digit name", createAlias("fx", "123", "1", nil), nil, validation(one(q("123"), "name", pattern(patAlias)))},
		{"create/name pattern", createAlias("fx", "a.b", "1", nil), nil, validation(one(q("a.b"), "name", pattern(patAlias)))},
		{"create/name over 128", createAlias("fx", strings.Repeat("n", 129), "1", nil), nil,
			validation(one(q(strings.Repeat("n", 129)), "name", "Member must have length less than or equal to 128"))},
		{"create/FunctionVersion pattern", createAlias("fx", "beta", "latest", nil), nil, validation(one(q("latest"), "functionVersion", pattern(patVersion)))},
		{"create/required members missing", nil, &rawReq{method: "POST", target: "/2015-03-31/functions/fx/aliases", body: `{}`},
			validation("2 validation errors detected: " + viol("null", "name", "Member must not be null") + "; " + viol("null", "functionVersion", "Member must not be null"))},
		{"create/malformed JSON", nil, &rawReq{method: "POST", target: "/2015-03-31/functions/fx/aliases", body: `{"Name":"beta"`}, badContent()},
		{"create/weight is a string", nil, &rawReq{method: "POST", target: "/2015-03-31/functions/fx/aliases",
			body: `{"Name":"beta","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":"half"}}}`}, badContent()},
		{"create/exists", createAlias("fx", "live", "2", nil), nil, conflict("Alias already exists: " + aliasARN + "live")},
		{"create/qualified function name", createAlias("fx:1", "beta", "1", nil), nil, invalidAny()},
		{"create/missing function", createAlias("nope", "beta", "1", nil), nil, fnNotFound("nope:1")},
		{"create/missing function, $LATEST", createAlias("nope", "beta", "$LATEST", nil), nil, fnNotFound("nope:$LATEST")},
		{"create/missing version", createAlias("fx", "beta", "9", nil), nil, fnNotFound("fx:9")},

		// RoutingConfig rules in order (docs/behaviour/management.md §7).
		{"routing 1/weight above 1", createAlias("fx", "beta", "1", weights{"3": 1.5}), nil,
			validation(one("'{3=1.5}'", wpath, msgMapValue))},
		{"routing 1/weight below 0", createAlias("fx", "beta", "1", weights{"2": -0.5}), nil,
			validation(one("'{2=-0.5}'", wpath, msgMapValue))},
		{"routing 1/weight null", nil, &rawReq{method: "POST", target: "/2015-03-31/functions/fx/aliases",
			body: `{"Name":"beta","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":null}}}`},
			validation(one("'{2=null}'", wpath, msgMapValue))},
		{"routing 1/key $LATEST", createAlias("fx", "beta", "1", weights{"$LATEST": 0.5}), nil,
			validation(one("'{$LATEST=0.5}'", wpath, msgMapKeys))},
		{"routing 1/key not a number", createAlias("fx", "beta", "1", weights{"live": 0.5}), nil,
			validation(one("'{live=0.5}'", wpath, msgMapKeys))},
		{"routing 1 before 2", createAlias("fx", "beta", "1", weights{"2": 0.5, "3": 1.5}), nil,
			validation(one("'{2=0.5, 3=1.5}'", wpath, msgMapValue))},
		{"routing 1 before 5 (missing function)", createAlias("nope", "beta", "1", weights{"2": 2}), nil,
			validation(one("'{2=2.0}'", wpath, msgMapValue))},
		{"routing 2/two entries", createAlias("fx", "beta", "1", weights{"2": 0.5, "3": 0.25}), nil,
			invalid("Number of items in AdditionalVersionWeights cannot be greater than 1")},
		{"routing 2 before 4", createAlias("fx", "beta", "1", weights{"1": 0.5, "2": 0.25}), nil,
			invalid("Number of items in AdditionalVersionWeights cannot be greater than 1")},
		{"routing 2 before 5", createAlias("nope", "beta", "1", weights{"2": 0.5, "3": 0.25}), nil,
			invalid("Number of items in AdditionalVersionWeights cannot be greater than 1")},
		{"routing 3/$LATEST with weights", createAlias("fx", "beta", "$LATEST", weights{"2": 0.5}), nil,
			invalid("$LATEST is not supported for an alias pointing to more than 1 version")},
		{"routing 3 before 5", createAlias("nope", "beta", "$LATEST", weights{"2": 0.5}), nil,
			invalid("$LATEST is not supported for an alias pointing to more than 1 version")},
		{"routing 4/weighted version is the target", createAlias("fx", "beta", "1", weights{"1": 0.5}), nil,
			invalid("Invalid function version 1. Function version 1 is already included in routing configuration.")},
		{"routing 4 before 5", createAlias("fx", "beta", "9", weights{"9": 0.5}), nil,
			invalid("Invalid function version 9. Function version 9 is already included in routing configuration.")},
		{"routing 5/weighted version missing", createAlias("fx", "beta", "1", weights{"7": 0.5}), nil, fnNotFound("fx:7")},
		{"routing 5/target missing", createAlias("fx", "beta", "8", weights{"2": 0.5}), nil, fnNotFound("fx:8")},
		{"routing 5/function missing", createAlias("nope", "beta", "1", weights{"2": 0.5}), nil, fnNotFound("nope:1")},

		// GetAlias / UpdateAlias / DeleteAlias / ListAliases.
		{"get/missing alias", getAlias("fx", "ghost"), nil, notFound("Cannot find alias arn: " + aliasARN + "ghost")},
		{"get/all-digit name", getAlias("fx", "1"), nil, validation(one(q("1"), "name", pattern(patAlias)))},
		{"get/qualified function name", getAlias("fx:1", "live"), nil, invalidAny()},
		{"get/missing function", getAlias("nope", "live"), nil, want{code: errNotFound, status: 404, free: true}},
		{"update/missing alias", updateAlias("ghost", aws.String("1"), nil, nil), nil, notFound("Alias not found: " + aliasARN + "ghost")},
		{"update/stale RevisionId", updateAlias("live", aws.String("2"), nil, aws.String("stale")), nil, precondition()},
		{"update/FunctionVersion pattern", updateAlias("live", aws.String("v2"), nil, nil), nil, validation(one(q("v2"), "functionVersion", pattern(patVersion)))},
		{"update/missing version", updateAlias("live", aws.String("9"), nil, nil), nil, fnNotFound("fx:9")},
		{"update/routing 1", updateAlias("live", nil, weights{"2": 1.01}, nil), nil, validation(one("'{2=1.01}'", wpath, msgMapValue))},
		{"update/routing 2", updateAlias("live", nil, weights{"2": 0.5, "3": 0.5}, nil), nil,
			invalid("Number of items in AdditionalVersionWeights cannot be greater than 1")},
		{"update/routing 3", updateAlias("live", aws.String("$LATEST"), weights{"2": 0.5}, nil), nil,
			invalid("$LATEST is not supported for an alias pointing to more than 1 version")},
		{"update/routing 4 against the current target", updateAlias("live", nil, weights{"1": 0.5}, nil), nil,
			invalid("Invalid function version 1. Function version 1 is already included in routing configuration.")},
		{"update/routing 5", updateAlias("live", nil, weights{"5": 0.5}, nil), nil, fnNotFound("fx:5")},
		{"update/malformed JSON", nil, &rawReq{method: "PUT", target: "/2015-03-31/functions/fx/aliases/live", body: `{`}, badContent()},
		{"delete/missing alias is 204", deleteAlias("ghost"), nil, want{}},
		{"delete/all-digit name", deleteAlias("12"), nil, validation(one(q("12"), "name", pattern(patAlias)))},
		{"list/FunctionVersion pattern", listAliases("fx", "one", nil), nil, validation(one(q("one"), "functionVersion", pattern(patVersion)))},
		{"list/missing function", listAliases("nope", "", nil), nil, fnNotFound("nope")},
		{"list/MaxItems 0", listAliases("fx", "", aws.Int32(0)), nil, validation(one(q("0"), "maxItems", "Member must have value greater than or equal to 1"))},
		{"list/MaxItems 10001", listAliases("fx", "", aws.Int32(10001)), nil, validation(one(q("10001"), "maxItems", "Member must have value less than or equal to 10000"))},
		{"list/MaxItems abc", nil, &rawReq{method: "GET", target: "/2015-03-31/functions/fx/aliases?MaxItems=abc"},
			want{code: errValidation, status: 400, free: true, prefix: "1 validation error detected: Value 'abc' at 'maxItems' failed to satisfy constraint: "}},
		{"list/unknown Marker", nil, &rawReq{method: "GET", target: "/2015-03-31/functions/fx/aliases?Marker=%21%21"}, invalidAny()},
	})

	t.Run("current RevisionId accepted", func(t *testing.T) {
		out, err := c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String("fx"), Name: aws.String("live"), RevisionId: live.RevisionId, Description: aws.String("d")})
		if err != nil {
			t.Fatalf("UpdateAlias with the current RevisionId: %v", err)
		}
		_, err = c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String("fx"), Name: aws.String("live"), RevisionId: live.RevisionId})
		precondition().sdk(t, err)
		if aws.ToString(out.RevisionId) == aws.ToString(live.RevisionId) {
			t.Errorf("RevisionId did not change")
		}
	})
}

// --- reserved concurrency -----------------------------------------------------
