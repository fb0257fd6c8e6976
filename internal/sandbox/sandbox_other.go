//go:build !linux

package sandbox

import (
	"context"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
)

// Host is what this machine supports: outside Linux, nothing.
type Host struct {
	mode   Mode
	active map[string]bool
	why    map[string]string
	cg     *cgroupRoot
}

type cgroupRoot struct{}

func (*cgroupRoot) version() string { return "" }

// Probe reports every protection missing; Strict refuses to start.
func Probe(_ context.Context, opt Options) (*Host, error) {
	h := &Host{mode: opt.Mode, active: map[string]bool{}}
	if h.mode == "" {
		h.mode = Auto
	}
	if h.mode == None {
		return h, nil
	}
	for _, p := range Protections {
		h.missing(p, "not supported outside Linux")
	}
	// Boxes cannot start here: run as plain processes.
	if h.mode == Strict {
		return nil, h.strictCheck()
	}
	h.mode = None
	return h, nil
}

// Close does nothing.
func (h *Host) Close() {}

// Spec is one box (see the Linux implementation).
type Spec struct {
	Path                  string
	Args, Env             []string
	Dir                   string
	CodeDir, BootstrapDir string
	OptDir                string
	ReadOnly              []string
	MemoryMB, TmpMB       int
	Stdout, Stderr        io.Writer
}

// Box is never made outside Linux.
type Box struct{ Cmd *exec.Cmd }

// Prepare always fails outside Linux.
func (h *Host) Prepare(Spec) (*Box, error) { return nil, errors.New("sandbox: not supported") }

func (b *Box) Start() error { return errors.New("sandbox: not supported") }

// Outsiders returns ln: there is no peer check outside Linux.
func (h *Host) Outsiders(ln net.Listener, _ func(net.Addr, int, error)) net.Listener { return ln }

// Guard returns ln: there is no peer check outside Linux.
func (b *Box) Guard(ln net.Listener, _ func(net.Addr, int, error)) net.Listener { return ln }
func (b *Box) Kill()                                                            {}
func (b *Box) Finish()                                                          {}
func (b *Box) PeakMemoryKB() int64                                              { return 0 }
func (b *Box) OOMKilled() bool                                                  { return false }
func realPath(p string) (string, error)                                         { return filepath.EvalSymlinks(p) }
