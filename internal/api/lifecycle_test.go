package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
)

const role = "arn:aws:iam::000000000000:role/lambda-role"

func createInput(t *testing.T, name string) *lambda.CreateFunctionInput {
	return &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Role:         aws.String(role),
		Runtime:      types.RuntimeProvidedal2023,
		Handler:      aws.String("bootstrap"),
		Code:         &types.FunctionCode{ZipFile: servertest.Zip(t, map[string]string{"bootstrap": "#!/bin/sh\necho " + name})},
	}
}

func TestLifecycle(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()

	zip := servertest.Zip(t, map[string]string{"bootstrap": "#!/bin/sh\necho hi"})
	sum := sha256.Sum256(zip)
	wantSha := base64.StdEncoding.EncodeToString(sum[:])

	created, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("life"),
		Role:         aws.String(role),
		Runtime:      types.RuntimeProvidedal2023,
		Handler:      aws.String("bootstrap"),
		Code:         &types.FunctionCode{ZipFile: zip},
		Environment:  &types.Environment{Variables: map[string]string{"GREETING": "hello"}},
		Tags:         map[string]string{"team": "core"},
	})
	if err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	if created.State != types.StatePending || aws.ToString(created.CodeSha256) != wantSha ||
		created.CodeSize != int64(len(zip)) || aws.ToString(created.Version) != "$LATEST" ||
		aws.ToString(created.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:life" {
		t.Fatalf("CreateFunction answer: %+v", created)
	}
	if created.LastUpdateStatus != types.LastUpdateStatusSuccessful || created.PackageType != types.PackageTypeZip {
		t.Fatalf("CreateFunction status members: %+v", created)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000-0700", aws.ToString(created.LastModified)); err != nil {
		t.Fatalf("LastModified %q: %v", aws.ToString(created.LastModified), err)
	}

	// The SDK's waiter returns on its first poll.
	waitStart := time.Now()
	if err := lambda.NewFunctionActiveV2Waiter(c).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("life")}, 10*time.Second); err != nil {
		t.Fatalf("FunctionActiveV2 waiter: %v", err)
	}
	if err := lambda.NewFunctionUpdatedV2Waiter(c).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("life")}, 10*time.Second); err != nil {
		t.Fatalf("FunctionUpdatedV2 waiter: %v", err)
	}
	if d := time.Since(waitStart); d > 3*time.Second {
		t.Fatalf("waiters took %v", d)
	}

	got, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("life")})
	if err != nil {
		t.Fatalf("GetFunction: %v", err)
	}
	if got.Configuration.State != types.StateActive || got.Tags["team"] != "core" ||
		got.Configuration.Environment.Variables["GREETING"] != "hello" || aws.ToString(got.Code.RepositoryType) != "S3" {
		t.Fatalf("GetFunction: %+v %+v", got.Configuration, got)
	}
	// Code.Location downloads the zip without credentials.
	resp, err := http.Get(aws.ToString(got.Code.Location))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != string(zip) {
		t.Fatalf("Code.Location: status %d, %d bytes", resp.StatusCode, len(body))
	}

	// Update configuration, then code.
	rev := aws.ToString(got.Configuration.RevisionId)
	upd, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("life"), Timeout: aws.Int32(30), MemorySize: aws.Int32(256),
		Description: aws.String("v1 desc"), RevisionId: aws.String(rev),
	})
	if err != nil {
		t.Fatalf("UpdateFunctionConfiguration: %v", err)
	}
	if aws.ToInt32(upd.Timeout) != 30 || aws.ToInt32(upd.MemorySize) != 256 || aws.ToString(upd.RevisionId) == rev ||
		upd.Environment.Variables["GREETING"] != "hello" {
		t.Fatalf("UpdateFunctionConfiguration answer: %+v", upd)
	}
	v1, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("life")})
	if err != nil {
		t.Fatalf("PublishVersion: %v", err)
	}
	if aws.ToString(v1.Version) != "1" || aws.ToString(v1.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:life:1" {
		t.Fatalf("PublishVersion answer: %+v", v1)
	}
	// Nothing changed: the same version comes back.
	again, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("life"), Description: aws.String("ignored")})
	if err != nil || aws.ToString(again.Version) != "1" || aws.ToString(again.Description) != "v1 desc" {
		t.Fatalf("PublishVersion again: %v %+v", err, again)
	}

	zip2 := servertest.Zip(t, map[string]string{"bootstrap": "#!/bin/sh\necho v2"})
	code, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("life"), ZipFile: zip2, Publish: true})
	if err != nil {
		t.Fatalf("UpdateFunctionCode: %v", err)
	}
	if aws.ToString(code.Version) != "2" || aws.ToString(code.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:life:2" {
		t.Fatalf("UpdateFunctionCode+Publish answer: %+v", code)
	}

	// Aliases with weights.
	alias, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{
		FunctionName: aws.String("life"), Name: aws.String("live"), FunctionVersion: aws.String("1"),
		RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.25}},
	})
	if err != nil {
		t.Fatalf("CreateAlias: %v", err)
	}
	if aws.ToString(alias.AliasArn) != "arn:aws:lambda:us-east-1:000000000000:function:life:live" ||
		alias.RoutingConfig.AdditionalVersionWeights["2"] != 0.25 {
		t.Fatalf("CreateAlias answer: %+v", alias)
	}
	viaAlias, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("life:live")})
	if err != nil || aws.ToString(viaAlias.Version) != "1" || aws.ToString(viaAlias.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:life:live" {
		t.Fatalf("GetFunctionConfiguration via alias: %v %+v", err, viaAlias)
	}
	ua, err := c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String("life"), Name: aws.String("live"),
		FunctionVersion: aws.String("2"), RoutingConfig: &types.AliasRoutingConfiguration{}})
	if err != nil || aws.ToString(ua.FunctionVersion) != "2" || ua.RoutingConfig != nil {
		t.Fatalf("UpdateAlias: %v %+v", err, ua)
	}
	aliases, err := c.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: aws.String("life")})
	if err != nil || len(aliases.Aliases) != 1 {
		t.Fatalf("ListAliases: %v %+v", err, aliases)
	}
	versions, err := c.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("life")})
	if err != nil || len(versions.Versions) != 3 || aws.ToString(versions.Versions[0].Version) != "$LATEST" ||
		aws.ToString(versions.Versions[0].FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:life:$LATEST" {
		t.Fatalf("ListVersionsByFunction: %v %+v", err, versions)
	}

	// Reserved concurrency.
	if _, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("life"), ReservedConcurrentExecutions: aws.Int32(5)}); err != nil {
		t.Fatalf("PutFunctionConcurrency: %v", err)
	}
	gc, err := c.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("life")})
	if err != nil || aws.ToInt32(gc.ReservedConcurrentExecutions) != 5 {
		t.Fatalf("GetFunctionConcurrency: %v %+v", err, gc)
	}
	acct, err := c.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	if err != nil || acct.AccountLimit.UnreservedConcurrentExecutions == nil || *acct.AccountLimit.UnreservedConcurrentExecutions != 995 ||
		acct.AccountUsage.FunctionCount != 1 || acct.AccountUsage.TotalCodeSize != int64(len(zip)+len(zip2)) {
		t.Fatalf("GetAccountSettings: %v %+v %+v", err, acct.AccountLimit, acct.AccountUsage)
	}
	if _, err := c.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("life")}); err != nil {
		t.Fatalf("DeleteFunctionConcurrency: %v", err)
	}
	gc, err = c.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("life")})
	if err != nil || gc.ReservedConcurrentExecutions != nil {
		t.Fatalf("GetFunctionConcurrency after delete: %v %+v", err, gc)
	}

	// Delete: an alias, a version, then the function.
	if _, err := c.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("life"), Name: aws.String("live")}); err != nil {
		t.Fatalf("DeleteAlias: %v", err)
	}
	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("life"), Qualifier: aws.String("1")}); err != nil {
		t.Fatalf("DeleteFunction version: %v", err)
	}
	if _, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("life:1")}); !isCode(err, "ResourceNotFoundException") {
		t.Fatalf("deleted version still there: %v", err)
	}
	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("life")}); err != nil {
		t.Fatalf("DeleteFunction: %v", err)
	}
	if _, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("life")}); !isCode(err, "ResourceNotFoundException") {
		t.Fatalf("deleted function still there: %v", err)
	}
	// Its code is gone too.
	resp, err = http.Get(aws.ToString(got.Code.Location))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("code of a deleted function: status %d", resp.StatusCode)
	}
}

func TestPagination(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	const n = 120
	for i := range n {
		if _, err := s.Client.CreateFunction(ctx, createInput(t, fmt.Sprintf("fn-%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	p := lambda.NewListFunctionsPaginator(s.Client, &lambda.ListFunctionsInput{MaxItems: aws.Int32(50)})
	var names []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.Functions) > 50 {
			t.Fatalf("page of %d", len(out.Functions))
		}
		for _, f := range out.Functions {
			names = append(names, aws.ToString(f.FunctionName))
		}
	}
	if pages != 3 || len(names) != n {
		t.Fatalf("%d pages, %d functions", pages, len(names))
	}
	for i, name := range names {
		if name != fmt.Sprintf("fn-%03d", i) {
			t.Fatalf("order: %d is %s", i, name)
		}
	}
	// MaxItems above the cap returns the cap; small pages work too.
	out, err := s.Client.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(1000)})
	if err != nil || len(out.Functions) != 50 || out.NextMarker == nil {
		t.Fatalf("MaxItems 1000: %v %d", err, len(out.Functions))
	}
	out, err = s.Client.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(7), Marker: out.NextMarker})
	if err != nil || len(out.Functions) != 7 || aws.ToString(out.Functions[0].FunctionName) != "fn-050" {
		t.Fatalf("Marker page: %v %+v", err, out)
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s := servertest.Start(t, servertest.Options{DataDir: dir})
	ctx := context.Background()
	if _, err := s.Client.CreateFunction(ctx, createInput(t, "keep")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("keep")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("keep"), Name: aws.String("prod"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("keep")})
	creds := s.Creds
	s.Stop(t)

	s2 := servertest.Start(t, servertest.Options{DataDir: dir})
	if s2.Creds != creds {
		t.Fatalf("credentials changed across restart")
	}
	after, err := s2.Client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("keep:prod")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(after.Configuration.CodeSha256) != aws.ToString(before.Configuration.CodeSha256) || aws.ToString(after.Configuration.Version) != "1" {
		t.Fatalf("after restart: %+v", after.Configuration)
	}
	resp, err := http.Get(aws.ToString(after.Code.Location))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("code after restart: %d", resp.StatusCode)
	}
}
