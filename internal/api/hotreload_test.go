package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// hotCode is Code naming a host folder with the hot-reload marker.
func hotCode(dir string) *types.FunctionCode {
	return &types.FunctionCode{S3Bucket: aws.String(server.DefaultHotReloadBucket), S3Key: aws.String(dir)}
}

func writeFile(t *testing.T, path, body string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
}

// invokeString invokes name with payload and returns the answer; a
// function error fails the test.
func invokeString(t *testing.T, c *lambda.Client, name, payload string) string {
	t.Helper()
	out, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(payload)})
	if err != nil {
		t.Fatalf("Invoke %s: %v", name, err)
	}
	if out.FunctionError != nil {
		t.Fatalf("Invoke %s: function error %s: %s", name, *out.FunctionError, out.Payload)
	}
	return string(out.Payload)
}

// waitAnswer polls name until it answers want (the edit took effect).
func waitAnswer(t *testing.T, c *lambda.Client, name, payload, want string) {
	t.Helper()
	waitfor.Eventually(t, 10*time.Second, func() error {
		if got := invokeString(t, c, name, payload); got != want {
			return fmt.Errorf("%s answers %s, want %s", name, got, want)
		}
		return nil
	})
}

func TestHotReloadPythonAndNode(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()

	py := t.TempDir()
	writeFile(t, filepath.Join(py, "app.py"), "def handler(event, context):\n    return 'py-v1'\n", 0o644)
	mustCreate(t, c, "hot-py", func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler, in.Code = types.RuntimePython312, aws.String("app.handler"), hotCode(py)
	})
	node := t.TempDir()
	writeFile(t, filepath.Join(node, "index.mjs"), "export const handler = async () => 'node-v1';\n", 0o644)
	mustCreate(t, c, "hot-node", func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler, in.Code = types.RuntimeNodejs22x, aws.String("index.handler"), hotCode(node)
	})
	if got := invokeString(t, c, "hot-py", "{}"); got != `"py-v1"` {
		t.Fatalf("hot-py answers %s", got)
	}
	if got := invokeString(t, c, "hot-node", "{}"); got != `"node-v1"` {
		t.Fatalf("hot-node answers %s", got)
	}
	// An edit: the next invokes run the new code without any API call.
	writeFile(t, filepath.Join(py, "app.py"), "def handler(event, context):\n    return 'py-v2'\n", 0o644)
	writeFile(t, filepath.Join(node, "index.mjs"), "export const handler = async () => 'node-v2';\n", 0o644)
	waitAnswer(t, c, "hot-py", "{}", `"py-v2"`)
	waitAnswer(t, c, "hot-node", "{}", `"node-v2"`)
	// A new file in a new sub-folder is watched too.
	if err := os.MkdirAll(filepath.Join(py, "pkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(py, "pkg", "__init__.py"), "V = 'py-v3'\n", 0o644)
	writeFile(t, filepath.Join(py, "app.py"), "import pkg\ndef handler(event, context):\n    return pkg.V\n", 0o644)
	waitAnswer(t, c, "hot-py", "{}", `"py-v3"`)
	writeFile(t, filepath.Join(py, "pkg", "__init__.py"), "V = 'py-v4'\n", 0o644)
	waitAnswer(t, c, "hot-py", "{}", `"py-v4"`)

	// GetFunction: LocalStack's CodeSha256/CodeSize, a file: location.
	got, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("hot-py")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Configuration.CodeSha256) != "hot-reloading-hash-not-available" || got.Configuration.CodeSize != 0 ||
		aws.ToString(got.Code.Location) != "file://"+py || aws.ToString(got.Code.RepositoryType) != "S3" {
		t.Errorf("GetFunction: sha %q size %d location %q type %q", aws.ToString(got.Configuration.CodeSha256),
			got.Configuration.CodeSize, aws.ToString(got.Code.Location), aws.ToString(got.Code.RepositoryType))
	}
	list, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range list.Functions {
		if aws.ToString(f.FunctionName) == "hot-py" && (aws.ToString(f.CodeSha256) != "hot-reloading-hash-not-available" || f.CodeSize != 0) {
			t.Errorf("ListFunctions: sha %q size %d", aws.ToString(f.CodeSha256), f.CodeSize)
		}
	}

	// UpdateFunctionCode back to a zip, then to a folder again.
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("hot-node"),
		ZipFile: servertest.Zip(t, map[string]string{"index.mjs": "export const handler = async () => 'zip';\n"})}); err != nil {
		t.Fatal(err)
	}
	if got := invokeString(t, c, "hot-node", "{}"); got != `"zip"` {
		t.Fatalf("hot-node from a zip answers %s", got)
	}
	node2 := t.TempDir()
	writeFile(t, filepath.Join(node2, "index.mjs"), "export const handler = async () => 'node2';\n", 0o644)
	up, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("hot-node"),
		S3Bucket: aws.String("hot-reload"), S3Key: aws.String(node2)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(up.CodeSha256) != "hot-reloading-hash-not-available" {
		t.Errorf("UpdateFunctionCode CodeSha256 %q", aws.ToString(up.CodeSha256))
	}
	if got := invokeString(t, c, "hot-node", "{}"); got != `"node2"` {
		t.Fatalf("hot-node from its new folder answers %s", got)
	}
}

// goBootstrap is the echo test function's binary.
func goBootstrap(t *testing.T) []byte {
	t.Helper()
	z := servertest.GoFunction(t, "echo")
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHotReloadProvidedBootstrap(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	dir := t.TempDir()
	bin := goBootstrap(t)
	writeFile(t, filepath.Join(dir, "bootstrap"), string(bin), 0o755)
	mustCreate(t, c, "hot-go", func(in *lambda.CreateFunctionInput) { in.Code = hotCode(dir) })
	pid := func() int {
		var out struct{ Pid int }
		if err := json.Unmarshal([]byte(invokeString(t, c, "hot-go", `{"op":"pid"}`)), &out); err != nil {
			t.Fatal(err)
		}
		return out.Pid
	}
	first := pid()
	if again := pid(); again != first {
		t.Fatalf("warm invoke ran pid %d, want %d", again, first)
	}
	// A rebuild replaces the binary as go build does (a new file renamed
	// over the old): the next invokes run a new process of it.
	tmp := filepath.Join(dir, "bootstrap.tmp")
	writeFile(t, tmp, string(bin), 0o755)
	if err := os.Rename(tmp, filepath.Join(dir, "bootstrap")); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, 10*time.Second, "a new process after the rebuild", func() bool { return pid() != first })
}

func TestHotReloadRefused(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "app.py")
	writeFile(t, file, "x = 1\n", 0o644)
	missing := filepath.Join(t.TempDir(), "gone")
	cases := []struct {
		name, bucket, key, msg string
	}{
		{"relative", "hot-reload", "src/fn", "When using hot reloading, the archive key has to be an absolute path! Your archive key: src/fn"},
		{"missing", "hot-reload", missing, "The hot-reload folder " + missing + " does not exist on the lambada host."},
		{"file", "hot-reload", file, "The hot-reload path " + file + " is not a folder."},
		{"other bucket", "my-bucket", "/tmp", "Code from S3 (S3Bucket, S3Key, S3ObjectVersion) is not supported by this server."},
	}
	for _, tc := range cases {
		in := createInput(t, "refused")
		in.Code = &types.FunctionCode{S3Bucket: aws.String(tc.bucket), S3Key: aws.String(tc.key)}
		_, err := c.CreateFunction(ctx, in)
		if code, msg, status := servertest.APIError(err); code != "InvalidParameterValueException" || msg != tc.msg || status != http.StatusBadRequest {
			t.Errorf("CreateFunction %s: %s %q %d", tc.name, code, msg, status)
		}
		mustCreate(t, c, "kept", nil)
		_, err = c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("kept"), S3Bucket: aws.String(tc.bucket), S3Key: aws.String(tc.key)})
		if code, msg, status := servertest.APIError(err); code != "InvalidParameterValueException" || msg != tc.msg || status != http.StatusBadRequest {
			t.Errorf("UpdateFunctionCode %s: %s %q %d", tc.name, code, msg, status)
		}
		// Nothing was created or changed.
		if _, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("refused")}); err == nil {
			t.Errorf("%s: the refused function exists", tc.name)
		}
		got, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("kept")})
		if err != nil || strings.HasPrefix(aws.ToString(got.Code.Location), "file:") || aws.ToString(got.Configuration.CodeSha256) == "hot-reloading-hash-not-available" {
			t.Errorf("%s: kept changed: %v", tc.name, err)
		}
		if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("kept")}); err != nil {
			t.Fatal(err)
		}
	}
	// Layers: the same refusals; no layer version is published.
	for _, tc := range cases[:3] {
		_, err := c.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String("hot"),
			Content: &types.LayerVersionContentInput{S3Bucket: aws.String(tc.bucket), S3Key: aws.String(tc.key)}})
		if code, msg, status := servertest.APIError(err); code != "InvalidParameterValueException" || msg != tc.msg || status != http.StatusBadRequest {
			t.Errorf("PublishLayerVersion %s: %s %q %d", tc.name, code, msg, status)
		}
	}
	if got, err := c.ListLayerVersions(ctx, &lambda.ListLayerVersionsInput{LayerName: aws.String("hot")}); err != nil || len(got.LayerVersions) != 0 {
		t.Errorf("refused layer versions were published: %v %v", got, err)
	}
}

// A layer whose content is a host folder: GetLayerVersion shows it as a
// function's folder code is shown, and an edit in it is live in every
// function using it — alone (the folder is /opt) or merged with a zip
// layer — without any call; the folder is watched while a function uses it.
func TestHotReloadLayer(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "python"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "python", "shared.py"), "V = 'layer-v1'\n", 0o644)
	hot, err := c.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String("hot"),
		Content: &types.LayerVersionContentInput{S3Bucket: aws.String("hot-reload"), S3Key: aws.String(dir)}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetLayerVersion(ctx, &lambda.GetLayerVersionInput{LayerName: aws.String("hot"), VersionNumber: aws.Int64(hot.Version)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Content.CodeSha256) != "hot-reloading-hash-not-available" || got.Content.CodeSize != 0 || aws.ToString(got.Content.Location) != "file://"+dir {
		t.Errorf("GetLayerVersion: sha %q size %d location %q", aws.ToString(got.Content.CodeSha256), got.Content.CodeSize, aws.ToString(got.Content.Location))
	}
	zipped, err := c.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String("zipped"),
		Content: &types.LayerVersionContentInput{ZipFile: servertest.Zip(t, map[string]string{"python/other.py": "W = 'zip'\n"})}})
	if err != nil {
		t.Fatal(err)
	}
	for name, layers := range map[string][]string{
		"alone":  {aws.ToString(hot.LayerVersionArn)},
		"merged": {aws.ToString(zipped.LayerVersionArn), aws.ToString(hot.LayerVersionArn)},
	} {
		mustCreate(t, c, name, func(in *lambda.CreateFunctionInput) {
			in.Runtime, in.Handler, in.Layers = types.RuntimePython312, aws.String("app.handler"), layers
			in.Code = &types.FunctionCode{ZipFile: servertest.Zip(t, map[string]string{"app.py": "import shared\n" +
				"def handler(event, context):\n    try:\n        import other\n        w = other.W\n    except ImportError:\n        w = '-'\n    return shared.V + ':' + w\n"})}
		})
	}
	if got := invokeString(t, c, "alone", "{}"); got != `"layer-v1:-"` {
		t.Fatalf("alone answers %s", got)
	}
	if got := invokeString(t, c, "merged", "{}"); got != `"layer-v1:zip"` {
		t.Fatalf("merged answers %s", got)
	}
	writeFile(t, filepath.Join(dir, "python", "shared.py"), "V = 'layer-v2'\n", 0o644)
	waitAnswer(t, c, "alone", "{}", `"layer-v2:-"`)
	waitAnswer(t, c, "merged", "{}", `"layer-v2:zip"`)
	if !strings.Contains(string(s.MetricsText(t)), "lambada_hot_reload_folders 1\n") {
		t.Error("the layer's folder is not counted as watched")
	}
	for _, name := range []string{"alone", "merged"} {
		if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	waitfor.True(t, 10*time.Second, "the layer's folder unwatched", func() bool {
		return strings.Contains(string(s.MetricsText(t)), "lambada_hot_reload_folders 0\n")
	})
}

// TestHotReloadBeyondLoopback: on a listener that is not loopback, host
// folders need --allow-host-code; the marker bucket is a flag.
func TestHotReloadBeyondLoopback(t *testing.T) {
	t.Parallel()
	creds := func(cfg *server.Config) {
		cfg.Listen = "0.0.0.0:0"
		cfg.AccessKeyID, cfg.SecretAccessKey = "AKIDHOTRELOAD0000000", "secret-hot-reload"
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bootstrap"), "#!/bin/sh\n", 0o755)
	off := servertest.Start(t, servertest.Options{Config: creds})
	in := createInput(t, "hot")
	in.Code = hotCode(dir)
	_, err := off.Client.CreateFunction(context.Background(), in)
	if code, msg, status := servertest.APIError(err); code != "InvalidParameterValueException" ||
		msg != "Code from a host folder is off on this server: it listens beyond loopback. Start it with --allow-host-code to allow it." || status != http.StatusBadRequest {
		t.Errorf("CreateFunction beyond loopback: %s %q %d", code, msg, status)
	}
	on := servertest.Start(t, servertest.Options{Config: func(cfg *server.Config) {
		creds(cfg)
		cfg.AllowHostCode, cfg.HotReloadBucket = true, "__local__"
	}})
	in.Code = &types.FunctionCode{S3Bucket: aws.String("__local__"), S3Key: aws.String(dir)}
	if _, err := on.Client.CreateFunction(context.Background(), in); err != nil {
		t.Errorf("CreateFunction with --allow-host-code and bucket __local__: %v", err)
	}
	in.FunctionName = aws.String("hot2")
	in.Code = hotCode(dir) // "hot-reload" is no marker on this server
	_, err = on.Client.CreateFunction(context.Background(), in)
	if code, _, _ := servertest.APIError(err); code != "InvalidParameterValueException" {
		t.Errorf("CreateFunction with the default marker on a renamed one: %v", err)
	}
}

// A folder's watcher does not outlive its functions: DeleteFunction, and
// UpdateFunctionCode to a zip, stop it (lambada_hot_reload_folders counts
// the folders watched); a folder two functions share stays watched while
// one of them uses it.
func TestHotReloadWatcherFollowsFunctions(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	c := s.Client
	ctx := context.Background()
	watched := func(want int) {
		t.Helper()
		line := fmt.Sprintf("lambada_hot_reload_folders %d\n", want)
		waitfor.True(t, 10*time.Second, line, func() bool { return strings.Contains(string(s.MetricsText(t)), line) })
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app.py"), "def handler(event, context):\n    return 'v1'\n", 0o644)
	for _, name := range []string{"w1", "w2"} {
		mustCreate(t, c, name, func(in *lambda.CreateFunctionInput) {
			in.Runtime, in.Handler, in.Code = types.RuntimePython312, aws.String("app.handler"), hotCode(dir)
		})
	}
	watched(0) // watching starts with the first environment
	invokeString(t, c, "w1", "{}")
	invokeString(t, c, "w2", "{}")
	watched(1)
	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("w1")}); err != nil {
		t.Fatal(err)
	}
	// w2 still runs from the folder: it is watched, edits are live.
	writeFile(t, filepath.Join(dir, "app.py"), "def handler(event, context):\n    return 'v2'\n", 0o644)
	waitAnswer(t, c, "w2", "{}", `"v2"`)
	watched(1)
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("w2"),
		ZipFile: servertest.Zip(t, map[string]string{"app.py": "def handler(event, context):\n    return 'zip'\n"})}); err != nil {
		t.Fatal(err)
	}
	watched(0)
	if got := invokeString(t, c, "w2", "{}"); got != `"zip"` {
		t.Fatalf("w2 from its zip answers %s", got)
	}
	// Back on the folder: watched again from its next environment; then
	// deleting the function stops it.
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("w2"),
		S3Bucket: aws.String(server.DefaultHotReloadBucket), S3Key: aws.String(dir)}); err != nil {
		t.Fatal(err)
	}
	invokeString(t, c, "w2", "{}")
	watched(1)
	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("w2")}); err != nil {
		t.Fatal(err)
	}
	watched(0)
}
