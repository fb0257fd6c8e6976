// Package runtimes maps a function's Runtime value to how its environment
// starts the runtime process: provided.* runs the package's own bootstrap;
// nodejs* and python* run bootstraps embedded in this binary, with the
// host's interpreter.
package runtimes

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/logkey"
)

// ErrUnsupported: the runtime exists on AWS but this server cannot run it.
var ErrUnsupported = errors.New("runtime not supported on this host")

// bootstraps are the Node.js and Python runtime clients: standard library
// only, speaking the Runtime API over loopback like AWS's own.
//
//go:embed node python
var bootstraps embed.FS

// Default interpreters (--node, --python), looked up on PATH.
const (
	DefaultNode   = "node"
	DefaultPython = "python3"
)

// Config says where the interpreters are and where to unpack bootstraps.
type Config struct {
	// Node and Python name the interpreters (DefaultNode, DefaultPython),
	// looked up on PATH when not absolute.
	Node, Python string
	// Dir receives the embedded bootstraps; it becomes LAMBDA_RUNTIME_DIR.
	Dir    string
	Logger *slog.Logger
}

// Interpreter is one host interpreter found at start.
type Interpreter struct {
	Path    string `json:"path"`
	Version string `json:"version"` // as the interpreter reports it: "v20.19.2", "3.11.2"
}

// Host knows how to start every runtime this machine can run.
type Host struct {
	dir     string
	log     *slog.Logger
	node    *Interpreter
	python  *Interpreter
	missing map[string]error // family → why it is unavailable

	mu     sync.Mutex
	warned map[string]bool // function+runtime already warned about
}

// Open unpacks the bootstraps into cfg.Dir and looks for the interpreters.
// A missing interpreter is not an error: that family is unavailable.
func Open(ctx context.Context, cfg Config) (*Host, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Node == "" {
		cfg.Node = DefaultNode
	}
	if cfg.Python == "" {
		cfg.Python = DefaultPython
	}
	h := &Host{dir: cfg.Dir, log: cfg.Logger, missing: map[string]error{}, warned: map[string]bool{}}
	if err := unpack(cfg.Dir); err != nil {
		return nil, fmt.Errorf("unpacking runtime bootstraps: %w", err)
	}
	var err error
	if h.node, err = find(ctx, cfg.Node, "-p", `process.execPath + "\n" + process.version`); err != nil {
		h.missing["nodejs"] = err
	}
	if h.python, err = find(ctx, cfg.Python, "-c", `import sys; print(sys.executable); print("%d.%d.%d" % sys.version_info[:3])`); err != nil {
		h.missing["python"] = err
	}
	for _, in := range []*Interpreter{h.node, h.python} {
		if in != nil {
			h.log.Info("runtime interpreter", logkey.Path, in.Path, logkey.Version, in.Version)
		}
	}
	return h, nil
}

// unpack writes the embedded bootstraps under dir, replacing older copies.
func unpack(dir string) error {
	return fs.WalkDir(bootstraps, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, p)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := bootstraps.ReadFile(p)
		if err != nil {
			return err
		}
		tmp := dst + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, dst)
	})
}

// find resolves an interpreter and asks it, with probe, for the binary it
// really is and its version (two lines). Environments start that binary:
// version managers put shell-script shims on PATH (pyenv's python3 costs
// ~100 ms of bash before the interpreter even starts), and the binary's
// install prefix is what the sandbox must show.
func find(ctx context.Context, name string, probe ...string) (*Interpreter, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, err
	}
	if path, err = filepath.Abs(path); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, probe...).Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", path, strings.Join(probe, " "), err)
	}
	real, version, ok := strings.Cut(strings.TrimRight(string(out), "\r\n\t "), "\n")
	if !ok || strings.TrimSpace(version) == "" {
		return nil, fmt.Errorf("%s: unexpected answer to the version probe: %q", path, out)
	}
	// An interpreter that cannot name itself (sys.executable empty) or
	// names a file we cannot run keeps the path found on PATH.
	if real = strings.TrimSpace(real); filepath.IsAbs(real) {
		if st, err := os.Stat(real); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			path = real
		}
	}
	return &Interpreter{Path: path, Version: strings.TrimSpace(version)}, nil
}

// Launch is how to start one environment's runtime process.
type Launch struct {
	Argv       []string
	RuntimeDir string // LAMBDA_RUNTIME_DIR; "" for the default
	// Env is the runtime's own non-reserved variables (NODE_PATH,
	// PYTHONPATH): a function's Environment may override them.
	Env map[string]string
}

// Command returns how to start runtime for code unpacked at taskRoot.
func (h *Host) Command(runtime, taskRoot string) (Launch, error) {
	switch function.RuntimeFamily(runtime) {
	case "provided":
		return Launch{Argv: []string{filepath.Join(taskRoot, "bootstrap")}}, nil
	case "nodejs":
		if h.node == nil {
			return Launch{}, fmt.Errorf("%w: %s (no node interpreter: %v)", ErrUnsupported, runtime, h.missing["nodejs"])
		}
		dir := filepath.Join(h.dir, "node")
		return Launch{
			Argv: []string{h.node.Path, filepath.Join(dir, "bootstrap.mjs")}, RuntimeDir: dir,
			Env: map[string]string{"NODE_PATH": "/opt/nodejs/" + nodeMajor(runtime) + "/node_modules:/opt/nodejs/node_modules:" + dir + "/node_modules:" + taskRoot + "/node_modules"},
		}, nil
	case "python":
		if h.python == nil {
			return Launch{}, fmt.Errorf("%w: %s (no python interpreter: %v)", ErrUnsupported, runtime, h.missing["python"])
		}
		dir := filepath.Join(h.dir, "python")
		return Launch{
			Argv: []string{h.python.Path, "-u", filepath.Join(dir, "bootstrap.py")}, RuntimeDir: dir,
			// The layers' folders also through PYTHONPATH, where a box
			// without its own /opt finds them rewritten (docs/behaviour/layers.md §6).
			Env: map[string]string{"PYTHONPATH": dir + ":/opt/python/lib/python" + majorMinor(h.python.Version) + "/site-packages:/opt/python"},
		}, nil
	default:
		return Launch{}, fmt.Errorf("%w: %s", ErrUnsupported, runtime)
	}
}

// nodeMajor is a Node.js runtime's layer folder name: nodejs22.x → node22
// (docs/behaviour/layers.md §6).
func nodeMajor(runtime string) string {
	return "node" + strings.TrimSuffix(strings.TrimPrefix(runtime, "nodejs"), ".x")
}

// majorMinor cuts "3.12.4" to "3.12".
func majorMinor(version string) string {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return version
	}
	return parts[0] + "." + parts[1]
}

// Check logs, once per function and runtime, that the host interpreter's
// version differs from the one the function asked for. Never fatal: the
// function runs on what the host has.
func (h *Host) Check(functionName, runtime string) {
	want, have := "", ""
	switch function.RuntimeFamily(runtime) {
	case "nodejs":
		if h.node == nil {
			return
		}
		want = strings.TrimSuffix(strings.TrimPrefix(runtime, "nodejs"), ".x") // "20"
		have = strings.TrimPrefix(h.node.Version, "v")
		have, _, _ = strings.Cut(have, ".") // "20"
	case "python":
		if h.python == nil {
			return
		}
		want = strings.TrimPrefix(runtime, "python") // "3.12"
		parts := strings.SplitN(h.python.Version, ".", 3)
		if len(parts) >= 2 {
			have = parts[0] + "." + parts[1]
		}
	default:
		return
	}
	if want == have {
		return
	}
	key := functionName + "\x00" + runtime
	h.mu.Lock()
	seen := h.warned[key]
	h.warned[key] = true
	h.mu.Unlock()
	if !seen {
		h.log.Warn("runtime version differs from the host interpreter; running on the host's",
			logkey.Function, functionName, logkey.Runtime, runtime, logkey.HostVersion, have)
	}
}

// Available reports each runtime family and what runs it on this host, for
// /health: {"provided": "bootstrap", "nodejs": "v20.19.2", ...}; a family
// the host cannot run reports "unavailable: <why>".
func (h *Host) Available() map[string]string {
	out := map[string]string{"provided": "bootstrap"}
	if h.node != nil {
		out["nodejs"] = h.node.Version
	} else {
		out["nodejs"] = "unavailable: " + h.missing["nodejs"].Error()
	}
	if h.python != nil {
		out["python"] = h.python.Version
	} else {
		out["python"] = "unavailable: " + h.missing["python"].Error()
	}
	return out
}
