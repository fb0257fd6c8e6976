package api_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/lambada-dev/lambada/internal/servertest"
)

const (
	patTaggable    = `arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`
	msgTagQual     = "Tagging operations are permitted on Lambda functions only. Tags on aliases and versions are not supported. Please specify either a function name or a function ARN."
	msgTagLimit    = "Number of tags exceeds resource tag limit."
	msgTagsEmpty   = "An error occurred and the request cannot be processed."
	msgNoSuchThing = "The resource you requested does not exist."
)

func listTags(t *testing.T, c *lambda.Client, resource string) map[string]string {
	t.Helper()
	out, err := c.ListTags(context.Background(), &lambda.ListTagsInput{Resource: aws.String(resource)})
	if err != nil {
		t.Fatalf("ListTags %s: %v", resource, err)
	}
	if out.Tags == nil {
		t.Fatalf("ListTags %s: no Tags member", resource)
	}
	return out.Tags
}

func TestTags(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()
	arn := arnPrefix + "fx"
	mustCreate(t, c, "fx", func(in *lambda.CreateFunctionInput) { in.Tags = map[string]string{"team": "a", "empty": ""} })
	mustCreate(t, c, "bare", nil)

	g, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fx")})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"team": "a", "empty": ""}; !maps.Equal(g.Tags, want) {
		t.Errorf("GetFunction Tags = %v, want %v", g.Tags, want)
	}
	if got := listTags(t, c, arn); !maps.Equal(got, g.Tags) {
		t.Errorf("ListTags = %v, want %v", got, g.Tags)
	}
	// A function without tags: ListTags {} and no Tags member in GetFunction.
	if got := listTags(t, c, arnPrefix+"bare"); len(got) != 0 {
		t.Errorf("ListTags bare = %v", got)
	}
	if r := call(t, s, rawReq{method: "GET", target: "/2015-03-31/functions/bare"}); strings.Contains(string(r.body), `"Tags"`) {
		t.Errorf("GetFunction of an untagged function has Tags: %s", r.body)
	}
	if r := call(t, s, rawReq{method: "GET", target: "/2017-03-31/tags/" + awsEscape(arnPrefix+"bare")}); string(r.body) != `{"Tags":{}}` {
		t.Errorf("ListTags raw body %s", r.body)
	}

	rev := aws.ToString(g.Configuration.RevisionId)
	if _, err := c.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{"team": "b", "env": "dev"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: []string{"empty", "never-there"}}); err != nil {
		t.Fatal(err)
	}
	if got, want := listTags(t, c, arn), map[string]string{"team": "b", "env": "dev"}; !maps.Equal(got, want) {
		t.Errorf("after tag and untag: %v, want %v", got, want)
	}
	// Tags are metadata: the configuration and its revision stay.
	if g2, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fx")}); err != nil || aws.ToString(g2.Configuration.RevisionId) != rev {
		t.Errorf("RevisionId changed by tagging or GetFunction failed: %v", err)
	}
	// Removing the last tag leaves none.
	if _, err := c.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: []string{"team", "env"}}); err != nil {
		t.Fatal(err)
	}
	if g3, _ := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fx")}); g3 == nil || g3.Tags != nil {
		t.Errorf("GetFunction after removing every tag: %+v", g3)
	}
	// Exactly 50 tags are allowed.
	fifty := map[string]string{}
	for i := range 50 {
		fifty[fmt.Sprintf("k%02d", i)] = "v"
	}
	if _, err := c.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: fifty}); err != nil {
		t.Fatalf("50 tags: %v", err)
	}
	// Deleting the function drops its tags with it.
	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("fx")}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, c, "fx", nil)
	if got := listTags(t, c, arn); len(got) != 0 {
		t.Errorf("a new function of a deleted one's name has its tags: %v", got)
	}
}

func TestTagErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	arn := arnPrefix + "fx"
	mustCreate(t, s.Client, "fx", func(in *lambda.CreateFunctionInput) {
		in.Publish = true
		in.Tags = map[string]string{"keep": "1"}
	})
	tag := func(resource string, tags map[string]string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(resource), Tags: tags})
			return err
		}
	}
	untag := func(resource string, keys ...string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(resource), TagKeys: keys})
			return err
		}
	}
	list := func(resource string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(resource)})
			return err
		}
	}
	many := map[string]string{}
	for i := range 50 {
		many[fmt.Sprintf("k%02d", i)] = "v"
	}
	one1 := map[string]string{"x": "1"}
	run(t, s, []tc{
		{"tag/version ARN", tag(arn+":1", one1), nil, invalid(msgTagQual)},
		{"tag/$LATEST ARN", tag(arn+":$LATEST", one1), nil, invalid(msgTagQual)},
		{"untag/alias ARN", untag(arn+":live", "keep"), nil, invalid(msgTagQual)},
		{"list/version ARN", list(arn + ":1"), nil, invalid(msgTagQual)},
		{"tag/bare name", tag("fx", one1), nil, validation(one(q("fx"), "resource", pattern(patTaggable)))},
		{"list/layer ARN", list("arn:aws:lambda:us-east-1:000000000000:layer:l"), nil,
			validation(one(q("arn:aws:lambda:us-east-1:000000000000:layer:l"), "resource", pattern(patTaggable)))},
		{"tag/missing function", tag(arnPrefix+"nope", one1), nil, fnNotFound("nope")},
		{"list/missing function", list(arnPrefix + "nope"), nil, fnNotFound("nope")},
		{"untag/missing function", untag(arnPrefix+"nope", "k"), nil, fnNotFound("nope")},
		{"tag/other account", tag("arn:aws:lambda:us-east-1:111111111111:function:fx", one1), nil, denied()},
		{"tag/code signing config", tag(cscArn, one1), nil, notFound(msgNoSuchThing)},
		{"tag/51 in all", tag(arn, many), nil, invalid(msgTagLimit)},
		{"tag/aws: prefix", tag(arn, map[string]string{"aws:x": "1"}), nil, invalidAny()},
		{"tag/key too long", tag(arn, map[string]string{strings.Repeat("k", 129): "1"}), nil, invalidAny()},
		{"tag/value too long", tag(arn, map[string]string{"k": strings.Repeat("v", 257)}), nil, invalidAny()},
		{"tag/empty map", nil, &rawReq{method: "POST", target: "/2017-03-31/tags/" + awsEscape(arn), body: `{"Tags":{}}`}, invalid(msgTagsEmpty)},
		{"tag/no Tags", nil, &rawReq{method: "POST", target: "/2017-03-31/tags/" + awsEscape(arn), body: `{}`},
			validation(one("null", "tags", "Member must not be null"))},
		{"untag/no keys", nil, &rawReq{method: "DELETE", target: "/2017-03-31/tags/" + awsEscape(arn)},
			validation(one("null", "tagKeys", "Member must not be null"))},
		{"create/51 tags", func(ctx context.Context, c *lambda.Client) error {
			in := createInput(t, "many")
			in.Tags = maps.Clone(many)
			in.Tags["one-more"] = "v"
			_, err := c.CreateFunction(ctx, in)
			return err
		}, nil, invalid(msgTagLimit)},
	})
	if got := listTags(t, s.Client, arn); !maps.Equal(got, map[string]string{"keep": "1"}) {
		t.Errorf("tags changed by refused requests: %v", got)
	}
}
