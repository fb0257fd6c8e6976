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
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
)

func TestConcurrencyErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	ok := setupOK(t)
	mustCreate(t, s.Client, "fx", nil)
	mustCreate(t, s.Client, "other", nil)
	ctx := context.Background()
	ok(s.Client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("other"), ReservedConcurrentExecutions: aws.Int32(300)}))

	put := func(fn string, n int32) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(fn), ReservedConcurrentExecutions: aws.Int32(n)})
			return err
		}
	}
	get := func(fn string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(fn)})
			return err
		}
	}
	del := func(fn string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String(fn)})
			return err
		}
	}
	run(t, s, []tc{
		{"put/qualified name", put("fx:1", 5), nil, invalid(msgConcQual)},
		{"put/$LATEST", put("fx:$LATEST", 5), nil, invalid(msgConcQual)},
		{"put/qualified ARN", put(arnPrefix+"fx:live", 5), nil, invalid(msgConcQual)},
		{"get/qualified name", get("fx:live"), nil, invalid(msgConcQual)},
		{"delete/qualified name", del("fx:1"), nil, invalid(msgConcQual)},
		{"put/negative", put("fx", -1), nil, validation(one(q("-1"), "reservedConcurrentExecutions", "Member must have value greater than or equal to 0"))},
		{"put/below the unreserved minimum", put("fx", 601), nil, invalid(msgConcMin)},
		{"put/over the account limit", put("fx", 1001), nil, invalid(msgConcMin)},
		{"put/missing function", put("nope", 5), nil, fnNotFound("nope:$LATEST")},
		{"get/missing function", get("nope"), nil, fnNotFound("nope")},
		{"delete/missing function", del("nope"), nil, fnNotFound("nope:$LATEST")},
		{"put/name pattern", put("f.x", 5), nil, validation(one(q("f.x"), "functionName", pattern(patFunctionName)))},
		{"put/ARN of another account", put("arn:aws:lambda:us-east-1:111111111111:function:fx", 5), nil, denied()},
		{"put/member missing", nil, &rawReq{method: "PUT", target: "/2017-10-31/functions/fx/concurrency", body: `{}`},
			validation(one("null", "reservedConcurrentExecutions", "Member must not be null"))},
		{"put/member is a string", nil, &rawReq{method: "PUT", target: "/2017-10-31/functions/fx/concurrency", body: `{"ReservedConcurrentExecutions":"5"}`}, badContent()},
	})
	// Exactly the minimum left unreserved is accepted.
	if _, err := s.Client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("fx"), ReservedConcurrentExecutions: aws.Int32(600)}); err != nil {
		t.Fatalf("reserving down to the minimum: %v", err)
	}
}

// --- List operations ---------------------------------------------------------------

func TestListErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	mustCreate(t, s.Client, "fx", nil)
	listFunctions := func(in lambda.ListFunctionsInput) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.ListFunctions(ctx, &in)
			return err
		}
	}
	listVersions := func(fn string, in lambda.ListVersionsByFunctionInput) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in.FunctionName = aws.String(fn)
			_, err := c.ListVersionsByFunction(ctx, &in)
			return err
		}
	}
	min1 := func(v string) want {
		return validation(one(q(v), "maxItems", "Member must have value greater than or equal to 1"))
	}
	max10000 := validation(one(q("10001"), "maxItems", "Member must have value less than or equal to 10000"))
	notInt := want{code: errValidation, status: 400, free: true, prefix: "1 validation error detected: Value 'abc' at 'maxItems' failed to satisfy constraint: "}

	run(t, s, []tc{
		{"functions/MaxItems 0", listFunctions(lambda.ListFunctionsInput{MaxItems: aws.Int32(0)}), nil, min1("0")},
		{"functions/MaxItems -1", listFunctions(lambda.ListFunctionsInput{MaxItems: aws.Int32(-1)}), nil, min1("-1")},
		{"functions/MaxItems 10001", listFunctions(lambda.ListFunctionsInput{MaxItems: aws.Int32(10001)}), nil, max10000},
		{"functions/MaxItems abc", nil, &rawReq{method: "GET", target: "/2015-03-31/functions?MaxItems=abc"}, notInt},
		{"functions/FunctionVersion", listFunctions(lambda.ListFunctionsInput{FunctionVersion: "LATEST"}), nil,
			validation(one(q("LATEST"), "functionVersion", "Member must satisfy enum value set: [ALL]"))},
		{"functions/unknown Marker", listFunctions(lambda.ListFunctionsInput{Marker: aws.String("not a marker!")}), nil, invalidAny()},
		{"functions/MasterRegion without ALL", listFunctions(lambda.ListFunctionsInput{MasterRegion: aws.String("us-east-1")}), nil, invalidAny()},
		{"versions/MaxItems 0", listVersions("fx", lambda.ListVersionsByFunctionInput{MaxItems: aws.Int32(0)}), nil, min1("0")},
		{"versions/MaxItems 10001", listVersions("fx", lambda.ListVersionsByFunctionInput{MaxItems: aws.Int32(10001)}), nil, max10000},
		{"versions/MaxItems abc", nil, &rawReq{method: "GET", target: "/2015-03-31/functions/fx/versions?MaxItems=abc"}, notInt},
		{"versions/unknown Marker", listVersions("fx", lambda.ListVersionsByFunctionInput{Marker: aws.String("@@")}), nil, invalidAny()},
		{"versions/missing function", listVersions("nope", lambda.ListVersionsByFunctionInput{}), nil, fnNotFound("nope")},
		{"versions/qualified name", listVersions("fx:1", lambda.ListVersionsByFunctionInput{}), nil, invalidAny()},
		{"versions/ARN of another region", listVersions("arn:aws:lambda:us-west-1:000000000000:function:fx", lambda.ListVersionsByFunctionInput{}), nil,
			notFound("Functions from 'us-west-1' are not reachable in this region ('us-east-1')")},
	})

	// MasterRegion with ALL: lambada has no replicas.
	out, err := s.Client.ListFunctions(context.Background(), &lambda.ListFunctionsInput{MasterRegion: aws.String("us-east-1"), FunctionVersion: types.FunctionVersionAll})
	if err != nil || len(out.Functions) != 0 {
		t.Fatalf("MasterRegion with ALL: %v %+v", err, out)
	}
}

// --- routing and SigV4 through the whole server ---------------------------------------------

func TestUnknownOperationAndSignatureErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	mustCreate(t, s.Client, "fx", nil)
	unknown := want{code: "UnknownOperationException", status: 404, msg: msgUnknownOp}

	cases := []tc{
		{"unknown path", nil, &rawReq{method: "GET", target: "/2015-03-31/nothing"}, unknown},
		{"unknown date prefix", nil, &rawReq{method: "GET", target: "/2015-03-30/functions"}, unknown},
		{"root", nil, &rawReq{method: "GET", target: "/"}, unknown},
		{"unknown method", nil, &rawReq{method: "PATCH", target: "/2015-03-31/functions/fx"}, unknown},
		{"wrong method for the path", nil, &rawReq{method: "POST", target: "/2015-03-31/functions/fx/configuration", body: `{}`}, unknown},
		{"GetFunctionConcurrency on the Put prefix", nil, &rawReq{method: "GET", target: "/2017-10-31/functions/fx/concurrency"}, unknown},
		{"unknown, unsigned", nil, &rawReq{method: "DELETE", target: "/2015-03-31/functions", unsigned: true}, unknown},
		{"no Authorization header", nil, &rawReq{method: "GET", target: "/2015-03-31/functions", unsigned: true},
			want{code: "MissingAuthenticationTokenException", status: 403, msg: msgMissingAuth}},
		{"no Authorization header on CreateFunction", nil, &rawReq{method: "POST", target: "/2015-03-31/functions", unsigned: true,
			body: `{"FunctionName":"new-fn","Role":"` + role + `","Runtime":"provided.al2023","Code":{"ZipFile":"` +
				base64.StdEncoding.EncodeToString(servertest.Zip(t, map[string]string{"bootstrap": "x"})) + `"}}`},
			want{code: "MissingAuthenticationTokenException", status: 403, msg: msgMissingAuth}},
	}
	badClient := func(akid, secret string) *lambda.Client {
		return servertest.NewClient(s.URL(), server.Credentials{AccessKeyID: akid, SecretAccessKey: secret})
	}
	wrongSecret := badClient(s.Creds.AccessKeyID, s.Creds.SecretAccessKey+"x")
	unknownKey := badClient("AKIDUNKNOWN0000000000", s.Creds.SecretAccessKey)
	for _, cl := range []struct {
		name string
		c    *lambda.Client
		want want
	}{
		{"wrong secret", wrongSecret, want{code: "InvalidSignatureException", status: 403, msg: msgBadSig}},
		{"unknown key", unknownKey, want{code: "UnrecognizedClientException", status: 403, msg: msgUnknownKey}},
	} {
		cases = append(cases,
			tc{cl.name + "/ListFunctions", func(ctx context.Context, _ *lambda.Client) error {
				_, err := cl.c.ListFunctions(ctx, &lambda.ListFunctionsInput{})
				return err
			}, nil, cl.want},
			tc{cl.name + "/CreateFunction", func(ctx context.Context, _ *lambda.Client) error {
				_, err := cl.c.CreateFunction(ctx, createInput(t, "new-fn"))
				return err
			}, nil, cl.want},
			tc{cl.name + "/DeleteFunction", func(ctx context.Context, _ *lambda.Client) error {
				_, err := cl.c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("fx")})
				return err
			}, nil, cl.want},
			tc{cl.name + "/UpdateFunctionConfiguration", func(ctx context.Context, _ *lambda.Client) error {
				_, err := cl.c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx"), Timeout: aws.Int32(9)})
				return err
			}, nil, cl.want},
		)
	}
	run(t, s, cases)

	t.Run("unknown operation body", func(t *testing.T) {
		r := call(t, s, rawReq{method: "GET", target: "/2015-03-31/nothing"})
		if string(r.body) != `{"message":"Unknown operation"}` {
			t.Errorf("body %s", r.body)
		}
	})
}

// --- the wire shape, once per category --------------------------------------------

func TestErrorWireShape(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	mustCreate(t, s.Client, "fx", nil)
	zip := base64.StdEncoding.EncodeToString(servertest.Zip(t, map[string]string{"bootstrap": "x"}))
	createBody := func(name string) string {
		return `{"FunctionName":"` + name + `","Role":"` + role + `","Runtime":"provided.al2023","Code":{"ZipFile":"` + zip + `"}}`
	}
	cases := []struct {
		name string
		req  rawReq
		code string
		// members is the exact body; "" for the message means any non-empty text.
		members map[string]string
		status  int
	}{
		{"ValidationException (unmodeled)", rawReq{method: "GET", target: "/2015-03-31/functions?MaxItems=0"}, errValidation,
			map[string]string{"message": one(q("0"), "maxItems", "Member must have value greater than or equal to 1")}, 400},
		{"InvalidParameterValueException", rawReq{method: "DELETE", target: "/2015-03-31/functions/fx?Qualifier=%24LATEST"}, errInvalid,
			map[string]string{"Type": "User", "message": msgDelLatest}, 400},
		{"InvalidRequestContentException", rawReq{method: "POST", target: "/2015-03-31/functions", body: `{`}, errContent,
			map[string]string{"Type": "User", "message": ""}, 400},
		{"ResourceNotFoundException", rawReq{method: "GET", target: "/2015-03-31/functions/nope"}, errNotFound,
			map[string]string{"Type": "User", "Message": "Function not found: " + arnPrefix + "nope"}, 404},
		{"ResourceNotFoundException by ARN", rawReq{method: "GET", target: "/2015-03-31/functions/" + awsEscape(arnPrefix+"nope:$LATEST") + "/configuration"}, errNotFound,
			map[string]string{"Type": "User", "Message": "Function not found: " + arnPrefix + "nope:$LATEST"}, 404},
		{"ResourceConflictException", rawReq{method: "POST", target: "/2015-03-31/functions", body: createBody("fx")}, errConflict,
			map[string]string{"Type": "User", "message": "Function already exist: fx"}, 409},
		{"PreconditionFailedException", rawReq{method: "PUT", target: "/2015-03-31/functions/fx/configuration", body: `{"RevisionId":"x","Timeout":5}`}, errPrecond,
			map[string]string{"Type": "User", "message": msgRevision}, 412},
		{"RequestEntityTooLargeException (unmodeled)", rawReq{method: "POST", target: "/2015-03-31/functions", size: maxCodeBody + 1}, errTooLarge,
			map[string]string{"message": "Request must be smaller than 70167211 bytes for the CreateFunction operation"}, 413},
		{"AccessDeniedException", rawReq{method: "GET", target: "/2015-03-31/functions/" + awsEscape("arn:aws:lambda:us-east-1:111111111111:function:fx")}, errDenied,
			map[string]string{}, 403},
		{"UnknownOperationException", rawReq{method: "GET", target: "/2015-03-31/nothing"}, "UnknownOperationException",
			map[string]string{"message": msgUnknownOp}, 404},
		{"MissingAuthenticationTokenException", rawReq{method: "GET", target: "/2015-03-31/functions", unsigned: true}, "MissingAuthenticationTokenException",
			map[string]string{"message": msgMissingAuth}, 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			unchanged(t, s.Client, func() {
				r := call(t, s, c.req)
				r.commonShape(t)
				if r.status != c.status || r.header.Get("X-Amzn-ErrorType") != c.code {
					t.Errorf("HTTP %d %s, want %d %s", r.status, r.header.Get("X-Amzn-ErrorType"), c.status, c.code)
				}
				body := r.object(t)
				if len(body) != len(c.members) {
					t.Errorf("body %s, want exactly the members %v", r.body, c.members)
				}
				for k, v := range c.members {
					got, ok := body[k].(string)
					if !ok || (v != "" && got != v) || got == "" {
						t.Errorf("member %s = %v, want %q (body %s)", k, body[k], v, r.body)
					}
				}
			})
		})
	}

	// The SDK turns the wire shape into its typed exceptions.
	_, err := s.Client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("nope")})
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) || aws.ToString(rnf.Message) != "Function not found: "+arnPrefix+"nope" || aws.ToString(rnf.Type) != "User" {
		t.Errorf("GetFunction of a missing function: %v", err)
	}
	_, err = s.Client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("fx"), Qualifier: aws.String("$LATEST")})
	var ipv *types.InvalidParameterValueException
	if !errors.As(err, &ipv) || aws.ToString(ipv.Message) != msgDelLatest || aws.ToString(ipv.Type) != "User" {
		t.Errorf("DeleteFunction $LATEST: %v", err)
	}
	_, err = s.Client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx"), RevisionId: aws.String("x")})
	var pf *types.PreconditionFailedException
	if !errors.As(err, &pf) || aws.ToString(pf.Message) != msgRevision {
		t.Errorf("stale RevisionId: %v", err)
	}
	_, err = s.Client.CreateFunction(ctx, createInput(t, "fx"))
	var rc *types.ResourceConflictException
	if !errors.As(err, &rc) || aws.ToString(rc.Message) != "Function already exist: fx" {
		t.Errorf("duplicate CreateFunction: %v", err)
	}
}
