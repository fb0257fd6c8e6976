package api_test

import (
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
}
