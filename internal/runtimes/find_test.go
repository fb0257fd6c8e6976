package runtimes

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// writeScript writes an executable shell script named name into dir.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// Version-manager shims (pyenv, nvm, asdf) are shell scripts on PATH:
// environments must start the interpreter they lead to, not the script.
func TestOpenResolvesShimsToTheRealInterpreter(t *testing.T) {
	realPy, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	realNode, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node")
	}
	want := map[string]string{}
	for name, args := range map[string][]string{
		"python": {realPy, "-c", "import sys; print(sys.executable)"},
		"node":   {realNode, "-p", "process.execPath"},
	} {
		out, err := exec.Command(args[0], args[1:]...).Output()
		if err != nil {
			t.Fatal(err)
		}
		want[name] = strings.TrimSpace(string(out))
	}

	shims := t.TempDir()
	pyShim := writeScript(t, shims, "python3", `exec "`+realPy+`" "$@"`)
	nodeShim := writeScript(t, shims, "node", `exec "`+realNode+`" "$@"`)
	h, err := Open(context.Background(), Config{Node: nodeShim, Python: pyShim, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for runtime, family := range map[string]string{"python3.12": "python", "nodejs20.x": "node"} {
		l, err := h.Command(runtime, "/task")
		if err != nil {
			t.Fatal(err)
		}
		if l.Argv[0] != want[family] {
			t.Errorf("%s starts %s, want the interpreter behind the shim, %s", runtime, l.Argv[0], want[family])
		}
	}
	av := h.Available()
	if !strings.HasPrefix(av["nodejs"], "v") || strings.Count(av["python"], ".") != 2 || strings.Contains(av["python"], "Python") {
		t.Errorf("versions %v", av)
	}
}

func TestOpenRefusesInterpretersThatDoNotAnswer(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"fails":   "exit 3",
		"garbage": "echo nonsense",
		"empty":   "true",
	} {
		p := writeScript(t, dir, name, body)
		h, err := Open(context.Background(), Config{Node: p, Python: p, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Command("python3.12", "/task"); err == nil {
			t.Errorf("%s: python runtime available", name)
		}
		if _, err := h.Command("nodejs20.x", "/task"); err == nil {
			t.Errorf("%s: node runtime available", name)
		}
		if av := h.Available(); !strings.HasPrefix(av["python"], "unavailable: ") || !strings.HasPrefix(av["nodejs"], "unavailable: ") {
			t.Errorf("%s: /health would say %v", name, av)
		}
	}
	// Not on PATH at all.
	h, err := Open(context.Background(), Config{Node: "no-such-node-here", Python: "no-such-python-here", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if av := h.Available(); !strings.Contains(av["python"], "not found") || !strings.Contains(av["nodejs"], "not found") {
		t.Errorf("/health would say %v", av)
	}
}

// An interpreter that names no usable binary of its own keeps the path
// found on PATH.
func TestOpenKeepsThePathWhenTheInterpreterCannotNameItself(t *testing.T) {
	dir := t.TempDir()
	p := writeScript(t, dir, "python3", `printf '\n3.12.1\n'`)
	q := writeScript(t, dir, "node", `printf '/nonexistent/node\nv22.1.0\n'`)
	h, err := Open(context.Background(), Config{Node: q, Python: p, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if l, err := h.Command("python3.12", "/task"); err != nil || l.Argv[0] != p {
		t.Errorf("python: %v %v", l.Argv, err)
	}
	if l, err := h.Command("nodejs22.x", "/task"); err != nil || l.Argv[0] != q {
		t.Errorf("node: %v %v", l.Argv, err)
	}
	if av := h.Available(); av["python"] != "3.12.1" || av["nodejs"] != "v22.1.0" {
		t.Errorf("versions %v", av)
	}
}
