package runtimes

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestCheckWarnsOncePerFunction(t *testing.T) {
	var logs bytes.Buffer
	h := &Host{
		log:    slog.New(slog.NewTextHandler(&logs, nil)),
		node:   &Interpreter{Path: "/usr/bin/node", Version: "v20.20.2"},
		python: &Interpreter{Path: "/usr/bin/python3", Version: "3.11.7"},
		warned: map[string]bool{},
	}
	for range 3 {
		h.Check("same", "nodejs20.x")  // matches: nothing
		h.Check("same", "python3.11")  // matches: nothing
		h.Check("newer", "nodejs22.x") // once
		h.Check("newer", "python3.12") // once
		h.Check("other", "nodejs22.x") // once, another function
		h.Check("gofn", "provided.al2023")
	}
	got := logs.String()
	if n := strings.Count(got, "runtime version differs"); n != 3 {
		t.Fatalf("%d warnings, want 3:\n%s", n, got)
	}
	for _, want := range []string{"function=newer runtime=nodejs22.x host_version=20", "function=newer runtime=python3.12 host_version=3.11", "function=other runtime=nodejs22.x"} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
}
