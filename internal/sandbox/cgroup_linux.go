package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Cgroups: every box gets <controller root>/lambada/<key>/<box id>, where
// key names the server instance (its data folder). A server killed with
// kill -9 leaves its key's directory behind; the next start with the same
// data folder kills what is still in it and removes it (sweep).
const (
	cgroupMount  = "/sys/fs/cgroup"
	cgroupParent = "lambada"
)

// cgroupRoot is this server's parent group in every hierarchy it uses.
type cgroupRoot struct {
	v2   bool
	key  string
	ctrl map[string]bool // the v1Controllers available
}

// box is one environment's group.
type cgroupBox struct {
	root *cgroupRoot
	name string // key/id under the lambada parent
	v1   cgroup1.Cgroup
	v2   *cgroup2.Manager
	// peak stays open: a pread of it costs a third of open+read+close,
	// and every invocation's REPORT reads it. Callers serialise.
	peak *os.File
}

// v1Controllers are the cgroup v1 hierarchies lambada uses, each its own
// mount under cgroupMount.
var v1Controllers = []string{"memory", "pids", "cpu"}

func (r *cgroupRoot) version() string {
	if r.v2 {
		return "v2"
	}
	return "v1"
}

// openCgroups finds the hierarchies, makes this server's parent group and
// sweeps what a previous run with the same key left.
func openCgroups(key string) (*cgroupRoot, error) {
	r := &cgroupRoot{key: key, ctrl: map[string]bool{}}
	switch cgroups.Mode() {
	case cgroups.Unified:
		r.v2 = true
		b, err := os.ReadFile(filepath.Join(cgroupMount, "cgroup.controllers"))
		if err != nil {
			return nil, err
		}
		for _, c := range strings.Fields(string(b)) {
			r.ctrl[c] = true
		}
	case cgroups.Legacy, cgroups.Hybrid:
		for _, c := range v1Controllers {
			if _, err := os.Stat(filepath.Join(cgroupMount, c, "cgroup.procs")); err == nil {
				r.ctrl[c] = true
			}
		}
	default:
		return nil, errors.New("no cgroup hierarchy mounted at " + cgroupMount)
	}
	if len(r.ctrl) == 0 {
		return nil, errors.New("no memory, pids or cpu controller available")
	}
	for _, dir := range r.dirs("") {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	r.sweep()
	r.sweepOthers()
	return r, nil
}

// dirs are this server's group directories (or the box's, for name) in
// every hierarchy used.
func (r *cgroupRoot) dirs(name string) []string {
	rel := filepath.Join(cgroupParent, r.key, name)
	if r.v2 {
		return []string{filepath.Join(cgroupMount, rel)}
	}
	var out []string
	for _, c := range v1Controllers {
		if r.ctrl[c] {
			out = append(out, filepath.Join(cgroupMount, c, rel))
		}
	}
	return out
}

// sweep kills the processes of every box group left under this key and
// removes the groups.
func (r *cgroupRoot) sweep() {
	for _, dir := range r.dirs("") {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir() {
				_ = killAndRemove(filepath.Join(dir, e.Name()))
			}
		}
	}
}

// staleAge is how old an empty group of another server must be before
// sweepOthers removes it: older than any box's start.
const staleAge = time.Minute

// sweepOthers removes other servers' empty box groups older than
// staleAge, and their parents once empty: a server killed with kill -9
// whose data folder never serves again leaves them. A live server's box
// always holds its runtime process, so only the dead's are empty.
func (r *cgroupRoot) sweepOthers() {
	old := func(e fs.DirEntry) bool {
		fi, err := e.Info()
		return err == nil && e.IsDir() && time.Since(fi.ModTime()) > staleAge
	}
	for _, dir := range r.dirs("") {
		parent := filepath.Dir(dir)
		keys, _ := os.ReadDir(parent)
		for _, k := range keys {
			if k.Name() == r.key || !old(k) {
				continue
			}
			kd := filepath.Join(parent, k.Name())
			boxes, _ := os.ReadDir(kd)
			for _, b := range boxes {
				if bd := filepath.Join(kd, b.Name()); old(b) && len(readProcs(bd)) == 0 {
					_ = os.Remove(bd)
				}
			}
			_ = os.Remove(kd) // fails unless empty
		}
	}
}

// close removes this server's parent groups (empty by now) and the
// lambada parent when no other server uses it.
func (r *cgroupRoot) close() {
	r.sweep()
	for _, dir := range r.dirs("") {
		_ = os.Remove(dir)
		_ = os.Remove(filepath.Dir(dir)) // fails while another server uses it
	}
}

// killAndRemove SIGKILLs everything in the group dir until it is empty,
// then removes it.
func killAndRemove(dir string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids := readProcs(dir)
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		err := os.Remove(dir)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("removing cgroup %s: %w", dir, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readProcs(dir string) []int {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var out []int
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if pid, err := strconv.Atoi(strings.TrimSpace(sc.Text())); err == nil && pid > 0 {
			out = append(out, pid)
		}
	}
	return out
}

// limits of one box.
type cgroupLimits struct {
	memoryBytes int64 // 0 = none
	pids        int64
	cpuShares   uint64 // v1 scale (2…262144); 0 = none
}

// create makes a box group with the limits applied.
func (r *cgroupRoot) create(id string, l cgroupLimits) (*cgroupBox, error) {
	b := &cgroupBox{root: r, name: filepath.Join(r.key, id)}
	rel := "/" + filepath.Join(cgroupParent, b.name)
	if r.v2 {
		m, err := cgroup2.NewManager(cgroupMount, rel, r.v2Resources(l))
		if err != nil {
			return nil, fmt.Errorf("creating cgroup %s: %w", rel, err)
		}
		b.v2 = m
		return b, nil
	}
	var subs []cgroup1.Subsystem
	if r.ctrl["memory"] {
		subs = append(subs, cgroup1.NewMemory(cgroupMount, cgroup1.OptionalSwap()))
	}
	if r.ctrl["pids"] {
		subs = append(subs, cgroup1.NewPids(cgroupMount))
	}
	if r.ctrl["cpu"] {
		subs = append(subs, cgroup1.NewCpu(cgroupMount))
	}
	cg, err := cgroup1.New(cgroup1.StaticPath(rel), r.v1Resources(l),
		cgroup1.WithHierarchy(func() ([]cgroup1.Subsystem, error) { return subs, nil }))
	if err != nil {
		for _, dir := range r.dirs(id) {
			_ = os.Remove(dir)
		}
		return nil, fmt.Errorf("creating cgroup %s: %w", rel, err)
	}
	b.v1 = cg
	return b, nil
}

// v2Resources are the v2 settings for l.
func (r *cgroupRoot) v2Resources(l cgroupLimits) *cgroup2.Resources {
	res := &cgroup2.Resources{}
	if l.memoryBytes > 0 && r.ctrl["memory"] {
		mem, zero := l.memoryBytes, int64(0)
		res.Memory = &cgroup2.Memory{Max: &mem, Swap: &zero}
	}
	if l.pids > 0 && r.ctrl["pids"] {
		res.Pids = &cgroup2.Pids{Max: l.pids}
	}
	if l.cpuShares > 0 && r.ctrl["cpu"] {
		w := sharesToWeight(l.cpuShares)
		res.CPU = &cgroup2.CPU{Weight: &w}
	}
	return res
}

// v1Resources are the v1 settings for l.
func (r *cgroupRoot) v1Resources(l cgroupLimits) *specs.LinuxResources {
	res := &specs.LinuxResources{}
	if r.ctrl["memory"] && l.memoryBytes > 0 {
		mem := l.memoryBytes
		res.Memory = &specs.LinuxMemory{Limit: &mem}
		if _, err := os.Stat(filepath.Join(cgroupMount, "memory", "memory.memsw.limit_in_bytes")); err == nil {
			res.Memory.Swap = &mem // no swap beyond the limit
		}
	}
	if r.ctrl["pids"] && l.pids > 0 {
		p := l.pids
		res.Pids = &specs.LinuxPids{Limit: &p}
	}
	if r.ctrl["cpu"] && l.cpuShares > 0 {
		s := l.cpuShares
		res.CPU = &specs.LinuxCPU{Shares: &s}
	}
	return res
}

// apply sets l on a group made without limits (the Host's spare group,
// spare_linux.go), as create would have.
func (b *cgroupBox) apply(l cgroupLimits) error {
	if b.v2 != nil {
		return b.v2.Update(b.root.v2Resources(l))
	}
	return b.v1.Update(b.root.v1Resources(l))
}

// sharesToWeight converts cgroup v1 cpu.shares to v2 cpu.weight the way
// runc does.
func sharesToWeight(s uint64) uint64 {
	if s < 2 {
		s = 2
	}
	if s > 262144 {
		s = 262144
	}
	return 1 + ((s-2)*9999)/262142
}

// taskFiles are the v1 "tasks" files of the box's groups, for the shim to
// join itself (shim.Config.JoinTasks); nil on v2.
func (b *cgroupBox) taskFiles() []string {
	if b.v2 != nil {
		return nil
	}
	var out []string
	for _, c := range v1Controllers {
		if b.root.ctrl[c] {
			out = append(out, b.file(c, "tasks"))
		}
	}
	return out
}

func (b *cgroupBox) add(pid int) error {
	if b.v2 != nil {
		return b.v2.AddProc(uint64(pid))
	}
	return b.v1.AddProc(uint64(pid))
}

// file is the path of a control file of controller c.
func (b *cgroupBox) file(c, name string) string {
	rel := filepath.Join(cgroupParent, b.name, name)
	if b.v2 != nil {
		return filepath.Join(cgroupMount, rel)
	}
	return filepath.Join(cgroupMount, c, rel)
}

// peakBytes is the group's largest memory use so far; 0 when unknown.
func (b *cgroupBox) peakBytes() int64 {
	if !b.root.ctrl["memory"] {
		return 0
	}
	if b.peak == nil {
		name := "memory.max_usage_in_bytes"
		if b.v2 != nil {
			name = "memory.peak"
		}
		f, err := os.Open(b.file("memory", name))
		if err != nil {
			return 0
		}
		b.peak = f
	}
	var buf [32]byte
	n, _ := b.peak.ReadAt(buf[:], 0)
	v, _ := strconv.ParseInt(strings.TrimSpace(string(buf[:n])), 10, 64)
	return v
}

// oomKills counts processes of the group the OOM killer killed.
func (b *cgroupBox) oomKills() int64 {
	if !b.root.ctrl["memory"] {
		return 0
	}
	name := "memory.oom_control"
	if b.v2 != nil {
		name = "memory.events"
	}
	data, err := os.ReadFile(b.file("memory", name))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// kill SIGKILLs every process in the group (once).
func (b *cgroupBox) kill() {
	if b.v2 != nil {
		_ = b.v2.Kill()
		return
	}
	for _, dir := range b.root.dirs(filepath.Base(b.name)) {
		for _, pid := range readProcs(dir) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// remove kills what is left and deletes the group.
func (b *cgroupBox) remove() error {
	if b.peak != nil {
		b.peak.Close()
		b.peak = nil
	}
	var errs []error
	for _, dir := range b.root.dirs(filepath.Base(b.name)) {
		if err := killAndRemove(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
