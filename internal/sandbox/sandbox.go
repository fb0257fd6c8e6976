// Package sandbox starts an environment's runtime process isolated from the
// host where the host allows it, and reports the isolation it achieved as
// data (docs/architecture.md; docs/behaviour/runtime-api.md §7 "resources").
//
// A Host is probed once at server start: it tries each protection for real
// (a user namespace, a mount namespace with a private root, a pid
// namespace, cgroup memory/pids/cpu controllers, rlimits, no_new_privs) and
// keeps those that work. Host.Prepare then gives each environment a Box:
// the runtime process starts through a small init shim (this binary
// re-executed, see shim_linux.go) that builds the box's root inside the
// new namespaces, joins the box's cgroup, sets rlimits, drops privileges
// and execs the runtime. The runtime is pid 1 of its pid namespace, so
// killing it kills every process it left behind.
//
// Inside a box the function sees: its code read-only at /var/task, the
// embedded bootstrap read-only at /var/runtime, the system directories
// (/usr, /bin, /sbin, /lib*, /etc) and the interpreter's install prefix
// read-only, a minimal /dev, its own /proc and a private /tmp tmpfs of
// EphemeralStorage MB. Never the data folder, other functions' code, the
// server's credentials or the storage files. The network is the host's, so
// the function reaches its Runtime API and lambada's API on loopback; its
// Runtime API refuses every other uid's connection (RuntimeAPIPeer).
//
// Decision: /tmp is a tmpfs, so what a function keeps there counts toward
// its memory cgroup (AWS's /tmp is disk): a function filling /tmp beyond
// its free memory is stopped by the memory limit (Runtime.OutOfMemory)
// before it sees ENOSPC. The memory limit is MemorySize +
// MemoryOverheadMB; CPU shares follow AWS's proportion (1,024 per
// MBPerVCPU).
//
// Identity: with a root server and a user namespace the runtime runs as
// BoxUID:BoxGID (AWS's sbx_user1051), which is a host id of that box's
// own outside; without a user namespace, as that host id directly; an
// unprivileged server can only map its own id, so the runtime is root of
// its namespace with every capability dropped. The per-box host id is what
// lets a box's Runtime API tell its own processes' connections from any
// other's (RuntimeAPIPeer, peer_linux.go).
package sandbox

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
)

// Mode is the --isolation setting.
type Mode string

// The isolation modes.
const (
	// Auto uses every protection the host supports (the default).
	Auto Mode = "auto"
	// Strict refuses to start unless every Required protection works.
	Strict Mode = "strict"
	// None starts runtime processes as plain children of the server.
	None Mode = "none"
)

// DefaultMode is the --isolation default.
const DefaultMode = Auto

// UnmarshalText reads a Mode with ParseMode, so a flag can hold one.
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// MarshalText writes the Mode as its flag value.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m), nil }

// ParseMode reads a --isolation value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Auto, Strict, None:
		return m, nil
	case "":
		return Auto, nil
	}
	return "", fmt.Errorf("unknown isolation mode %q (want auto, strict or none)", s)
}

// Protection names, as Report and /health spell them.
const (
	UserNS       = "user_ns"       // the runtime runs as an unprivileged id of its own user namespace
	MountNS      = "mount_ns"      // a private root: code, runtime, system libraries, /tmp only
	PidNS        = "pid_ns"        // cannot see or signal other processes; no orphans
	NoNewPrivs   = "no_new_privs"  // no setuid/file-capability escalation
	Rlimits      = "rlimits"       // 1,024 open files and processes
	TmpSize      = "tmp_size"      // /tmp is a tmpfs of EphemeralStorage MB
	CgroupMemory = "cgroup_memory" // memory limit = MemorySize + MemoryOverheadMB, OOM detection
	CgroupPids   = "cgroup_pids"   // pids limit
	CgroupCPU    = "cgroup_cpu"    // CPU share proportional to memory
	// RuntimeAPIPeer: each box runs as a host uid of its own and its
	// Runtime API accepts only connections from sockets of that uid
	// (Box.Guard; docs/security.md "Runtime API isolation").
	RuntimeAPIPeer = "runtime_api_peer"
)

// Protections lists every protection, in report order.
var Protections = []string{UserNS, MountNS, PidNS, NoNewPrivs, Rlimits, TmpSize, CgroupMemory, CgroupPids, CgroupCPU, RuntimeAPIPeer}

// Required are the protections Strict insists on. CPU shares are reported
// but optional: they only matter under contention.
var Required = []string{UserNS, MountNS, PidNS, NoNewPrivs, Rlimits, TmpSize, CgroupMemory, CgroupPids, RuntimeAPIPeer}

// Limits applied to every box (docs/behaviour/runtime-api.md §7, AWS's quotas).
const (
	MaxOpenFiles = 1024
	MaxProcesses = 1024
	// MemoryOverheadMB is added to MemorySize for the cgroup limit: the
	// cgroup also charges page tables, kernel stacks and the page cache of
	// what the function reads, which AWS's figure leaves out.
	MemoryOverheadMB = 16
	// MBPerVCPU is how much memory buys one full CPU share on AWS.
	MBPerVCPU = 1769
)

// Paths inside a box.
const (
	TaskRoot   = "/var/task"
	RuntimeDir = "/var/runtime"
	TmpDir     = "/tmp"
	OptDir     = "/opt"
)

// Ids the function runs as inside its box: AWS's sbx_user1051.
const (
	BoxUID = 993
	BoxGID = 990
	// hostIDBase is the start of the dedicated host id range: each box
	// gets a host id of its own, hostIDBase+1000+n, which its BoxUID and
	// BoxGID map to (user namespace) or which it runs as directly (without
	// one). A server starts at a random n, so two servers on one host
	// practically never hand out the same id.
	hostIDBase = 2_000_000_000
	hostIDs    = 1 << 30
)

// Report is the isolation a Host achieved, for logs and /health.
type Report struct {
	Mode Mode `json:"mode"`
	// Active has every protection of Protections, true when in use.
	Active map[string]bool `json:"active"`
	// Cgroups is "v1" or "v2" when cgroups are used.
	Cgroups string `json:"cgroups,omitempty"`
	// Missing says why each inactive protection is off.
	Missing map[string]string `json:"missing,omitempty"`
}

// Options configure Probe.
type Options struct {
	Mode Mode
	// Key names this server's cgroups (a hash of its data folder): Probe
	// removes what a killed server with the same key left behind.
	Key string
	// Disable turns protections off as if the host lacked them (tests of
	// weaker hosts).
	Disable []string
}

// ErrStrict: Strict mode and a Required protection is missing.
var ErrStrict = errors.New("isolation: strict mode and the host lacks protections")

// Report returns the achieved isolation.
func (h *Host) Report() Report {
	r := Report{Mode: None, Active: map[string]bool{}}
	for _, p := range Protections {
		r.Active[p] = false
	}
	if h == nil {
		return r
	}
	r.Mode = h.mode
	for p := range h.active {
		r.Active[p] = true
	}
	if h.cg != nil {
		r.Cgroups = h.cg.version()
	}
	if len(h.why) > 0 {
		r.Missing = map[string]string{}
		for k, v := range h.why {
			r.Missing[k] = v
		}
	}
	return r
}

// String is the report as one line: "auto: user_ns mount_ns … (missing: …)".
func (r Report) String() string {
	var on, off []string
	for _, p := range Protections {
		if r.Active[p] {
			on = append(on, p)
		} else if r.Mode != None {
			off = append(off, p+" ("+r.Missing[p]+")")
		}
	}
	s := string(r.Mode) + ": " + strings.Join(on, " ")
	if len(on) == 0 {
		s += "no protections"
	}
	if len(off) > 0 {
		s += "; missing: " + strings.Join(off, ", ")
	}
	return s
}

// Active reports whether protection p is in use.
func (h *Host) Active(p string) bool { return h != nil && h.active[p] }

// Enabled reports whether runtime processes start through a Box.
func (h *Host) Enabled() bool { return h != nil && h.mode != None }

// Mounts reports whether boxes get their own root (code at TaskRoot,
// bootstrap at RuntimeDir, private /tmp at TmpDir).
func (h *Host) Mounts() bool { return h.Active(MountNS) }

func (h *Host) missing(p, why string) {
	delete(h.active, p)
	if h.why == nil {
		h.why = map[string]string{}
	}
	if _, ok := h.why[p]; !ok {
		h.why[p] = why
	}
}

func (h *Host) strictCheck() error {
	var lack []string
	for _, p := range Required {
		if !h.active[p] {
			lack = append(lack, p+": "+h.why[p])
		}
	}
	if len(lack) == 0 {
		return nil
	}
	sort.Strings(lack)
	return fmt.Errorf("%w: %s", ErrStrict, strings.Join(lack, "; "))
}

// InstallPrefixes returns what must be visible for the interpreter at
// path to run: the parent of its bin directory (/root/.nvm/versions/node/v20
// for …/v20/bin/node, /root/.pyenv for the pyenv shim …/shims/python3),
// for the path as given and with symlinks resolved. System prefixes that
// every box sees anyway are left out.
func InstallPrefixes(path string) []string {
	var out []string
	add := func(p string) {
		prefix := parentDir(parentDir(p))
		if prefix == "" || systemPath(prefix) || slices.Contains(out, prefix) {
			return
		}
		out = append(out, prefix)
	}
	add(path)
	if real, err := evalSymlinks(path); err == nil && real != path {
		add(real)
	}
	return out
}

func parentDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return ""
	}
	return p[:i]
}

// systemDirs are bound read-only into every box (or recreated as the
// host's symlinks, /bin → usr/bin).
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"}

// systemPath reports whether p is inside what every box sees.
func systemPath(p string) bool {
	for _, d := range systemDirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

var evalSymlinks = func(p string) (string, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return "", err
	}
	if fi.Mode()&os.ModeSymlink == 0 {
		return p, nil
	}
	return realPath(p)
}
