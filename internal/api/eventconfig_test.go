package api_test

// The FunctionEventInvokeConfig operations of docs/behaviour/async.md §3
// through the real aws-sdk-go-v2 client (raw signed requests where the SDK
// cannot show the wire): the whole cycle, every validation error, list
// order and pagination, and deletion with the function, version or alias.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
)

// Texts copied from the spec (docs/behaviour/async.md §3).
const (
	patDestinationArn = `$|kafka://([^.]([a-zA-Z0-9\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)`
	msgAtLeastOne     = "You must specify at least one of error handling or destination setting."
	msgNoFunction     = "The function doesn't exist."
	msgSelfDest       = "You can't specify the function as a destination for itself."

	sqsArn    = "arn:aws:sqs:us-east-1:000000000000:queue"
	snsArn    = "arn:aws:sns:us-east-1:000000000000:topic"
	eventsArn = "arn:aws:events:us-east-1:000000000000:event-bus/default"
	s3Arn     = "arn:aws:s3:::bucket"
)

func eicPath(fn string, query ...string) string {
	p := "/2019-09-25/functions/" + awsEscape(fn) + "/event-invoke-config"
	if len(query) > 0 {
		p += "?" + strings.Join(query, "&")
	}
	return p
}

func noConfig(arnSuffix string) want {
	return notFound("The function " + arnPrefix + arnSuffix + " doesn't have an EventInvokeConfig")
}

func dests(onSuccess, onFailure *string) *types.DestinationConfig {
	d := &types.DestinationConfig{}
	if onSuccess != nil {
		d.OnSuccess = &types.OnSuccess{Destination: onSuccess}
	}
	if onFailure != nil {
		d.OnFailure = &types.OnFailure{Destination: onFailure}
	}
	return d
}

// eicState renders every stored event-invoke config of every function, so
// a refused call can be shown to have stored nothing.
func eicState(t *testing.T, c *lambda.Client) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	b.WriteString(snapshot(t, c))
	fp := lambda.NewListFunctionsPaginator(c, &lambda.ListFunctionsInput{})
	for fp.HasMorePages() {
		out, err := fp.NextPage(ctx)
		if err != nil {
			t.Fatalf("eicState: ListFunctions: %v", err)
		}
		for _, f := range out.Functions {
			p := lambda.NewListFunctionEventInvokeConfigsPaginator(c, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: f.FunctionName})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatalf("eicState: ListFunctionEventInvokeConfigs %s: %v", aws.ToString(f.FunctionName), err)
				}
				for _, e := range page.FunctionEventInvokeConfigs {
					b.WriteString(renderEIC(e) + "\n")
				}
			}
		}
	}
	return b.String()
}

func renderEIC(e types.FunctionEventInvokeConfig) string {
	var s, f string
	if d := e.DestinationConfig; d != nil {
		if d.OnSuccess != nil {
			s = "{" + aws.ToString(d.OnSuccess.Destination) + "}"
		}
		if d.OnFailure != nil {
			f = "{" + aws.ToString(d.OnFailure.Destination) + "}"
		}
	}
	var retry, age string = "-", "-"
	if e.MaximumRetryAttempts != nil {
		retry = fmt.Sprint(*e.MaximumRetryAttempts)
	}
	if e.MaximumEventAgeInSeconds != nil {
		age = fmt.Sprint(*e.MaximumEventAgeInSeconds)
	}
	mod := "nil"
	if e.LastModified != nil {
		mod = e.LastModified.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("eic %s retry=%s age=%s ok=%s fail=%s mod=%s", aws.ToString(e.FunctionArn), retry, age, s, f, mod)
}

func runEIC(t *testing.T, s *servertest.Server, cases []tc) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := eicState(t, s.Client)
			if c.raw != nil {
				c.want.raw(t, call(t, s, *c.raw))
			} else {
				c.want.sdk(t, c.sdk(context.Background(), s.Client))
			}
			if after := eicState(t, s.Client); after != before {
				t.Errorf("state changed:\n--- before\n%s--- after\n%s", before, after)
			}
		})
	}
}

// checkEIC compares a returned config with what is expected.
func checkEIC(t *testing.T, e types.FunctionEventInvokeConfig, arn string, retry, age *int32, onSuccess, onFailure string) {
	t.Helper()
	if got := aws.ToString(e.FunctionArn); got != arn {
		t.Errorf("FunctionArn %s, want %s", got, arn)
	}
	if (retry == nil) != (e.MaximumRetryAttempts == nil) || retry != nil && *retry != *e.MaximumRetryAttempts {
		t.Errorf("MaximumRetryAttempts %v, want %v", fmtPtr(e.MaximumRetryAttempts), fmtPtr(retry))
	}
	if (age == nil) != (e.MaximumEventAgeInSeconds == nil) || age != nil && *age != *e.MaximumEventAgeInSeconds {
		t.Errorf("MaximumEventAgeInSeconds %v, want %v", fmtPtr(e.MaximumEventAgeInSeconds), fmtPtr(age))
	}
	d := e.DestinationConfig
	if d == nil || d.OnSuccess == nil || d.OnFailure == nil {
		t.Errorf("DestinationConfig %+v lacks a side", d)
		return
	}
	if got := aws.ToString(d.OnSuccess.Destination); got != onSuccess {
		t.Errorf("OnSuccess %q, want %q", got, onSuccess)
	}
	if got := aws.ToString(d.OnFailure.Destination); got != onFailure {
		t.Errorf("OnFailure %q, want %q", got, onFailure)
	}
	if e.LastModified == nil {
		t.Errorf("no LastModified")
	} else if d := time.Since(*e.LastModified); d < -5*time.Second || d > 5*time.Second {
		t.Errorf("LastModified %v is %v away from now", e.LastModified, d)
	}
}

func fmtPtr(p *int32) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func i32(n int32) *int32 { return &n }

// eicSetup makes function ev with version 1 and alias live → 1, and a
// destination function dest with version 1 and alias blue.
func eicSetup(t *testing.T, c *lambda.Client) {
	t.Helper()
	ok := setupOK(t)
	ctx := context.Background()
	for _, fn := range []string{"ev", "dest"} {
		mustCreate(t, c, fn, nil)
		ok(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(fn)}))
	}
	ok(c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("ev"), Name: aws.String("live"), FunctionVersion: aws.String("1")}))
	ok(c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("dest"), Name: aws.String("blue"), FunctionVersion: aws.String("1")}))
}

func TestEventInvokeConfigCycle(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()
	eicSetup(t, c)
	destArn := arnPrefix + "dest"
	latest := arnPrefix + "ev:$LATEST"

	// Put, unqualified: the config of $LATEST.
	put, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName:         aws.String("ev"),
		MaximumRetryAttempts: aws.Int32(1),
		DestinationConfig:    dests(nil, aws.String(destArn)),
	})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	checkEIC(t, types.FunctionEventInvokeConfig{FunctionArn: put.FunctionArn, LastModified: put.LastModified,
		MaximumRetryAttempts: put.MaximumRetryAttempts, MaximumEventAgeInSeconds: put.MaximumEventAgeInSeconds,
		DestinationConfig: put.DestinationConfig}, latest, i32(1), nil, "", destArn)

	// The wire: LastModified a JSON number with a millisecond fraction,
	// unset settings absent, both destination sides present.
	r := call(t, s, rawReq{method: "GET", target: eicPath("ev")})
	if r.status != 200 {
		t.Fatalf("raw Get: %d %s", r.status, r.body)
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if n, ok := m["LastModified"].(json.Number); !ok {
		t.Errorf("LastModified %#v is not a JSON number: %s", m["LastModified"], r.body)
	} else if f, err := n.Float64(); err != nil || time.Since(time.UnixMilli(int64(f*1000))).Abs() > 5*time.Second {
		t.Errorf("LastModified %s is not epoch seconds of now", n)
	} else if i := strings.IndexByte(n.String(), '.'); i >= 0 && len(n.String())-i-1 > 3 {
		t.Errorf("LastModified %s has more than a millisecond fraction", n)
	}
	if _, ok := m["MaximumEventAgeInSeconds"]; ok {
		t.Errorf("unset MaximumEventAgeInSeconds echoed: %s", r.body)
	}
	if got, _ := json.Marshal(m["DestinationConfig"]); string(got) != `{"OnFailure":{"Destination":"`+destArn+`"},"OnSuccess":{}}` {
		t.Errorf("DestinationConfig %s", got)
	}
	if m["FunctionArn"] != latest {
		t.Errorf("FunctionArn %v", m["FunctionArn"])
	}

	// Get, unqualified and $LATEST, by name and by ARN.
	for _, in := range []*lambda.GetFunctionEventInvokeConfigInput{
		{FunctionName: aws.String("ev")},
		{FunctionName: aws.String("ev"), Qualifier: aws.String("$LATEST")},
		{FunctionName: aws.String("ev:$LATEST")},
		{FunctionName: aws.String(arnPrefix + "ev")},
	} {
		got, err := c.GetFunctionEventInvokeConfig(ctx, in)
		if err != nil {
			t.Fatalf("Get %s %s: %v", aws.ToString(in.FunctionName), aws.ToString(in.Qualifier), err)
		}
		checkEIC(t, types.FunctionEventInvokeConfig{FunctionArn: got.FunctionArn, LastModified: got.LastModified,
			MaximumRetryAttempts: got.MaximumRetryAttempts, MaximumEventAgeInSeconds: got.MaximumEventAgeInSeconds,
			DestinationConfig: got.DestinationConfig}, latest, i32(1), nil, "", destArn)
		if !got.LastModified.Equal(*put.LastModified) {
			t.Errorf("Get LastModified %v, Put said %v", got.LastModified, put.LastModified)
		}
	}

	// Update merges: the new age and OnSuccess join the stored retry and OnFailure.
	upd, err := c.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{
		FunctionName:             aws.String("ev"),
		MaximumEventAgeInSeconds: aws.Int32(120),
		DestinationConfig:        dests(aws.String(sqsArn), nil),
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	checkEIC(t, types.FunctionEventInvokeConfig{FunctionArn: upd.FunctionArn, LastModified: upd.LastModified,
		MaximumRetryAttempts: upd.MaximumRetryAttempts, MaximumEventAgeInSeconds: upd.MaximumEventAgeInSeconds,
		DestinationConfig: upd.DestinationConfig}, latest, i32(1), i32(120), sqsArn, destArn)
	// An Update side given as {} removes that side only.
	upd, err = c.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{
		FunctionName:      aws.String("ev"),
		DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{}},
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	checkEIC(t, types.FunctionEventInvokeConfig{FunctionArn: upd.FunctionArn, LastModified: upd.LastModified,
		MaximumRetryAttempts: upd.MaximumRetryAttempts, MaximumEventAgeInSeconds: upd.MaximumEventAgeInSeconds,
		DestinationConfig: upd.DestinationConfig}, latest, i32(1), i32(120), sqsArn, "")

	// Put replaces the whole config: omitted settings go.
	put, err = c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName:             aws.String("ev"),
		MaximumEventAgeInSeconds: aws.Int32(300),
	})
	if err != nil {
		t.Fatalf("Put again: %v", err)
	}
	checkEIC(t, types.FunctionEventInvokeConfig{FunctionArn: put.FunctionArn, LastModified: put.LastModified,
		MaximumRetryAttempts: put.MaximumRetryAttempts, MaximumEventAgeInSeconds: put.MaximumEventAgeInSeconds,
		DestinationConfig: put.DestinationConfig}, latest, nil, i32(300), "", "")

	// A version and an alias, addressed three ways; every accepted
	// destination kind.
	v1, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("ev"), Qualifier: aws.String("1"),
		MaximumRetryAttempts: aws.Int32(0), MaximumEventAgeInSeconds: aws.Int32(60),
		DestinationConfig: dests(aws.String(snsArn), aws.String(s3Arn)),
	})
	if err != nil {
		t.Fatalf("Put version: %v", err)
	}
	if aws.ToString(v1.FunctionArn) != arnPrefix+"ev:1" {
		t.Errorf("version FunctionArn %s", aws.ToString(v1.FunctionArn))
	}
	live, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName:         aws.String(arnPrefix + "ev:live"),
		MaximumRetryAttempts: aws.Int32(2), MaximumEventAgeInSeconds: aws.Int32(21600),
		DestinationConfig: dests(aws.String(eventsArn), aws.String(destArn+":blue")),
	})
	if err != nil {
		t.Fatalf("Put alias: %v", err)
	}
	if aws.ToString(live.FunctionArn) != arnPrefix+"ev:live" {
		t.Errorf("alias FunctionArn %s", aws.ToString(live.FunctionArn))
	}
	for _, d := range []string{destArn + ":1", destArn + ":$LATEST", sqsArn} {
		if _, err := c.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{
			FunctionName: aws.String("ev"), Qualifier: aws.String("live"),
			DestinationConfig: dests(aws.String(d), nil),
		}); err != nil {
			t.Errorf("Update alias OnSuccess=%s: %v", d, err)
		}
	}
	got, err := c.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("ev:live")})
	if err != nil {
		t.Fatalf("Get alias: %v", err)
	}
	checkEIC(t, types.FunctionEventInvokeConfig{FunctionArn: got.FunctionArn, LastModified: got.LastModified,
		MaximumRetryAttempts: got.MaximumRetryAttempts, MaximumEventAgeInSeconds: got.MaximumEventAgeInSeconds,
		DestinationConfig: got.DestinationConfig}, arnPrefix+"ev:live", i32(2), i32(21600), sqsArn, destArn+":blue")

	// List: $LATEST, versions ascending, aliases by name; one per page.
	var arns []string
	pages := 0
	p := lambda.NewListFunctionEventInvokeConfigsPaginator(c, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("ev")},
		func(o *lambda.ListFunctionEventInvokeConfigsPaginatorOptions) {
			o.Limit = 1
			o.StopOnDuplicateToken = true
		})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("List page %d: %v", pages, err)
		}
		pages++
		if len(page.FunctionEventInvokeConfigs) != 1 {
			t.Errorf("page %d holds %d configs", pages, len(page.FunctionEventInvokeConfigs))
		}
		for _, e := range page.FunctionEventInvokeConfigs {
			arns = append(arns, aws.ToString(e.FunctionArn))
		}
		if pages > 5 {
			t.Fatal("paginator does not stop")
		}
	}
	if want := []string{latest, arnPrefix + "ev:1", arnPrefix + "ev:live"}; fmt.Sprint(arns) != fmt.Sprint(want) {
		t.Errorf("listed %v, want %v", arns, want)
	}
	// The same walk raw: NextMarker present while more follow, absent on the last page.
	marker := ""
	for i := range 3 {
		target := eicPath("ev") + "/list?MaxItems=1"
		if marker != "" {
			target += "&Marker=" + url.QueryEscape(marker)
		}
		r := call(t, s, rawReq{method: "GET", target: target})
		var body struct {
			FunctionEventInvokeConfigs []map[string]any
			NextMarker                 *string
		}
		if r.status != 200 || json.Unmarshal(r.body, &body) != nil {
			t.Fatalf("raw List: %d %s", r.status, r.body)
		}
		if last := i == 2; last != (body.NextMarker == nil) {
			t.Errorf("page %d: NextMarker %v (body %s)", i, body.NextMarker, r.body)
		}
		if body.NextMarker != nil {
			if *body.NextMarker == "" || *body.NextMarker == marker {
				t.Fatalf("page %d: NextMarker %q repeats or is empty", i, *body.NextMarker)
			}
			marker = *body.NextMarker
		}
	}
	all, err := c.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("ev")})
	if err != nil || len(all.FunctionEventInvokeConfigs) != 3 || all.NextMarker != nil {
		t.Errorf("List without MaxItems: %v %+v", err, all)
	}
	// A function without configs lists [].
	r = call(t, s, rawReq{method: "GET", target: eicPath("dest") + "/list"})
	if r.status != 200 || string(r.body) != `{"FunctionEventInvokeConfigs":[]}` {
		t.Errorf("empty List: %d %s", r.status, r.body)
	}

	// Delete: 204 with no body, then Get is a 404; the others stay.
	for _, tc := range []struct{ target, suffix string }{
		{eicPath("ev", "Qualifier=%24LATEST"), "ev:$LATEST"},
		{eicPath("ev", "Qualifier=1"), "ev:1"},
		{eicPath("ev:live"), "ev:live"},
	} {
		r := call(t, s, rawReq{method: "DELETE", target: tc.target})
		if r.status != 204 || len(r.body) != 0 {
			t.Errorf("Delete %s: %d %q", tc.suffix, r.status, r.body)
		}
		name, qual, _ := strings.Cut(tc.suffix, ":")
		_, err := c.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String(name), Qualifier: aws.String(qual)})
		noConfig(tc.suffix).sdk(t, err)
	}
	// The SDK's own Delete.
	if _, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("ev"), MaximumRetryAttempts: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteFunctionEventInvokeConfig(ctx, &lambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String("ev")}); err != nil {
		t.Fatalf("SDK Delete: %v", err)
	}
	all, err = c.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("ev")})
	if err != nil || len(all.FunctionEventInvokeConfigs) != 0 {
		t.Errorf("List after deleting all: %v %+v", err, all)
	}
}

func TestEventInvokeConfigCascade(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()
	ok := setupOK(t)
	mustCreate(t, c, "cas", nil)
	ok(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("cas")}))
	ok(c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("cas"), Timeout: aws.Int32(9)}))
	ok(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("cas")}))
	ok(c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("cas"), Name: aws.String("a"), FunctionVersion: aws.String("2")}))
	for _, q := range []string{"$LATEST", "1", "2", "a"} {
		ok(c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
			FunctionName: aws.String("cas"), Qualifier: aws.String(q), MaximumRetryAttempts: aws.Int32(1)}))
	}
	get := func(q string) error {
		_, err := c.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("cas"), Qualifier: aws.String(q)})
		return err
	}
	listed := func() []string {
		t.Helper()
		out, err := c.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("cas")})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		var qs []string
		for _, e := range out.FunctionEventInvokeConfigs {
			qs = append(qs, strings.TrimPrefix(aws.ToString(e.FunctionArn), arnPrefix+"cas:"))
		}
		return qs
	}
	if got := fmt.Sprint(listed()); got != "[$LATEST 1 2 a]" {
		t.Fatalf("listed %s", got)
	}

	// PublishVersion does not copy $LATEST's config.
	ok(c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("cas"), Timeout: aws.Int32(11)}))
	ok(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("cas")}))
	noConfig("cas:3").sdk(t, get("3"))

	// Deleting a version takes its config.
	ok(c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("cas"), Qualifier: aws.String("1")}))
	noConfig("cas:1").sdk(t, get("1"))
	if got := fmt.Sprint(listed()); got != "[$LATEST 2 a]" {
		t.Errorf("after deleting version 1: %s", got)
	}

	// Deleting an alias takes its config; a new alias of the name has none.
	ok(c.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("cas"), Name: aws.String("a")}))
	noConfig("cas:a").sdk(t, get("a"))
	ok(c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("cas"), Name: aws.String("a"), FunctionVersion: aws.String("2")}))
	noConfig("cas:a").sdk(t, get("a"))
	if got := fmt.Sprint(listed()); got != "[$LATEST 2]" {
		t.Errorf("after deleting alias a: %s", got)
	}

	// Deleting the function takes them all; a new function of the name has none.
	ok(c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("cas")}))
	noConfig("cas:$LATEST").sdk(t, get("$LATEST"))
	noConfig("cas:2").sdk(t, get("2"))
	_, err := c.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("cas")})
	notFound(msgNoFunction).sdk(t, err)
	mustCreate(t, c, "cas", nil)
	ok(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("cas")}))
	noConfig("cas:$LATEST").sdk(t, get("$LATEST"))
	if got := listed(); len(got) != 0 {
		t.Errorf("recreated function lists %v", got)
	}
}

func TestEventInvokeConfigErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()
	eicSetup(t, c)
	// Stored configs the refused calls must leave alone.
	if _, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("ev"), Qualifier: aws.String("live"), MaximumRetryAttempts: aws.Int32(1),
		DestinationConfig: dests(aws.String(sqsArn), nil)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("ev"), MaximumEventAgeInSeconds: aws.Int32(100)}); err != nil {
		t.Fatal(err)
	}
	destArn := arnPrefix + "dest"

	type body = lambda.PutFunctionEventInvokeConfigInput
	put := func(fn, qual string, b body) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			b.FunctionName = aws.String(fn)
			if qual != "" {
				b.Qualifier = aws.String(qual)
			}
			_, err := c.PutFunctionEventInvokeConfig(ctx, &b)
			return err
		}
	}
	update := func(fn, qual string, b body) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.UpdateFunctionEventInvokeConfigInput{FunctionName: aws.String(fn),
				MaximumRetryAttempts: b.MaximumRetryAttempts, MaximumEventAgeInSeconds: b.MaximumEventAgeInSeconds,
				DestinationConfig: b.DestinationConfig}
			if qual != "" {
				in.Qualifier = aws.String(qual)
			}
			_, err := c.UpdateFunctionEventInvokeConfig(ctx, in)
			return err
		}
	}
	get := func(fn, qual string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String(fn)}
			if qual != "" {
				in.Qualifier = aws.String(qual)
			}
			_, err := c.GetFunctionEventInvokeConfig(ctx, in)
			return err
		}
	}
	del := func(fn, qual string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String(fn)}
			if qual != "" {
				in.Qualifier = aws.String(qual)
			}
			_, err := c.DeleteFunctionEventInvokeConfig(ctx, in)
			return err
		}
	}
	list := func(fn string, maxItems *int32, marker string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String(fn), MaxItems: maxItems}
			if marker != "" {
				in.Marker = aws.String(marker)
			}
			_, err := c.ListFunctionEventInvokeConfigs(ctx, in)
			return err
		}
	}
	onSuccess := func(d string) body { return body{DestinationConfig: dests(aws.String(d), nil)} }
	onFailure := func(d string) body { return body{DestinationConfig: dests(nil, aws.String(d))} }
	retry := func(n int32) body { return body{MaximumRetryAttempts: aws.Int32(n)} }
	age := func(n int32) body { return body{MaximumEventAgeInSeconds: aws.Int32(n)} }
	badDest := func(side, arn string) want {
		return validation(one(q(arn), "destinationConfig."+side+".destination", pattern(patDestinationArn)))
	}
	badConfig := func(s, f string) want {
		return invalid("The provided destination config DestinationConfig(onSuccess=" + s + ", onFailure=" + f + ") is invalid.")
	}
	invalidArn := func(arn string) want { return invalid("The destination ARN " + arn + " is invalid.") }
	long := "arn:aws:sqs:us-east-1:000000000000:" + strings.Repeat("q", 320)

	type ec struct {
		name string
		sdk  sdkCall
		want want
	}
	var cases []tc
	for _, e := range []ec{
		// "at least one of", before the lookup.
		{"put nothing", put("ev", "", body{}), invalid(msgAtLeastOne)},
		{"put nothing, missing function", put("ghost", "", body{}), invalid(msgAtLeastOne)},
		{"put nothing, missing version", put("ev", "9", body{}), invalid(msgAtLeastOne)},
		{"update nothing", update("ev", "", body{}), invalid(msgAtLeastOne)},
		{"update nothing, missing function", update("ghost", "", body{}), invalid(msgAtLeastOne)},
		// Model ranges.
		{"retry 3", put("ev", "", retry(3)), validation(one("'3'", "maximumRetryAttempts", "Member must have value less than or equal to 2"))},
		{"retry -1", put("ev", "", retry(-1)), validation(one("'-1'", "maximumRetryAttempts", "Member must have value greater than or equal to 0"))},
		{"age 59", put("ev", "", age(59)), validation(one("'59'", "maximumEventAgeInSeconds", "Member must have value greater than or equal to 60"))},
		{"age 21601", update("ev", "live", age(21601)), validation(one("'21601'", "maximumEventAgeInSeconds", "Member must have value less than or equal to 21600"))},
		{"retry and age", put("ev", "", body{MaximumRetryAttempts: aws.Int32(5), MaximumEventAgeInSeconds: aws.Int32(1)}), validation(
			"2 validation errors detected: " +
				viol("'5'", "maximumRetryAttempts", "Member must have value less than or equal to 2") + "; " +
				viol("'1'", "maximumEventAgeInSeconds", "Member must have value greater than or equal to 60"))},
		{"range before lookup", put("ghost", "", retry(3)), validation(one("'3'", "maximumRetryAttempts", "Member must have value less than or equal to 2"))},
		// Destination model.
		{"onSuccess not an ARN", put("ev", "", onSuccess("queue")), badDest("onSuccess", "queue")},
		{"onFailure not an ARN", update("ev", "live", onFailure("arn:aws:sqs")), badDest("onFailure", "arn:aws:sqs")},
		{"destination too long", put("ev", "", onFailure(long)), validation(one(q(long), "destinationConfig.onFailure.destination", "Member must have length less than or equal to 350"))},
		// Destination services.
		{"s3 on success", put("ev", "", onSuccess(s3Arn)), badConfig("OnSuccess(destination="+s3Arn+")", "null")},
		{"kafka on failure", put("ev", "", onFailure("kafka://broker")), badConfig("null", "OnFailure(destination=kafka://broker)")},
		{"dynamodb", update("ev", "live", body{DestinationConfig: dests(aws.String(sqsArn), aws.String("arn:aws:dynamodb:us-east-1:000000000000:table/t"))}),
			badConfig("OnSuccess(destination="+sqsArn+")", "OnFailure(destination=arn:aws:dynamodb:us-east-1:000000000000:table/t)")},
		// Lambda destinations.
		{"missing function destination", put("ev", "", onFailure(arnPrefix+"nope")), invalidArn(arnPrefix + "nope")},
		{"missing version destination", put("ev", "", onFailure(destArn+":9")), invalidArn(destArn + ":9")},
		{"missing alias destination", update("ev", "live", onSuccess(destArn+":green")), invalidArn(destArn + ":green")},
		{"other region destination", put("ev", "", onFailure("arn:aws:lambda:us-west-2:000000000000:function:dest")),
			invalidArn("arn:aws:lambda:us-west-2:000000000000:function:dest")},
		{"self", put("ev", "", onFailure(arnPrefix+"ev")), invalid(msgSelfDest)},
		{"self, qualified", update("ev", "live", onSuccess(arnPrefix+"ev:1")), invalid(msgSelfDest)},
		// Function, version, alias missing.
		{"put missing function", put("ghost", "", retry(1)), notFound(msgNoFunction)},
		{"put missing version", put("ev", "9", retry(1)), notFound(msgNoFunction)},
		{"put missing alias", put("ev:nope", "", retry(1)), notFound(msgNoFunction)},
		{"put $LATEST.PUBLISHED", put("ev", "$LATEST.PUBLISHED", retry(1)), notFound(msgNoFunction)},
		{"update missing function", update("ghost", "", retry(1)), notFound(msgNoFunction)},
		{"update missing version", update("ev", "9", retry(1)), notFound(msgNoFunction)},
		{"list missing function", list("ghost", nil, ""), notFound(msgNoFunction)},
		{"list missing alias", list("ev:nope", nil, ""), notFound(msgNoFunction)},
		// No config.
		{"update without config", update("ev", "1", retry(1)), noConfig("ev:1")},
		{"get without config", get("ev", "1"), noConfig("ev:1")},
		{"get missing function", get("ghost", ""), noConfig("ghost:$LATEST")},
		{"get missing version", get("ghost:7", ""), noConfig("ghost:7")},
		{"get missing alias", get("ev", "nope"), noConfig("ev:nope")},
		{"delete without config", del("ev", "1"), noConfig("ev:1")},
		{"delete missing function", del("ghost", "x"), noConfig("ghost:x")},
		{"delete missing function, unqualified", del(arnPrefix+"ghost", ""), noConfig("ghost:$LATEST")},
		// Names and qualifiers.
		{"put qualifier mismatch", put("ev:1", "live", retry(1)), invalid(msgMismatch)},
		{"get qualifier mismatch", get("ev:1", "live"), invalid(msgMismatch)},
		{"delete qualifier mismatch", del("ev:live", "1"), invalid(msgMismatch)},
		{"bad name", get("bad name", ""), validation(one(q("bad name"), "functionName", pattern(patNamespaced)))},
		{"bad qualifier", get("ev", "bad!"), validation(one(q("bad!"), "qualifier", pattern(patQualifier)))},
		// The qualifier's violation before the name's, as AWS lists them
		// (docs/behaviour/api-common.md §5.3).
		{"name, qualifier and body together", put("bad name", "bad!", retry(3)), validation("3 validation errors detected: " +
			viol(q("bad!"), "qualifier", pattern(patQualifier)) + "; " +
			viol(q("bad name"), "functionName", pattern(patNamespaced)) + "; " +
			viol("'3'", "maximumRetryAttempts", "Member must have value less than or equal to 2"))},
		{"other region", put("arn:aws:lambda:eu-west-1:000000000000:function:ev", "", retry(1)),
			notFound("Functions from 'eu-west-1' are not reachable in this region ('us-east-1')")},
		// List bounds.
		{"list MaxItems 51", list("ev", aws.Int32(51), ""), validation(one("'51'", "maxItems", "Member must have value less than or equal to 50"))},
		{"list MaxItems 0", list("ev", aws.Int32(0), ""), validation(one("'0'", "maxItems", "Member must have value greater than or equal to 1"))},
		{"list bad marker", list("ev", nil, "!!"), invalidAny()},
	} {
		cases = append(cases, tc{name: e.name, sdk: e.sdk, want: e.want})
	}
	runEIC(t, s, cases)
	// Cases the SDK cannot send as they are.
	runEIC(t, s, []tc{
		{name: "put raw {}", raw: &rawReq{method: "PUT", target: eicPath("ev"), body: `{}`}, want: invalid(msgAtLeastOne)},
		{name: "update raw empty body", raw: &rawReq{method: "POST", target: eicPath("ev")}, want: invalid(msgAtLeastOne)},
		{name: "put not JSON", raw: &rawReq{method: "PUT", target: eicPath("ev"), body: `{"MaximumRetryAttempts":`}, want: badContent()},
		{name: "put retry as string", raw: &rawReq{method: "PUT", target: eicPath("ev"), body: `{"MaximumRetryAttempts":"1"}`}, want: badContent()},
	})
}
