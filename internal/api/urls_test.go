package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
)

// Texts from the reference (docs/behaviour/function-urls.md), not from the server.
const (
	patURLName       = `(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]{1,64})(:((?!\d+$)[0-9a-zA-Z-_]+))?`
	patURLQualifier  = `((?!^\d+$)^[0-9a-zA-Z-_]+$)`
	msgURLNoFunction = "Function does not exist"
	msgURLNoResource = "The resource you requested does not exist."
)

var reFunctionURL = regexp.MustCompile(`^http://([a-z0-9]{32})\.lambda-url\.us-east-1\.localhost:(\d+)/$`)

// urlID checks a FunctionUrl's form and returns its id.
func urlID(t *testing.T, s *servertest.Server, u *string) string {
	t.Helper()
	m := reFunctionURL.FindStringSubmatch(aws.ToString(u))
	if m == nil {
		t.Fatalf("FunctionUrl %q does not have the documented form", aws.ToString(u))
	}
	if !strings.HasSuffix(s.Addr(), ":"+m[2]) {
		t.Fatalf("FunctionUrl %q does not name the server's port (%s)", aws.ToString(u), s.Addr())
	}
	return m[1]
}

func TestFunctionURLConfigs(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c, ctx := s.Client, context.Background()
	ok := setupOK(t)
	mustCreate(t, c, "urlfn", nil)
	ok(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("urlfn")}))
	ok(c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("urlfn"), Name: aws.String("live"), FunctionVersion: aws.String("1")}))

	cr, err := c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{
		FunctionName: aws.String("urlfn"), AuthType: types.FunctionUrlAuthTypeNone,
	})
	if err != nil {
		t.Fatal(err)
	}
	id := urlID(t, s, cr.FunctionUrl)
	if aws.ToString(cr.FunctionArn) != arnPrefix+"urlfn" || cr.AuthType != types.FunctionUrlAuthTypeNone || cr.InvokeMode != "" || cr.Cors != nil {
		t.Fatalf("create: %+v", cr)
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`).MatchString(aws.ToString(cr.CreationTime)) {
		t.Fatalf("CreationTime %q", aws.ToString(cr.CreationTime))
	}

	// Alias URL with everything set.
	ca, err := c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{
		FunctionName: aws.String("urlfn"), Qualifier: aws.String("live"), AuthType: types.FunctionUrlAuthTypeAwsIam,
		InvokeMode: types.InvokeModeResponseStream,
		Cors:       &types.Cors{AllowOrigins: []string{"https://example.com"}, AllowMethods: []string{"GET", "POST"}, MaxAge: aws.Int32(60), AllowCredentials: aws.Bool(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	aliasID := urlID(t, s, ca.FunctionUrl)
	if aliasID == id || aws.ToString(ca.FunctionArn) != arnPrefix+"urlfn:live" || ca.InvokeMode != types.InvokeModeResponseStream ||
		ca.Cors == nil || aws.ToInt32(ca.Cors.MaxAge) != 60 || !aws.ToBool(ca.Cors.AllowCredentials) {
		t.Fatalf("alias create: %+v", ca)
	}

	// The data plane finds the URL by its id (the registry's index follows
	// the documents): known but not public is the policy 403, not the
	// unknown-id one.
	urlAnswer := func(id string) string {
		resp, err := http.Get(s.URL() + "/_lambda-url/" + id + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := urlAnswer(id); !strings.Contains(got, "Forbidden.") {
		t.Fatalf("new URL answered %s", got)
	}

	g, err := c.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("urlfn")})
	if err != nil {
		t.Fatal(err)
	}
	if urlID(t, s, g.FunctionUrl) != id || g.InvokeMode != types.InvokeModeBuffered || g.LastModifiedTime == nil {
		t.Fatalf("get: %+v", g)
	}

	// Update: partial; the id stays; InvokeMode stays once set.
	u, err := c.UpdateFunctionUrlConfig(ctx, &lambda.UpdateFunctionUrlConfigInput{
		FunctionName: aws.String("urlfn"), Qualifier: aws.String("live"), AuthType: types.FunctionUrlAuthTypeNone,
	})
	if err != nil {
		t.Fatal(err)
	}
	if urlID(t, s, u.FunctionUrl) != aliasID || u.InvokeMode != types.InvokeModeResponseStream || u.AuthType != types.FunctionUrlAuthTypeNone ||
		u.Cors == nil || len(u.Cors.AllowMethods) != 2 || u.LastModifiedTime == nil {
		t.Fatalf("update: %+v", u)
	}
	u2, err := c.UpdateFunctionUrlConfig(ctx, &lambda.UpdateFunctionUrlConfigInput{FunctionName: aws.String("urlfn")})
	if err != nil {
		t.Fatal(err)
	}
	if u2.InvokeMode != "" || urlID(t, s, u2.FunctionUrl) != id {
		t.Fatalf("empty update of a URL without InvokeMode: %+v", u2)
	}

	l, err := c.ListFunctionUrlConfigs(ctx, &lambda.ListFunctionUrlConfigsInput{FunctionName: aws.String("urlfn")})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.FunctionUrlConfigs) != 2 || urlID(t, s, l.FunctionUrlConfigs[0].FunctionUrl) != id ||
		aws.ToString(l.FunctionUrlConfigs[1].FunctionArn) != arnPrefix+"urlfn:live" || l.FunctionUrlConfigs[0].InvokeMode != types.InvokeModeBuffered {
		t.Fatalf("list: %+v", l.FunctionUrlConfigs)
	}
	p1, err := c.ListFunctionUrlConfigs(ctx, &lambda.ListFunctionUrlConfigsInput{FunctionName: aws.String("urlfn"), MaxItems: aws.Int32(1)})
	if err != nil || len(p1.FunctionUrlConfigs) != 1 || p1.NextMarker == nil {
		t.Fatalf("page 1: %+v %v", p1, err)
	}
	p2, err := c.ListFunctionUrlConfigs(ctx, &lambda.ListFunctionUrlConfigsInput{FunctionName: aws.String("urlfn"), Marker: p1.NextMarker})
	if err != nil || len(p2.FunctionUrlConfigs) != 1 || p2.NextMarker != nil {
		t.Fatalf("page 2: %+v %v", p2, err)
	}

	// Delete without a qualifier deletes only the $LATEST URL; a new one
	// gets a new id.
	ok(c.DeleteFunctionUrlConfig(ctx, &lambda.DeleteFunctionUrlConfigInput{FunctionName: aws.String("urlfn")}))
	if _, err := c.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("urlfn")}); err == nil {
		t.Fatal("URL still there after delete")
	}
	if _, err := c.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("urlfn"), Qualifier: aws.String("live")}); err != nil {
		t.Fatalf("alias URL gone with the $LATEST one: %v", err)
	}
	again, err := c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("urlfn"), AuthType: types.FunctionUrlAuthTypeNone})
	if err != nil {
		t.Fatal(err)
	}
	if urlID(t, s, again.FunctionUrl) == id {
		t.Fatal("delete + create reused the url id")
	}
	if got := urlAnswer(id); got != `{"Message":null}` {
		t.Fatalf("deleted URL answered %s", got)
	}

	// Deleting the alias deletes its URL; deleting the function all.
	ok(c.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("urlfn"), Name: aws.String("live")}))
	ok(c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("urlfn"), Name: aws.String("live"), FunctionVersion: aws.String("1")}))
	if _, err := c.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("urlfn"), Qualifier: aws.String("live")}); err == nil {
		t.Fatal("alias URL survived the alias")
	}
	ok(c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("urlfn")}))
	mustCreate(t, c, "urlfn", nil)
	l, err = c.ListFunctionUrlConfigs(ctx, &lambda.ListFunctionUrlConfigsInput{FunctionName: aws.String("urlfn")})
	if err != nil || len(l.FunctionUrlConfigs) != 0 || l.FunctionUrlConfigs == nil {
		t.Fatalf("list after recreate: %+v %v", l, err)
	}
}

func TestFunctionURLConfigErrors(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c, ctx := s.Client, context.Background()
	ok := setupOK(t)
	mustCreate(t, c, "uf", nil)
	ok(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("uf")}))
	ok(c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("uf"), Name: aws.String("a"), FunctionVersion: aws.String("1")}))
	ok(c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("uf"), AuthType: types.FunctionUrlAuthTypeNone}))
	none := types.FunctionUrlAuthTypeNone
	qual := func(v string) want { return validation(one(q(v), "qualifier", pattern(patURLQualifier))) }
	create := func(name, qualifier string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String(name), AuthType: none}
			if qualifier != "" {
				in.Qualifier = aws.String(qualifier)
			}
			_, err := c.CreateFunctionUrlConfig(ctx, in)
			return err
		}
	}
	get := func(name, qualifier string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String(name)}
			if qualifier != "" {
				in.Qualifier = aws.String(qualifier)
			}
			_, err := c.GetFunctionUrlConfig(ctx, in)
			return err
		}
	}
	update := func(name, qualifier string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.UpdateFunctionUrlConfigInput{FunctionName: aws.String(name), AuthType: none}
			if qualifier != "" {
				in.Qualifier = aws.String(qualifier)
			}
			_, err := c.UpdateFunctionUrlConfig(ctx, in)
			return err
		}
	}
	del := func(name, qualifier string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.DeleteFunctionUrlConfigInput{FunctionName: aws.String(name)}
			if qualifier != "" {
				in.Qualifier = aws.String(qualifier)
			}
			_, err := c.DeleteFunctionUrlConfig(ctx, in)
			return err
		}
	}
	existsMsg := "Failed to create function url config for [functionArn = " + arnPrefix + "uf]. Error message:  FunctionUrlConfig exists for this Lambda function"
	run(t, s, []tc{
		{name: "create $LATEST", sdk: create("uf", "$LATEST"), want: qual("$LATEST")},
		{name: "get $LATEST", sdk: get("uf", "$LATEST"), want: qual("$LATEST")},
		{name: "update $LATEST", sdk: update("uf", "$LATEST"), want: qual("$LATEST")},
		{name: "delete $LATEST", sdk: del("uf", "$LATEST"), want: qual("$LATEST")},
		{name: "create version", sdk: create("uf", "1"), want: qual("1")},
		{name: "version of a missing function", sdk: get("nope", "1"), want: qual("1")},
		{name: "version in the name", sdk: get("uf:1", ""), want: validation(one(q("uf:1"), "functionName", pattern(patURLName)))},
		{name: "$LATEST in the name", sdk: create("uf:$LATEST", ""), want: validation(one(q("uf:$LATEST"), "functionName", pattern(patURLName)))},
		{name: "qualifier mismatch create", sdk: create("uf:a", "b"), want: invalid(msgMismatch)},
		{name: "qualifier mismatch get", sdk: get("uf:a", "b"), want: invalid(msgMismatch)},
		{name: "qualifier mismatch update", sdk: update("uf:a", "b"), want: invalid(msgMismatch)},
		{name: "qualifier mismatch delete", sdk: del("uf:a", "b"), want: invalid(msgMismatch)},
		{name: "create missing function", sdk: create("nope", ""), want: notFound(msgURLNoFunction)},
		{name: "create missing function ARN", sdk: create(arnPrefix+"nope", ""), want: notFound(msgURLNoFunction)},
		{name: "get missing function", sdk: get("nope", ""), want: notFound(msgURLNoResource)},
		{name: "update missing function", sdk: update("nope", ""), want: notFound(msgURLNoFunction)},
		{name: "delete missing function", sdk: del("nope", ""), want: notFound(msgURLNoResource)},
		{name: "list missing function", sdk: func(ctx context.Context, c *lambda.Client) error {
			_, err := c.ListFunctionUrlConfigs(ctx, &lambda.ListFunctionUrlConfigsInput{FunctionName: aws.String("nope")})
			return err
		}, want: notFound(msgURLNoFunction)},
		{name: "create missing alias", sdk: create("uf", "zz"), want: notFound(msgURLNoFunction)},
		{name: "get missing alias", sdk: get("uf", "zz"), want: notFound(msgURLNoResource)},
		{name: "update missing alias", sdk: update("uf", "zz"), want: notFound(msgURLNoFunction)},
		{name: "delete missing alias", sdk: del("uf", "zz"), want: notFound(msgURLNoResource)},
		{name: "get no config", sdk: get("uf", "a"), want: notFound(msgURLNoResource)},
		{name: "update no config", sdk: update("uf", "a"), want: notFound(msgURLNoResource)},
		{name: "delete no config", sdk: del("uf", "a"), want: notFound(msgURLNoResource)},
		{name: "exists", sdk: create("uf", ""), want: conflict(existsMsg)},
		{name: "authType missing", raw: &rawReq{method: "POST", target: "/2021-10-31/functions/uf/url?Qualifier=a", body: `{}`},
			want: validation(one("null", "authType", "Member must not be null"))},
		{name: "authType bad", raw: &rawReq{method: "POST", target: "/2021-10-31/functions/uf/url?Qualifier=a", body: `{"AuthType":"OPEN"}`},
			want: validation(one(q("OPEN"), "authType", "Member must satisfy enum value set: [NONE, AWS_IAM]"))},
		{name: "invokeMode bad", raw: &rawReq{method: "POST", target: "/2021-10-31/functions/uf/url?Qualifier=a", body: `{"AuthType":"NONE","InvokeMode":"UNKNOWN"}`},
			want: validation(one(q("UNKNOWN"), "invokeMode", "Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]"))},
		{name: "update invokeMode bad", raw: &rawReq{method: "PUT", target: "/2021-10-31/functions/uf/url", body: `{"InvokeMode":"UNKNOWN"}`},
			want: validation(one(q("UNKNOWN"), "invokeMode", "Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]"))},
		{name: "cors maxAge", raw: &rawReq{method: "POST", target: "/2021-10-31/functions/uf/url?Qualifier=a", body: `{"AuthType":"NONE","Cors":{"MaxAge":86401}}`},
			want: validation(one(q("86401"), "cors.maxAge", "Member must have value less than or equal to 86400"))},
		{name: "cors method length", raw: &rawReq{method: "POST", target: "/2021-10-31/functions/uf/url?Qualifier=a", body: `{"AuthType":"NONE","Cors":{"AllowMethods":["GET","PATCHES"]}}`},
			want: validation(one(q("[GET, PATCHES]"), "cors.allowMethods", "Member must satisfy constraint: [Member must have length less than or equal to 6]"))},
		{name: "cors too many methods", raw: &rawReq{method: "POST", target: "/2021-10-31/functions/uf/url?Qualifier=a", body: `{"AuthType":"NONE","Cors":{"AllowMethods":["A","B","C","D","E","F","G"]}}`},
			want: validation(one(q("[A, B, C, D, E, F, G]"), "cors.allowMethods", "Member must have length less than or equal to 6"))},
		{name: "cors empty origin", raw: &rawReq{method: "POST", target: "/2021-10-31/functions/uf/url?Qualifier=a", body: `{"AuthType":"NONE","Cors":{"AllowOrigins":[""]}}`},
			want: validation(one(q("[]"), "cors.allowOrigins", "Member must satisfy constraint: [Member must have length greater than or equal to 1]"))},
		{name: "bad json", raw: &rawReq{method: "POST", target: "/2021-10-31/functions/uf/url?Qualifier=a", body: `{"AuthType":`}, want: badContent()},
	})
}

// TestPolicies covers AddPermission, GetPolicy and RemovePermission.
func TestPolicies(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c, ctx := s.Client, context.Background()
	ok := setupOK(t)
	mustCreate(t, c, "pf", nil)
	ok(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("pf")}))
	ok(c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("pf"), Name: aws.String("live"), FunctionVersion: aws.String("1")}))
	before, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("pf")})
	if err != nil {
		t.Fatal(err)
	}

	add, err := c.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String("pf"), StatementId: aws.String("urlPermission"), Action: aws.String("lambda:InvokeFunctionUrl"),
		Principal: aws.String("*"), FunctionUrlAuthType: types.FunctionUrlAuthTypeNone,
	})
	if err != nil {
		t.Fatal(err)
	}
	wantSt := `{"Sid":"urlPermission","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"` + arnPrefix + `pf","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"}}}`
	if aws.ToString(add.Statement) != wantSt {
		t.Fatalf("statement\n got %s\nwant %s", aws.ToString(add.Statement), wantSt)
	}
	add2, err := c.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String("pf"), StatementId: aws.String("invoke"), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("*"), InvokedViaFunctionUrl: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(aws.ToString(add2.Statement), `"Condition":{"Bool":{"lambda:InvokedViaFunctionUrl":"true"}}`) {
		t.Fatalf("statement %s", aws.ToString(add2.Statement))
	}
	gp, err := c.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("pf")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(aws.ToString(gp.Policy), `{"Version":"2012-10-17","Id":"default","Statement":[`+wantSt+`,{"Sid":"invoke"`) {
		t.Fatalf("policy %s", aws.ToString(gp.Policy))
	}
	after, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("pf")})
	if err != nil {
		t.Fatal(err)
	}
	if rev := aws.ToString(after.Configuration.RevisionId); rev == aws.ToString(before.Configuration.RevisionId) || rev != aws.ToString(gp.RevisionId) {
		t.Fatalf("RevisionId: before %s, after %s, policy %s", aws.ToString(before.Configuration.RevisionId), rev, aws.ToString(gp.RevisionId))
	}

	// Principals and conditions as AWS renders them; alias and version policies.
	cases := []struct {
		in   lambda.AddPermissionInput
		want string
	}{
		{lambda.AddPermissionInput{Principal: aws.String("s3.amazonaws.com"), SourceArn: aws.String("arn:aws:s3:::bucket"), SourceAccount: aws.String("111122223333"), Qualifier: aws.String("live")},
			`"Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"` + arnPrefix + `pf:live","Condition":{"StringEquals":{"AWS:SourceAccount":"111122223333"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::bucket"}}}`},
		{lambda.AddPermissionInput{Principal: aws.String("111122223333"), Qualifier: aws.String("1")},
			`"Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"lambda:InvokeFunction","Resource":"` + arnPrefix + `pf:1"}`},
		{lambda.AddPermissionInput{Principal: aws.String("arn:aws:iam::111122223333:role/r")},
			`"Principal":{"AWS":"arn:aws:iam::111122223333:role/r"},"Action":"lambda:InvokeFunction","Resource":"` + arnPrefix + `pf"}`},
	}
	for i, tc := range cases {
		in := tc.in
		in.FunctionName, in.StatementId, in.Action = aws.String("pf"), aws.String("s"+string(rune('0'+i))), aws.String("lambda:InvokeFunction")
		out, err := c.AddPermission(ctx, &in)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(aws.ToString(out.Statement), tc.want) {
			t.Errorf("statement %s\nwant suffix %s", aws.ToString(out.Statement), tc.want)
		}
	}
	ga, err := c.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("pf"), Qualifier: aws.String("live")})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Statement []json.RawMessage }
	if err := json.Unmarshal([]byte(aws.ToString(ga.Policy)), &doc); err != nil || len(doc.Statement) != 1 {
		t.Fatalf("alias policy %s: %v", aws.ToString(ga.Policy), err)
	}
	alias, _ := c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("pf"), Name: aws.String("live")})
	if aws.ToString(alias.RevisionId) != aws.ToString(ga.RevisionId) {
		t.Fatalf("alias policy revision %s, alias %s", aws.ToString(ga.RevisionId), aws.ToString(alias.RevisionId))
	}

	// RevisionId: a stale one is refused, the current one accepted.
	_, err = c.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("pf"), StatementId: aws.String("invoke"), RevisionId: aws.String(aws.ToString(before.Configuration.RevisionId))})
	precondition().sdk(t, err)
	cur, _ := c.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("pf")})
	ok(c.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("pf"), StatementId: aws.String("invoke"), RevisionId: cur.RevisionId}))
	ok(c.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("pf"), StatementId: aws.String("urlPermission")}))
	ok(c.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("pf"), StatementId: aws.String("s2")}))
	_, err = c.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("pf")})
	notFound(msgURLNoResource).sdk(t, err)

	// Errors.
	addp := func(name, sid, qualifier, principal string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.AddPermissionInput{FunctionName: aws.String(name), StatementId: aws.String(sid), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String(principal)}
			if qualifier != "" {
				in.Qualifier = aws.String(qualifier)
			}
			_, err := c.AddPermission(ctx, in)
			return err
		}
	}
	remove := func(name, sid, qualifier string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.RemovePermissionInput{FunctionName: aws.String(name), StatementId: aws.String(sid)}
			if qualifier != "" {
				in.Qualifier = aws.String(qualifier)
			}
			_, err := c.RemovePermission(ctx, in)
			return err
		}
	}
	getp := func(name, qualifier string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.GetPolicyInput{FunctionName: aws.String(name)}
			if qualifier != "" {
				in.Qualifier = aws.String(qualifier)
			}
			_, err := c.GetPolicy(ctx, in)
			return err
		}
	}
	run(t, s, []tc{
		{name: "duplicate sid", sdk: addp("pf", "s0", "live", "*"),
			want: conflict("The statement id (s0) provided already exists. Please provide a new statement id, or remove the existing statement.")},
		{name: "$LATEST", sdk: addp("pf", "x", "$LATEST", "*"), want: invalid("We currently do not support adding policies for $LATEST.")},
		{name: "missing function", sdk: addp("nope", "x", "", "*"), want: fnNotFound("nope")},
		{name: "missing alias", sdk: addp("pf", "x", "zz", "*"), want: notFound("Cannot find alias arn: " + arnPrefix + "pf:zz")},
		{name: "missing version", sdk: addp("pf", "x", "9", "*"), want: fnNotFound("pf:9")},
		{name: "bad principal", sdk: addp("pf", "x", "", "someone"), want: invalid("The provided principal was invalid. Please check the principal and try again.")},
		{name: "bad sid", sdk: addp("pf", "a b", "", "*"), want: validation(one(q("a b"), "statementId", pattern(`([a-zA-Z0-9-_]+)`)))},
		{name: "remove no policy", sdk: remove("pf", "x", ""), want: notFound("No policy is associated with the given resource.")},
		{name: "remove unknown sid", sdk: remove("pf", "x", "live"), want: notFound("Statement x is not found in resource policy.")},
		{name: "remove missing function", sdk: remove("nope", "x", ""), want: notFound("No policy found for: " + arnPrefix + "nope")},
		{name: "get no policy", sdk: getp("pf", ""), want: notFound(msgURLNoResource)},
		{name: "get missing function", sdk: getp("nope", ""), want: fnNotFound("nope")},
		{name: "missing action", raw: &rawReq{method: "POST", target: "/2015-03-31/functions/pf/policy", body: `{"StatementId":"x","Principal":"*"}`},
			want: validation(one("null", "action", "Member must not be null"))},
		{name: "bad action", raw: &rawReq{method: "POST", target: "/2015-03-31/functions/pf/policy", body: `{"StatementId":"x","Principal":"*","Action":"s3:GetObject"}`},
			want: validation(one(q("s3:GetObject"), "action", pattern(`(lambda:[*]|lambda:[a-zA-Z]+|[*])`)))},
	})

	// A deleted alias takes its policy with it.
	ok(c.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("pf"), Name: aws.String("live")}))
	ok(c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("pf"), Name: aws.String("live"), FunctionVersion: aws.String("1")}))
	_, err = c.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("pf"), Qualifier: aws.String("live")})
	notFound(msgURLNoResource).sdk(t, err)
}
