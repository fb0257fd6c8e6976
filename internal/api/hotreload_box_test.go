package api_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/sandbox"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
)

// In the sandbox the folder is the function's /var/task and an edit is
// live as without it.
func TestHotReloadSandboxed(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.Isolation = sandbox.Auto }})
	c := s.Client
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app.py"), "import os\ndef handler(event, context):\n    return 'v1:' + os.environ['LAMBDA_TASK_ROOT']\n", 0o644)
	mustCreate(t, c, "hot-box", func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler, in.Code = types.RuntimePython312, aws.String("app.handler"), hotCode(dir)
	})
	// /var/task where the host lets the box mount its own root, the
	// folder itself where it does not.
	got := invokeString(t, c, "hot-box", "{}")
	if got != `"v1:/var/task"` && got != `"v1:`+dir+`"` {
		t.Fatalf("hot-box answers %s", got)
	}
	t.Logf("task root in the box: %s", got)
	writeFile(t, filepath.Join(dir, "app.py"), "def handler(event, context):\n    return 'v2'\n", 0o644)
	waitAnswer(t, c, "hot-box", "{}", `"v2"`)

	// A layer from a folder is the box's /opt, and live too.
	layer := t.TempDir()
	if err := os.Mkdir(filepath.Join(layer, "python"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(layer, "python", "shared.py"), "V = 'layer-v1'\n", 0o644)
	lv, err := c.PublishLayerVersion(context.Background(), &lambda.PublishLayerVersionInput{LayerName: aws.String("hot-box-layer"),
		Content: &types.LayerVersionContentInput{S3Bucket: aws.String(server.DefaultHotReloadBucket), S3Key: aws.String(layer)}})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "app.py"), "import shared\ndef handler(event, context):\n    return shared.V\n", 0o644)
	if _, err := c.UpdateFunctionConfiguration(context.Background(), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("hot-box"),
		Layers: []string{aws.ToString(lv.LayerVersionArn)}}); err != nil {
		t.Fatal(err)
	}
	waitAnswer(t, c, "hot-box", "{}", `"layer-v1"`)
	writeFile(t, filepath.Join(layer, "python", "shared.py"), "V = 'layer-v2'\n", 0o644)
	waitAnswer(t, c, "hot-box", "{}", `"layer-v2"`)
}
