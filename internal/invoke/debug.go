package invoke

import (
	"maps"
	"slices"
	"strconv"

	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/runtimes"
)

// Debug mode (docs/behaviour/dev-loop.md §6) is per function: its
// Environment sets DebugVar to "1".
const (
	DebugVar     = "LAMBADA_DEBUG"
	DebugPortVar = "LAMBADA_DEBUG_PORT"
	// DebugTimeoutSec stands for "no timeout": 12 hours.
	DebugTimeoutSec = 12 * 60 * 60
	// DefaultNodeDebugPort and DefaultPythonDebugPort are the debuggers'
	// usual ports (Node's inspector, debugpy), used when DebugPortVar is
	// not set.
	DefaultNodeDebugPort   = 9229
	DefaultPythonDebugPort = 5678
)

// DebugMode reports whether cfg runs in debug mode.
func DebugMode(cfg *function.Config) bool { return cfg.Environment[DebugVar] == "1" }

// debugPort is the port cfg's debugger listens on.
func debugPort(cfg *function.Config) int {
	if p, err := strconv.Atoi(cfg.Environment[DebugPortVar]); err == nil && p > 0 && p < 65536 {
		return p
	}
	if function.RuntimeFamily(cfg.Runtime) == "python" {
		return DefaultPythonDebugPort
	}
	return DefaultNodeDebugPort
}

// debugLaunch is l in debug mode: Node starts its inspector on loopback,
// every runtime gets the port in DebugPortVar (for debugpy, or a provided
// runtime's own debugger server).
func debugLaunch(cfg *function.Config, l runtimes.Launch) runtimes.Launch {
	port := strconv.Itoa(debugPort(cfg))
	if function.RuntimeFamily(cfg.Runtime) == "nodejs" && len(l.Argv) > 0 {
		l.Argv = slices.Insert(slices.Clone(l.Argv), 1, "--inspect=127.0.0.1:"+port)
	}
	env := maps.Clone(l.Env)
	if env == nil {
		env = map[string]string{}
	}
	env[DebugPortVar] = port
	l.Env = env
	return l
}
