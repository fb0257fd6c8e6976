package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/servertest"
)

const (
	layerPrefix     = "arn:aws:lambda:us-east-1:000000000000:layer:"
	patLayerVersion = `(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)`
	msgLayerMissing = "The resource you requested does not exist."
	msgLayerBelow1  = "Layer Version Cannot be less than 1"
	msgFiveLayers   = "Cannot reference more than 5 layers."
)

var reCreatedDate = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$`)

func publishLayer(t *testing.T, c *lambda.Client, name string, mod func(*lambda.PublishLayerVersionInput)) *lambda.PublishLayerVersionOutput {
	t.Helper()
	in := &lambda.PublishLayerVersionInput{
		LayerName: aws.String(name),
		Content:   &types.LayerVersionContentInput{ZipFile: servertest.Zip(t, map[string]string{"python/" + name + ".py": "X = 1\n"})},
	}
	if mod != nil {
		mod(in)
	}
	out, err := c.PublishLayerVersion(context.Background(), in)
	if err != nil {
		t.Fatalf("PublishLayerVersion %s: %v", name, err)
	}
	return out
}

func TestLayerVersions(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()

	zipBytes := servertest.Zip(t, map[string]string{"python/lib.py": "X = 1\n"})
	p1 := publishLayer(t, c, "lib", func(in *lambda.PublishLayerVersionInput) {
		in.Content.ZipFile = zipBytes
		in.CompatibleRuntimes = []types.Runtime{types.RuntimePython312, types.RuntimeNodejs22x}
		in.CompatibleArchitectures = []types.Architecture{types.ArchitectureX8664}
		in.LicenseInfo = aws.String("MIT")
		in.Description = aws.String("first")
	})
	if aws.ToString(p1.LayerArn) != layerPrefix+"lib" || aws.ToString(p1.LayerVersionArn) != layerPrefix+"lib:1" || p1.Version != 1 ||
		aws.ToString(p1.Description) != "first" || aws.ToString(p1.LicenseInfo) != "MIT" || !reCreatedDate.MatchString(aws.ToString(p1.CreatedDate)) ||
		len(p1.CompatibleRuntimes) != 2 || len(p1.CompatibleArchitectures) != 1 || p1.Content.CodeSize != int64(len(zipBytes)) ||
		aws.ToString(p1.Content.CodeSha256) != sha256b64(zipBytes) {
		t.Errorf("PublishLayerVersion answer %+v %+v", p1, p1.Content)
	}
	// Content.Location downloads the zip.
	resp, err := http.Get(aws.ToString(p1.Content.Location))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, zipBytes) {
		t.Errorf("Content.Location served %d bytes, want the zip", len(got))
	}
	// Identical content still makes a new version; absent members stay
	// absent, empty lists are echoed empty.
	r := call(t, s, rawReq{method: "POST", target: "/2018-10-31/layers/lib/versions",
		body: `{"Content":{"ZipFile":"` + b64(zipBytes) + `"},"CompatibleRuntimes":[]}`})
	if r.status != 201 {
		t.Fatalf("raw publish: %d %s", r.status, r.body)
	}
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	if m["Version"] != float64(2) || m["Description"] != "" || fmt.Sprint(m["CompatibleRuntimes"]) != "[]" {
		t.Errorf("second version %s", r.body)
	}
	for _, k := range []string{"CompatibleArchitectures", "LicenseInfo", "SigningProfileVersionArn"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s present though not given: %s", k, r.body)
		}
	}
	publishLayer(t, c, "lib", nil) // 3, no compatibility lists
	publishLayer(t, c, "other", func(in *lambda.PublishLayerVersionInput) {
		in.CompatibleRuntimes = []types.Runtime{types.RuntimeNodejs22x}
	})

	g, err := c.GetLayerVersion(ctx, &lambda.GetLayerVersionInput{LayerName: aws.String("lib"), VersionNumber: aws.Int64(1)})
	if err != nil || aws.ToString(g.LayerVersionArn) != layerPrefix+"lib:1" || aws.ToString(g.LicenseInfo) != "MIT" {
		t.Errorf("GetLayerVersion: %v %+v", err, g)
	}
	ga, err := c.GetLayerVersionByArn(ctx, &lambda.GetLayerVersionByArnInput{Arn: aws.String(layerPrefix + "lib:2")})
	if err != nil || ga.Version != 2 {
		t.Errorf("GetLayerVersionByArn: %v %+v", err, ga)
	}
	// The layer name may be its ARN.
	if _, err := c.GetLayerVersion(ctx, &lambda.GetLayerVersionInput{LayerName: aws.String(layerPrefix + "lib"), VersionNumber: aws.Int64(3)}); err != nil {
		t.Errorf("GetLayerVersion by layer ARN: %v", err)
	}

	versions := func(rt types.Runtime, arch types.Architecture) []int64 {
		t.Helper()
		var out []int64
		p := lambda.NewListLayerVersionsPaginator(c, &lambda.ListLayerVersionsInput{LayerName: aws.String("lib"), MaxItems: aws.Int32(1),
			CompatibleRuntime: rt, CompatibleArchitecture: arch})
		for p.HasMorePages() {
			pg, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListLayerVersions: %v", err)
			}
			for _, v := range pg.LayerVersions {
				if v.LayerVersionArn == nil || !reCreatedDate.MatchString(aws.ToString(v.CreatedDate)) {
					t.Errorf("list item %+v", v)
				}
				out = append(out, v.Version)
			}
		}
		return out
	}
	if got := fmt.Sprint(versions("", "")); got != "[3 2 1]" {
		t.Errorf("ListLayerVersions = %s, want newest first [3 2 1]", got)
	}
	if got := fmt.Sprint(versions(types.RuntimePython312, "")); got != "[1]" {
		t.Errorf("ListLayerVersions python3.12 = %s", got)
	}
	if got := fmt.Sprint(versions("", types.ArchitectureArm64)); got != "[]" {
		t.Errorf("ListLayerVersions arm64 = %s", got)
	}
	ll, err := c.ListLayers(ctx, &lambda.ListLayersInput{})
	if err != nil || len(ll.Layers) != 2 || aws.ToString(ll.Layers[0].LayerName) != "lib" || ll.Layers[0].LatestMatchingVersion.Version != 3 ||
		aws.ToString(ll.Layers[1].LayerArn) != layerPrefix+"other" {
		t.Errorf("ListLayers: %v %+v", err, ll)
	}
	ll, err = c.ListLayers(ctx, &lambda.ListLayersInput{CompatibleRuntime: types.RuntimePython312})
	if err != nil || len(ll.Layers) != 1 || ll.Layers[0].LatestMatchingVersion.Version != 1 {
		t.Errorf("ListLayers python3.12: %v %+v", err, ll)
	}
	lv, err := c.ListLayerVersions(ctx, &lambda.ListLayerVersionsInput{LayerName: aws.String("never-published")})
	if err != nil || lv.LayerVersions == nil || len(lv.LayerVersions) != 0 {
		t.Errorf("ListLayerVersions of an unknown layer: %v %+v", err, lv)
	}

	// Delete: 204 always; numbers are never reused.
	for _, n := range []int64{3, 3, 9} {
		if _, err := c.DeleteLayerVersion(ctx, &lambda.DeleteLayerVersionInput{LayerName: aws.String("lib"), VersionNumber: aws.Int64(n)}); err != nil {
			t.Errorf("DeleteLayerVersion %d: %v", n, err)
		}
	}
	if _, err := c.DeleteLayerVersion(ctx, &lambda.DeleteLayerVersionInput{LayerName: aws.String("nope"), VersionNumber: aws.Int64(1)}); err != nil {
		t.Errorf("DeleteLayerVersion of an unknown layer: %v", err)
	}
	if p := publishLayer(t, c, "lib", nil); p.Version != 4 {
		t.Errorf("after deleting version 3 the next is %d, want 4", p.Version)
	}
	for _, n := range []int64{1, 2, 4} {
		_, _ = c.DeleteLayerVersion(ctx, &lambda.DeleteLayerVersionInput{LayerName: aws.String("lib"), VersionNumber: aws.Int64(n)})
	}
	if ll, _ := c.ListLayers(ctx, &lambda.ListLayersInput{}); ll == nil || len(ll.Layers) != 1 {
		t.Errorf("a layer without versions is still listed: %+v", ll)
	}
	if p := publishLayer(t, c, "lib", nil); p.Version != 5 {
		t.Errorf("after deleting every version the next is %d, want 5", p.Version)
	}
}

func TestLayerErrors(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	publishLayer(t, s.Client, "lib", nil)
	get := func(name string, n int64) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.GetLayerVersion(ctx, &lambda.GetLayerVersionInput{LayerName: aws.String(name), VersionNumber: aws.Int64(n)})
			return err
		}
	}
	byArn := func(arn string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.GetLayerVersionByArn(ctx, &lambda.GetLayerVersionByArnInput{Arn: aws.String(arn)})
			return err
		}
	}
	pub := func(mod func(*lambda.PublishLayerVersionInput)) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := &lambda.PublishLayerVersionInput{LayerName: aws.String("bad"),
				Content: &types.LayerVersionContentInput{ZipFile: servertest.Zip(t, map[string]string{"a": "b"})}}
			mod(in)
			_, err := c.PublishLayerVersion(ctx, in)
			return err
		}
	}
	run(t, s, []tc{
		{"get/version 0", get("lib", 0), nil, invalid(msgLayerBelow1)},
		{"get/version -1", get("lib", -1), nil, invalid(msgLayerBelow1)},
		{"get/missing version", get("lib", 2), nil, notFound(msgLayerMissing)},
		{"get/missing layer", get("nope", 1), nil, notFound(msgLayerMissing)},
		{"get/bad name", get("a b", 1), nil, validation(one(q("a b"), "layerName",
			pattern(`(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+`)))},
		{"delete/version 0", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.DeleteLayerVersion(ctx, &lambda.DeleteLayerVersionInput{LayerName: aws.String("lib"), VersionNumber: aws.Int64(0)})
			return err
		}, nil, invalid(msgLayerBelow1)},
		{"by ARN/no version", byArn(layerPrefix + "lib"), nil, validation(one(q(layerPrefix+"lib"), "arn", pattern(patLayerVersion)))},
		{"by ARN/missing version", byArn(layerPrefix + "lib:7"), nil, notFound(msgLayerMissing)},
		{"by ARN/awslayer form", byArn("arn:aws:lambda:::awslayer:x"), nil, notFound(msgLayerMissing)},
		{"publish/bad runtimes and architectures", pub(func(in *lambda.PublishLayerVersionInput) {
			in.CompatibleRuntimes = []types.Runtime{"invalidruntime", types.RuntimeNodejs22x}
			in.CompatibleArchitectures = []types.Architecture{"invalidarch"}
		}), nil, want{code: errValidation, status: 400, match: func(t *testing.T, msg string) {
			pre := "2 validation errors detected: Value '[invalidruntime, nodejs22.x]' at 'compatibleRuntimes' failed to satisfy constraint: Member must satisfy enum value set: ["
			suf := "]; " + viol(q("[invalidarch]"), "compatibleArchitectures", msgArchEnum)
			if !strings.HasPrefix(msg, pre) || !strings.HasSuffix(msg, suf) || !strings.Contains(msg, "python3.13") {
				t.Errorf("message %q", msg)
			}
		}}},
		{"publish/deprecated runtime accepted but S3 refused", pub(func(in *lambda.PublishLayerVersionInput) {
			in.CompatibleRuntimes = []types.Runtime{types.RuntimePython37}
			in.Content = &types.LayerVersionContentInput{S3Bucket: aws.String("b"), S3Key: aws.String("k")}
		}), nil, notSupported()},
		{"publish/not a zip", pub(func(in *lambda.PublishLayerVersionInput) {
			in.Content.ZipFile = []byte("not a zip")
		}), nil, invalid(msgNotZip)},
		{"publish/license too long", pub(func(in *lambda.PublishLayerVersionInput) {
			in.LicenseInfo = aws.String(strings.Repeat("l", 513))
		}), nil, validation(one(q(strings.Repeat("l", 513)), "licenseInfo", "Member must have length less than or equal to 512"))},
		{"publish/no content", nil, &rawReq{method: "POST", target: "/2018-10-31/layers/bad/versions", body: `{}`},
			validation(one("null", "content", "Member must not be null"))},
		{"list/bad runtime filter", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.ListLayers(ctx, &lambda.ListLayersInput{CompatibleRuntime: "runtimedoesnotexist"})
			return err
		}, nil, want{code: errValidation, status: 400, match: func(t *testing.T, msg string) {
			if !strings.HasPrefix(msg, "1 validation error detected: Value 'runtimedoesnotexist' at 'compatibleRuntime' failed to satisfy constraint: Member must satisfy enum value set: [") ||
				!strings.Contains(msg, "python2.7") {
				t.Errorf("message %q", msg)
			}
		}}},
		{"list/bad architecture filter", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.ListLayerVersions(ctx, &lambda.ListLayerVersionsInput{LayerName: aws.String("lib"), CompatibleArchitecture: "sparc"})
			return err
		}, nil, validation(one(q("sparc"), "compatibleArchitecture", "Member must satisfy enum value set: [x86_64, arm64]"))},
		{"list/MaxItems over 50", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.ListLayers(ctx, &lambda.ListLayersInput{MaxItems: aws.Int32(51)})
			return err
		}, nil, validation(one(q("51"), "maxItems", "Member must have value less than or equal to 50"))},
	})
	// A refused publish made no version and no layer.
	if ll, err := s.Client.ListLayers(context.Background(), &lambda.ListLayersInput{}); err != nil || len(ll.Layers) != 1 {
		t.Errorf("layers after refused publishes: %v %+v", err, ll)
	}
}

func TestLayerVersionPolicy(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()
	publishLayer(t, c, "lib", nil)
	arn := layerPrefix + "lib:1"
	add := func(sid, action, principal string, rev *string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.AddLayerVersionPermission(ctx, &lambda.AddLayerVersionPermissionInput{LayerName: aws.String("lib"), VersionNumber: aws.Int64(1),
				StatementId: aws.String(sid), Action: aws.String(action), Principal: aws.String(principal), RevisionId: rev})
			return err
		}
	}
	getPol := func(name string, n int64) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.GetLayerVersionPolicy(ctx, &lambda.GetLayerVersionPolicyInput{LayerName: aws.String(name), VersionNumber: aws.Int64(n)})
			return err
		}
	}
	run(t, s, []tc{{"get/no policy", getPol("lib", 1), nil, notFound("No policy is associated with the given resource.")}})

	out, err := c.AddLayerVersionPermission(ctx, &lambda.AddLayerVersionPermissionInput{LayerName: aws.String("lib"), VersionNumber: aws.Int64(1),
		StatementId: aws.String("s1"), Action: aws.String("lambda:GetLayerVersion"), Principal: aws.String("*")})
	if err != nil {
		t.Fatal(err)
	}
	wantSt := `{"Action":"lambda:GetLayerVersion","Effect":"Allow","Principal":"*","Resource":"` + arn + `","Sid":"s1"}`
	if aws.ToString(out.Statement) != wantSt {
		t.Errorf("Statement %s, want %s", aws.ToString(out.Statement), wantSt)
	}
	rev1 := aws.ToString(out.RevisionId)
	out2, err := c.AddLayerVersionPermission(ctx, &lambda.AddLayerVersionPermissionInput{LayerName: aws.String("lib"), VersionNumber: aws.Int64(1),
		StatementId: aws.String("acct"), Action: aws.String("lambda:GetLayerVersion"), Principal: aws.String("123456789012"), RevisionId: aws.String(rev1)})
	if err != nil || aws.ToString(out2.RevisionId) == rev1 {
		t.Fatalf("second add: %v", err)
	}
	pol, err := c.GetLayerVersionPolicy(ctx, &lambda.GetLayerVersionPolicyInput{LayerName: aws.String("lib"), VersionNumber: aws.Int64(1)})
	if err != nil {
		t.Fatal(err)
	}
	wantPol := `{"Id":"default","Statement":[` + wantSt + `,{"Action":"lambda:GetLayerVersion","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Resource":"` + arn + `","Sid":"acct"}],"Version":"2012-10-17"}`
	if aws.ToString(pol.Policy) != wantPol || aws.ToString(pol.RevisionId) != aws.ToString(out2.RevisionId) {
		t.Errorf("policy %s rev %s", aws.ToString(pol.Policy), aws.ToString(pol.RevisionId))
	}
	remove := func(sid string, rev *string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.RemoveLayerVersionPermission(ctx, &lambda.RemoveLayerVersionPermissionInput{LayerName: aws.String("lib"), VersionNumber: aws.Int64(1),
				StatementId: aws.String(sid), RevisionId: rev})
			return err
		}
	}
	run(t, s, []tc{
		{"add/duplicate sid", add("s1", "lambda:GetLayerVersion", "*", nil), nil,
			conflict("The statement id (s1) provided already exists. Please provide a new statement id, or remove the existing statement.")},
		{"add/stale revision", add("s3", "lambda:GetLayerVersion", "*", aws.String(rev1)), nil,
			want{code: errPrecond, status: 412, msg: "The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy API to retrieve the latest Revision Id"}},
		{"add/wrong action", add("s3", "*", "*", nil), nil, validation(one(q("*"), "action", pattern("lambda:GetLayerVersion")))},
		{"add/missing version", func(ctx context.Context, c *lambda.Client) error {
			_, err := c.AddLayerVersionPermission(ctx, &lambda.AddLayerVersionPermissionInput{LayerName: aws.String("lib"), VersionNumber: aws.Int64(2),
				StatementId: aws.String("x"), Action: aws.String("lambda:GetLayerVersion"), Principal: aws.String("*")})
			return err
		}, nil, notFound("Layer version " + layerPrefix + "lib:2 does not exist.")},
		{"get/missing layer", getPol("nope", 1), nil, notFound("Layer version " + layerPrefix + "nope:1 does not exist.")},
		{"remove/unknown sid", remove("zz", nil), nil, notFound("Statement zz is not found in resource policy.")},
		{"remove/stale revision", remove("s1", aws.String(rev1)), nil,
			want{code: errPrecond, status: 412, msg: "The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy API to retrieve the latest Revision Id"}},
	})
	for _, sid := range []string{"s1", "acct"} {
		if err := remove(sid, nil)(ctx, c); err != nil {
			t.Fatalf("remove %s: %v", sid, err)
		}
	}
	run(t, s, []tc{{"get/after removing all", getPol("lib", 1), nil, notFound("No policy is associated with the given resource.")}})
}

// bigZip is a zip with one file of size zero bytes: tiny zipped, large
// unpacked.
func bigZip(t *testing.T, name string, size int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFunctionLayers(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()
	var arns []string
	for i := range 6 {
		arns = append(arns, aws.ToString(publishLayer(t, c, "l"+strconv.Itoa(i), nil).LayerVersionArn))
	}
	a2 := aws.ToString(publishLayer(t, c, "l0", nil).LayerVersionArn) // l0:2

	// Five layers, order kept, shown in every read; none → no member.
	created := mustCreate(t, c, "fx", func(in *lambda.CreateFunctionInput) { in.Layers = arns[:5] })
	if len(created.Layers) != 5 || aws.ToString(created.Layers[4].Arn) != arns[4] || created.Layers[0].CodeSize == 0 {
		t.Errorf("CreateFunction Layers %+v", created.Layers)
	}
	g, _ := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fx")})
	for i, l := range g.Configuration.Layers {
		if aws.ToString(l.Arn) != arns[i] {
			t.Errorf("GetFunction Layers[%d] = %s, want %s", i, aws.ToString(l.Arn), arns[i])
		}
	}
	mustCreate(t, c, "plain", nil)
	if r := call(t, s, rawReq{method: "GET", target: "/2015-03-31/functions/plain/configuration"}); strings.Contains(string(r.body), `"Layers"`) {
		t.Errorf("a function without layers has a Layers member: %s", r.body)
	}
	// PublishVersion pins the layers; a change of Layers is a change.
	if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fx")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx"), Layers: []string{arns[5]}}); err != nil {
		t.Fatal(err)
	}
	v2, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fx")})
	if err != nil || aws.ToString(v2.Version) != "2" {
		t.Fatalf("a Layers change did not make a new version: %v %+v", err, v2)
	}
	v1, _ := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("fx"), Qualifier: aws.String("1")})
	if v1 == nil || len(v1.Layers) != 5 {
		t.Errorf("version 1 lost its layers: %+v", v1)
	}
	// An update without Layers keeps them; [] removes them.
	up, _ := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx"), Description: aws.String("d")})
	if up == nil || len(up.Layers) != 1 {
		t.Errorf("an update without Layers changed them: %+v", up)
	}
	up, _ = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx"), Layers: []string{}})
	if up == nil || len(up.Layers) != 0 {
		t.Errorf("Layers [] kept %+v", up)
	}
	// A deleted version stays attached but cannot be attached anew.
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx"), Layers: []string{arns[1]}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteLayerVersion(ctx, &lambda.DeleteLayerVersionInput{LayerName: aws.String("l1"), VersionNumber: aws.Int64(1)}); err != nil {
		t.Fatal(err)
	}
	cfg, _ := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("fx")})
	if cfg == nil || len(cfg.Layers) != 1 || aws.ToString(cfg.Layers[0].Arn) != arns[1] {
		t.Errorf("after DeleteLayerVersion: %+v", cfg)
	}
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx"), Timeout: aws.Int32(9)}); err != nil {
		t.Errorf("an update without Layers failed after the delete: %v", err)
	}

	upd := func(layers ...string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fx"), Layers: layers})
			return err
		}
	}
	create := func(layers ...string) sdkCall {
		return func(ctx context.Context, c *lambda.Client) error {
			in := createInput(t, "new")
			in.Layers = layers
			_, err := c.CreateFunction(ctx, in)
			return err
		}
	}
	noVersion := layerPrefix + "l2"
	run(t, s, []tc{
		{"six layers", create(arns...), nil, invalid(msgFiveLayers)},
		{"ARN without version", create(noVersion), nil, validation(one(q("["+noVersion+"]"), "layers",
			"Member must satisfy constraint: [Member must have length less than or equal to 2048, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: "+patLayerVersion+", Member must not be null]"))},
		{"missing version", create(layerPrefix + "l2:9"), nil, invalid("Layer version " + layerPrefix + "l2:9 does not exist.")},
		{"deleted version attached anew", create(arns[1]), nil, invalid("Layer version " + arns[1] + " does not exist.")},
		{"update naming the deleted version", upd(arns[1], arns[2]), nil, invalid("Layer version " + arns[1] + " does not exist.")},
		{"another account", create("arn:aws:lambda:us-east-1:111111111111:layer:l2:1"), nil,
			invalid("Layer version arn:aws:lambda:us-east-1:111111111111:layer:l2:1 does not exist.")},
		{"another region", create("arn:aws:lambda:eu-west-1:000000000000:layer:l2:1"), nil,
			invalid("Layers are not in the same region as the function. Layers are expected to be in region us-east-1.")},
		{"two versions of one layer", upd(arns[0], arns[2], a2), nil,
			invalid("Two different versions of the same layer are not allowed to be referenced in the same function. " + arns[0] + " and " + a2 + " are versions of the same layer.")},
		{"the same version twice", upd(arns[2], arns[2]), nil,
			invalid("Two different versions of the same layer are not allowed to be referenced in the same function. " + arns[2] + " and " + arns[2] + " are versions of the same layer.")},
	})

	// The size limit counts the function's code and its layers unpacked.
	half := 131_072_000
	big1 := aws.ToString(publishLayer(t, c, "big1", func(in *lambda.PublishLayerVersionInput) { in.Content.ZipFile = bigZip(t, "a", half) }).LayerVersionArn)
	big2 := aws.ToString(publishLayer(t, c, "big2", func(in *lambda.PublishLayerVersionInput) { in.Content.ZipFile = bigZip(t, "b", half) }).LayerVersionArn)
	code := map[string]string{"bootstrap": "#!/bin/sh\necho new\n"}
	total := 2*half + len(code["bootstrap"])
	run(t, s, []tc{{"code and layers over 250 MB", func(ctx context.Context, c *lambda.Client) error {
		in := createInput(t, "new")
		in.Code.ZipFile = servertest.Zip(t, code)
		in.Layers = []string{big1, big2}
		_, err := c.CreateFunction(ctx, in)
		return err
	}, nil, invalid(fmt.Sprintf("Function code combined with layers exceeds the maximum allowed size of 262144000 bytes. The actual size is %d bytes.", total))}})
	// Exactly the limit is allowed; then growing the code is not.
	in := createInput(t, "edge")
	in.Code.ZipFile = bigZip(t, "bootstrap", 0)
	in.Layers = []string{big1, big2}
	if _, err := c.CreateFunction(ctx, in); err != nil {
		t.Fatalf("code and layers at exactly the limit: %v", err)
	}
	run(t, s, []tc{{"code update over the limit with the layers", func(ctx context.Context, c *lambda.Client) error {
		_, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("edge"), ZipFile: servertest.Zip(t, map[string]string{"bootstrap": "x"})})
		return err
	}, nil, invalid("Function code combined with layers exceeds the maximum allowed size of 262144000 bytes. The actual size is 262144001 bytes.")}})
}

// TestTerraformLayerVersionLifecycle replays aws_lambda_layer_version:
// publish, read back by ARN, refresh, and destroy.
func TestTerraformLayerVersionLifecycle(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()
	p := publishLayer(t, c, "tf-layer", func(in *lambda.PublishLayerVersionInput) {
		in.CompatibleRuntimes = []types.Runtime{types.RuntimePython312}
		in.Description = aws.String("deps")
	})
	read := func() *lambda.GetLayerVersionOutput {
		t.Helper()
		// The provider reads the version by its ARN's parts.
		out, err := c.GetLayerVersion(ctx, &lambda.GetLayerVersionInput{LayerName: aws.String("tf-layer"), VersionNumber: aws.Int64(p.Version)})
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return out
	}
	first, again := read(), read()
	if aws.ToString(first.Content.CodeSha256) != aws.ToString(again.Content.CodeSha256) || aws.ToString(first.CreatedDate) != aws.ToString(again.CreatedDate) ||
		aws.ToString(first.Description) != "deps" || len(first.CompatibleRuntimes) != 1 {
		t.Errorf("refresh differs or lost members: %+v / %+v", first, again)
	}
	if _, err := c.DeleteLayerVersion(ctx, &lambda.DeleteLayerVersionInput{LayerName: aws.String("tf-layer"), VersionNumber: aws.Int64(p.Version)}); err != nil {
		t.Fatal(err)
	}
	_, err := c.GetLayerVersion(ctx, &lambda.GetLayerVersionInput{LayerName: aws.String("tf-layer"), VersionNumber: aws.Int64(p.Version)})
	var nf *types.ResourceNotFoundException
	if !errorsAs(err, &nf) {
		t.Errorf("read after destroy: %v", err)
	}
}

func sha256b64(b []byte) string {
	s := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// TestLayerZipKeptWhileUsed: a deleted layer version's zip stays while a
// function uses it and goes with the last user.
func TestLayerZipKeptWhileUsed(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()
	p := publishLayer(t, c, "kept", nil)
	mustCreate(t, c, "user", func(in *lambda.CreateFunctionInput) { in.Layers = []string{aws.ToString(p.LayerVersionArn)} })
	if _, err := c.DeleteLayerVersion(ctx, &lambda.DeleteLayerVersionInput{LayerName: aws.String("kept"), VersionNumber: aws.Int64(1)}); err != nil {
		t.Fatal(err)
	}
	status := func() int {
		t.Helper()
		resp, err := http.Get(aws.ToString(p.Content.Location))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := status(); st != 200 {
		t.Fatalf("the zip of a deleted version a function uses answers %d", st)
	}
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("user"), Layers: []string{}}); err != nil {
		t.Fatal(err)
	}
	if st := status(); st != 404 {
		t.Errorf("the zip no one uses any more answers %d, want 404", st)
	}
}
