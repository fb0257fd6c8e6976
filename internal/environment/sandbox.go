package environment

import (
	"strings"
	"time"

	"github.com/lambada-dev/lambada/internal/sandbox"
)

// boxed replaces e.cmd with a sandbox box for the runtime process and
// returns how to start it. With a private root the runtime sees its code
// at /var/task, the embedded bootstrap at /var/runtime and its own /tmp
// (docs/behaviour/runtime-api.md §5) and its layers at /opt (docs/behaviour/layers.md §6): the spec's
// host paths are rewritten to those in the command, lambada's variables,
// LAMBDA_TASK_ROOT, LAMBDA_RUNTIME_DIR, LD_LIBRARY_PATH and TMPDIR.
func (e *Env) boxed(now time.Time) func() error {
	s := e.spec
	hostTask, hostRuntime := s.TaskRoot, s.RuntimeDir
	var readOnly []string
	if !strings.HasPrefix(s.Command[0], hostTask+"/") {
		// An interpreter: its install prefix must be visible.
		readOnly = sandbox.InstallPrefixes(s.Command[0])
	}
	hostOpt := s.OptDir
	if s.Sandbox.Mounts() {
		pairs := []string{hostTask, sandbox.TaskRoot}
		if hostRuntime != "" {
			pairs = append(pairs, hostRuntime, sandbox.RuntimeDir)
		}
		if hostOpt != "" {
			pairs = append(pairs, hostOpt, sandbox.OptDir)
		}
		r := strings.NewReplacer(pairs...)
		cmd := make([]string, len(s.Command))
		for i, a := range s.Command {
			cmd[i] = r.Replace(a)
		}
		s.Command = cmd
		extra := make(map[string]string, len(s.ExtraEnv))
		for k, v := range s.ExtraEnv {
			extra[k] = r.Replace(v)
		}
		s.ExtraEnv = extra
		s.TaskRoot = sandbox.TaskRoot
		if hostRuntime != "" {
			s.RuntimeDir = sandbox.RuntimeDir
		}
		s.TmpDir = sandbox.TmpDir
		if hostOpt != "" {
			s.OptDir = sandbox.OptDir
		}
	}
	box, err := s.Sandbox.Prepare(sandbox.Spec{
		Path: s.Command[0], Args: s.Command,
		Env:     buildEnv(s, e.ln.Addr().String(), s.LogStream),
		Dir:     s.TaskRoot,
		CodeDir: hostTask, BootstrapDir: hostRuntime, OptDir: hostOpt, ReadOnly: readOnly,
		MemoryMB: s.MemoryMB, TmpMB: s.EphemeralMB,
		Stdout: e.logs.w, Stderr: e.logs.w,
	})
	if err != nil {
		return func() error { return err }
	}
	e.box, e.cmd = box, box.Cmd
	return func() error {
		err := box.Start()
		e.cmd = box.Cmd // the started process (a spare shim's, sandbox.Box.Start)
		return err
	}
}
