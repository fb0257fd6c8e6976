// Package runtimes maps a function's Runtime value to how its environment
// starts the runtime process: provided.* runs the package's own bootstrap;
// nodejs* and python* will run bootstraps embedded in the binary.
package runtimes

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/lambada-dev/lambada/internal/function"
)

// ErrUnsupported: the runtime exists on AWS but this server cannot run it.
var ErrUnsupported = errors.New("runtime not supported on this host")

// Command returns the argv that starts the runtime for code unpacked at
// taskRoot.
func Command(runtime, taskRoot string) ([]string, error) {
	switch function.RuntimeFamily(runtime) {
	case "provided":
		return []string{filepath.Join(taskRoot, "bootstrap")}, nil
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, runtime)
	}
}

// ExecutionEnv is AWS_EXECUTION_ENV for runtime: AWS_Lambda_<runtime>,
// and nothing for provided runtimes.
func ExecutionEnv(runtime string) string {
	if function.RuntimeFamily(runtime) == "provided" {
		return ""
	}
	return "AWS_Lambda_" + runtime
}
