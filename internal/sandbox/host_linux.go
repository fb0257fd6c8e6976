package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lambada-dev/lambada/internal/sandbox/shim"
)

// Host is what this machine supports, probed once at server start. A nil
// *Host is mode None.
type Host struct {
	mode   Mode
	root   bool // the server runs as host root
	active map[string]bool
	why    map[string]string
	cg     *cgroupRoot

	idMu   sync.Mutex
	idUsed map[int]bool // host ids of the boxes not yet finished, as offsets from hostIDBase+1000
	idNext int

	// spare is an init shim started ahead of need (spare.go), owned by
	// the Host until a box takes it; refills run on spareWG.
	spareMu     sync.Mutex
	spare       *shimProc
	spareClosed bool
	refilling   bool
	spareCG     *cgroupBox // a box group made ahead of need, without limits
	refillingCG bool
	spareWG     sync.WaitGroup
	sparesTaken atomic.Int64
}

// allocID hands out a host id no unfinished box of this server has. It
// goes round the range from a random start, so an id comes back only
// after about a billion boxes (a socket a dead box passed to another
// cannot pass for a new box's).
func (h *Host) allocID() (int, error) {
	h.idMu.Lock()
	defer h.idMu.Unlock()
	if h.idUsed == nil {
		h.idUsed = map[int]bool{}
		var r [4]byte
		_, _ = rand.Read(r[:])
		h.idNext = int(binary.LittleEndian.Uint32(r[:]) % hostIDs)
	}
	for range hostIDs {
		n := h.idNext
		h.idNext = (h.idNext + 1) % hostIDs
		if !h.idUsed[n] {
			h.idUsed[n] = true
			return hostIDBase + 1000 + n, nil
		}
	}
	return 0, errors.New("sandbox: no host id left")
}

func (h *Host) releaseID(id int) {
	h.idMu.Lock()
	delete(h.idUsed, id-hostIDBase-1000)
	h.idMu.Unlock()
}

// Probe detects, by trying them, the protections the host supports.
// Strict returns ErrStrict when a Required one is missing. The returned
// Host must be closed (Close) when the server stops.
func Probe(ctx context.Context, opt Options) (*Host, error) {
	h := &Host{mode: opt.Mode, active: map[string]bool{}, root: os.Geteuid() == 0}
	if h.mode == "" {
		h.mode = Auto
	}
	if h.mode == None {
		return h, nil
	}
	for _, p := range Protections {
		h.active[p] = true
	}
	for _, p := range opt.Disable {
		h.missing(p, "disabled")
	}
	// Namespaces go together: a private root needs its own /proc, which
	// needs a pid namespace; the unprivileged id needs the private root
	// (the code sits in the data folder, which only the server may read).
	if !h.active[MountNS] || !h.active[PidNS] {
		h.missing(MountNS, "needs pid_ns")
		h.missing(PidNS, "needs mount_ns")
	}
	if !h.active[MountNS] {
		h.missing(UserNS, "needs mount_ns")
		h.missing(TmpSize, "needs mount_ns")
	}
	if h.active[UserNS] {
		if err := h.probeBox(ctx); err != nil {
			h.missing(UserNS, err.Error())
		}
	}
	if !h.active[UserNS] && h.active[MountNS] {
		if !h.root {
			h.missing(MountNS, "needs root or user namespaces")
		} else if err := h.probeBox(ctx); err != nil {
			h.missing(MountNS, err.Error())
		}
		if !h.active[MountNS] {
			h.missing(PidNS, "needs mount_ns")
			h.missing(TmpSize, "needs mount_ns")
		}
	}
	if !h.active[MountNS] && (h.active[Rlimits] || h.active[NoNewPrivs]) {
		// The shim still runs, for rlimits and no_new_privs.
		if err := h.probeBox(ctx); err != nil {
			h.missing(Rlimits, err.Error())
			h.missing(NoNewPrivs, err.Error())
		}
	}
	// The Runtime API's peer check needs a host uid per box: only a root
	// server can give one, with a private root (the code must not need
	// the server's uid to be read).
	switch {
	case !h.active[RuntimeAPIPeer]:
	case !h.active[MountNS]:
		h.missing(RuntimeAPIPeer, "needs mount_ns (a host uid per environment)")
	case !h.root:
		h.missing(RuntimeAPIPeer, "needs a root server (a host uid per environment)")
	default:
		if err := probePeer(); err != nil {
			h.missing(RuntimeAPIPeer, "sock_diag: "+err.Error())
		}
	}
	h.probeCgroups(opt.Key)
	if h.mode == Strict {
		if err := h.strictCheck(); err != nil {
			h.Close()
			return nil, err
		}
	}
	return h, nil
}

// probeCgroups makes this server's parent group (sweeping what a killed
// predecessor left) and a test group with every limit.
func (h *Host) probeCgroups(key string) {
	want := h.active[CgroupMemory] || h.active[CgroupPids] || h.active[CgroupCPU]
	if !want {
		return
	}
	if key == "" {
		key = "default"
	}
	fail := func(why string) {
		h.missing(CgroupMemory, why)
		h.missing(CgroupPids, why)
		h.missing(CgroupCPU, why)
	}
	r, err := openCgroups(key)
	if err != nil {
		fail(err.Error())
		return
	}
	for p, c := range map[string]string{CgroupMemory: "memory", CgroupPids: "pids", CgroupCPU: "cpu"} {
		if !r.ctrl[c] {
			h.missing(p, c+" controller not available")
		}
	}
	b, err := r.create("probe-"+randomID(), cgroupLimits{memoryBytes: 64 << 20, pids: MaxProcesses, cpuShares: 512})
	if err != nil {
		r.close()
		fail(err.Error())
		return
	}
	if err := b.remove(); err != nil {
		r.close()
		fail(err.Error())
		return
	}
	h.cg = r
	if !h.active[CgroupMemory] && !h.active[CgroupPids] && !h.active[CgroupCPU] {
		r.close()
		h.cg = nil
	}
}

// Close stops the spare init shim and removes this server's parent
// cgroups.
func (h *Host) Close() {
	if h == nil {
		return
	}
	h.closeSpare()
	if h.cg != nil {
		h.cg.close()
	}
}

// probeBox starts a box that does everything but exec, and waits for it.
func (h *Host) probeBox(ctx context.Context) error {
	b, err := h.prepare(Spec{Path: "/bin/true", Args: []string{"true"}, TmpMB: 1}, false)
	if err != nil {
		return err
	}
	b.cfg.Probe = true
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out limitedBuffer
	b.Cmd.Stdout, b.Cmd.Stderr = &out, &out
	if err := b.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- b.Cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		b.Kill()
		err = <-done
	}
	b.Finish()
	if err != nil {
		return fmt.Errorf("probe box: %v %s", err, out.String())
	}
	return nil
}

// Spec is one box: what to run and what it may see.
type Spec struct {
	// Path, Args, Env and Dir are as the runtime sees them inside the box.
	Path string
	Args []string
	Env  []string
	Dir  string
	// CodeDir, BootstrapDir and OptDir are host directories shown
	// read-only at TaskRoot, RuntimeDir and OptDir ("" = none).
	CodeDir, BootstrapDir, OptDir string
	// ReadOnly are more host paths visible read-only at the same path (an
	// interpreter's install prefix).
	ReadOnly []string
	// MemoryMB is the function's MemorySize; TmpMB its EphemeralStorage.
	MemoryMB, TmpMB int
	Stdout, Stderr  io.Writer
}

// Box is one sandboxed process: Cmd is started by Start and reaped by the
// caller's Cmd.Wait, after which Finish must be called.
type Box struct {
	Cmd      *exec.Cmd
	h        *Host
	cfg      shim.Config
	cgLimits cgroupLimits
	// spareLimits: cg is the Host's spare group, made without limits;
	// configure writes cgLimits into it before the shim may join it.
	spareLimits bool
	id          string
	// spareOK: the shim's clone attributes hold nothing of this box (no
	// per-box id maps), so a spare started for the Host can serve it.
	spareOK bool

	mu sync.Mutex
	cg *cgroupBox // nil before Start and after Finish

	// hostID is the host uid and gid the box's processes run as (-1: the
	// server's own), returned to the Host by Finish.
	hostID int

	peak   atomic.Int64
	oom    atomic.Bool
	finish sync.Once

	// refill (guarded by mu) starts the Host's next spare shim
	// (spare_linux.go); nil when this box could not have used one. Called
	// once, by Ready or Finish.
	refill     func()
	refillOnce sync.Once
}

// Ready says the box's runtime is up and has served its first
// invocation: the moment to start the Host's next spare shim, off any
// cold start's path (docs/behaviour/isolation.md §6).
func (b *Box) Ready() {
	b.mu.Lock()
	refill := b.refill
	b.mu.Unlock()
	if refill != nil {
		b.refillOnce.Do(refill)
	}
}

// Prepare makes a box for s; nothing starts until Start.
func (h *Host) Prepare(s Spec) (*Box, error) {
	if !h.Enabled() {
		return nil, errors.New("sandbox: isolation is off")
	}
	return h.prepare(s, true)
}

func (h *Host) prepare(s Spec, limits bool) (*Box, error) {
	b := &Box{h: h, id: randomID(), hostID: -1, spareOK: limits && h.spareUsable()}
	if h.root && (h.active[UserNS] || h.active[MountNS]) {
		id, err := h.allocID()
		if err != nil {
			return nil, err
		}
		b.hostID = id
	}
	c := shim.Config{Path: s.Path, Args: s.Args, Env: s.Env, Dir: s.Dir, UID: -1, GID: -1, TmpMB: s.TmpMB}
	if h.active[Rlimits] {
		c.NoFile, c.NProc = MaxOpenFiles, MaxProcesses
	}
	if c.TmpMB <= 0 {
		c.TmpMB = 512
	}
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if h.active[MountNS] {
		attr.Cloneflags |= syscall.CLONE_NEWNS | syscall.CLONE_NEWPID
		c.Root = true
		c.SystemDirs = systemDirs
		c.Dirs = []string{OptDir, TaskRoot, RuntimeDir}
		if s.CodeDir != "" {
			c.Binds = append(c.Binds, shim.Bind{Src: s.CodeDir, Dst: TaskRoot})
		}
		if s.BootstrapDir != "" {
			c.Binds = append(c.Binds, shim.Bind{Src: s.BootstrapDir, Dst: RuntimeDir})
		}
		if s.OptDir != "" {
			c.Binds = append(c.Binds, shim.Bind{Src: s.OptDir, Dst: OptDir})
		}
		for _, p := range s.ReadOnly {
			if !slices.ContainsFunc(c.Binds, func(m shim.Bind) bool { return m.Src == p }) {
				c.Binds = append(c.Binds, shim.Bind{Src: p, Dst: p})
			}
		}
	}
	switch {
	case h.active[UserNS] && h.root && shim.CFastPath:
		// The C shim builds the root as host root, then enters a user
		// namespace where only BoxUID/BoxGID are mapped (to the box's host
		// id) and Start writes the maps. Not cloning the namespace lets
		// os/exec use vfork: a fork of a large server costs milliseconds.
		c.UnshareUser = true
		c.UID, c.GID = BoxUID, BoxGID
	case h.active[UserNS] && h.root:
		// Host root stays root inside only while the shim builds the
		// box (it must reach the data folder); the runtime runs as
		// BoxUID, which is the box's host id outside.
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: BoxUID, HostID: b.hostID, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: BoxGID, HostID: b.hostID, Size: 1}}
		attr.GidMappingsEnableSetgroups = true
		c.UID, c.GID = BoxUID, BoxGID
	case h.active[UserNS]:
		// An unprivileged server can map only its own ids: the runtime
		// is root of its namespace without any capability.
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	case h.active[MountNS] && h.root:
		// No user namespace: the box's host id directly, so RLIMIT_NPROC
		// (counted per user) is per box too.
		c.UID, c.GID = b.hostID, b.hostID
	}
	b.cfg = c
	b.Cmd = &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{shim.Arg0},
		Env:         []string{shim.Env + "=1", "GORACE=atexit_sleep_ms=0"},
		Stdout:      s.Stdout,
		Stderr:      s.Stderr,
		SysProcAttr: attr,
	}
	if limits && h.cg != nil {
		l := cgroupLimits{}
		if h.active[CgroupMemory] && s.MemoryMB > 0 {
			l.memoryBytes = int64(s.MemoryMB+MemoryOverheadMB) << 20
		}
		if h.active[CgroupPids] {
			l.pids = MaxProcesses
		}
		if h.active[CgroupCPU] && s.MemoryMB > 0 {
			l.cpuShares = uint64(max(2, s.MemoryMB*1024/MBPerVCPU))
		}
		b.cgLimits = l
	}
	return b, nil
}

// Start creates the box's cgroup, starts the shim (or takes the Host's
// spare, spare.go), puts it in the cgroup, hands it its configuration and
// waits until it exec'd the runtime. An exec failure is an
// *os.PathError with Op "fork/exec", as os/exec's; the process is then
// already reaped. Box.Cmd is the started process once Start returns.
func (b *Box) Start() error {
	// The cgroup is made while the shim starts: it only has to exist
	// before the shim is told to go on.
	type made struct {
		cg  *cgroupBox
		err error
	}
	var cgDone chan made
	wantGroup := b.h.cg != nil && b.cgLimits != (cgroupLimits{})
	if wantGroup {
		cgDone = make(chan made, 1)
		// The Host's spare group, made ahead of need (spare_linux.go);
		// configure writes this box's limits into it before anything
		// joins it.
		if cg := b.h.takeSpareGroup(); cg != nil {
			b.spareLimits = true
			cgDone <- made{cg, nil}
		}
		if len(cgDone) == 0 {
			go func() {
				cg, err := b.h.cg.create(b.id, b.cgLimits)
				cgDone <- made{cg, err}
			}()
		}
	}
	group := func() error {
		if cgDone == nil {
			return nil
		}
		m := <-cgDone
		cgDone = nil
		if m.err != nil {
			return fmt.Errorf("sandbox: %w", m.err)
		}
		b.mu.Lock()
		b.cg = m.cg
		b.mu.Unlock()
		return nil
	}
	// base is the box's own command (its standard streams, clone
	// attributes): what a fresh shim starts from, on every attempt.
	base := b.Cmd
	out, useSpare := outputFiles(base)
	useSpare = useSpare && b.spareOK
	if useSpare || wantGroup {
		// The next spares start once this box's runtime is up (Ready) or
		// gone (Finish), not while it starts: on a busy host the fork
		// would compete with this very cold start.
		attr, unshareUser := b.Cmd.SysProcAttr, b.cfg.UnshareUser
		b.mu.Lock()
		b.refill = func() {
			if useSpare {
				b.h.refillSpare(attr, unshareUser)
			}
			if wantGroup {
				b.h.refillSpareGroup()
			}
		}
		b.mu.Unlock()
	}
	for attempt := 1; ; attempt++ {
		var sp *shimProc
		if useSpare && attempt == 1 {
			sp = b.h.takeSpare(b.Cmd.SysProcAttr, b.cfg.UnshareUser, b.cfg.Root)
		}
		fromSpare := sp != nil
		if sp == nil {
			var err error
			sp, err = startShim(base, b.cfg.UnshareUser, "")
			if err != nil {
				_ = group()
				b.Finish()
				return fmt.Errorf("sandbox: starting the init shim: %w", err)
			}
			out = nil // the shim inherited its output at fork
		}
		b.Cmd = sp.cmd
		status, err := b.configure(sp, out, group)
		if err != nil {
			return err
		}
		if len(status) == 0 {
			return nil // exec'd
		}
		if st := shim.DecodeStatus(status); fromSpare && st.Op == "mount" {
			// The spare's mount namespace is a copy of the host's from
			// when it started: a mount made since is missing there. Once
			// more with a shim started now.
			_ = b.Cmd.Wait()
			out, _ = outputFiles(base)
			continue
		}
		return b.failed(status)
	}
}

// outputFiles returns the stdout and stderr of c, a box's command, as
// files to hand to a spare shim; ok is false when the caller's stdin,
// stdout or stderr cannot be handed over that way (then a shim is started
// with them).
func outputFiles(c *exec.Cmd) (out []*os.File, ok bool) {
	if c.Stdin != nil || len(c.ExtraFiles) > 0 {
		return nil, false
	}
	if c.Stdout == nil && c.Stderr == nil {
		return nil, true
	}
	so, ok1 := c.Stdout.(*os.File)
	se, ok2 := c.Stderr.(*os.File)
	if !ok1 || !ok2 || so == nil || se == nil {
		return nil, false
	}
	return []*os.File{so, se}, true
}

// configure puts the started shim sp in the box's cgroup, sends it its
// output (out, when not inherited) and configuration, maps its user
// namespace, and returns what it reported on its status pipe: nothing
// when it exec'd. An error means the box is already undone.
func (b *Box) configure(sp *shimProc, out []*os.File, group func() error) ([]byte, error) {
	defer sp.closeFiles()
	fail := func(err error) ([]byte, error) {
		sp.closeFiles()
		b.Kill()
		_ = b.Cmd.Wait()
		b.Finish()
		return nil, err
	}
	if err := group(); err != nil {
		return fail(err)
	}
	// late: the limits of a spare group are written while the shim builds
	// the root, before the go-ahead after which it joins the group.
	late := false
	if cg := b.group(); cg != nil {
		// A shim still running as host root joins v1 groups itself, which
		// skips a kernel RCU wait, just before its exec (shim.Config.JoinTasks);
		// otherwise the server moves it before it reads its configuration to
		// the end. Either way before the runtime starts.
		tasks := cg.taskFiles()
		joinSelf := tasks != nil && b.Cmd.SysProcAttr.Cloneflags&syscall.CLONE_NEWUSER == 0
		late = b.spareLimits && joinSelf && sp.goW != nil
		if b.spareLimits && !late {
			if err := cg.apply(b.cgLimits); err != nil {
				return fail(fmt.Errorf("sandbox: writing the cgroup limits: %w", err))
			}
		}
		if joinSelf {
			b.cfg.JoinTasks = tasks
		} else if err := cg.add(b.Cmd.Process.Pid); err != nil {
			return fail(fmt.Errorf("sandbox: joining the cgroup: %w", err))
		}
	}
	if err := sp.send(out, b.cfg.Encode()); err != nil {
		return fail(fmt.Errorf("sandbox: configuring the init shim: %w", err))
	}
	if late {
		// The shim waits for the go-ahead below before it joins.
		if err := b.group().apply(b.cgLimits); err != nil {
			return fail(fmt.Errorf("sandbox: writing the cgroup limits: %w", err))
		}
	}
	if sp.goW != nil {
		// The shim entered its user namespace: map it, let it go on.
		var u [1]byte
		if n, _ := sp.st.Read(u[:]); n == 1 && u[0] == 'U' {
			pid := b.Cmd.Process.Pid
			if err := writeIDMaps(pid, b.hostID); err != nil {
				return fail(fmt.Errorf("sandbox: mapping the user namespace: %w", err))
			}
			_, _ = sp.goW.Write(u[:])
		} else if n == 1 {
			rest, _ := io.ReadAll(sp.st)
			return append(u[:1], rest...), nil
		}
	}
	status, err := io.ReadAll(sp.st)
	if err != nil {
		return fail(err)
	}
	return status, nil
}

// failed reaps a shim that reported status and turns it into an error.
func (b *Box) failed(status []byte) error {
	st := shim.DecodeStatus(status)
	_ = b.Cmd.Wait()
	b.Finish()
	if st.Op == "fork/exec" && st.Errno != 0 {
		return &os.PathError{Op: "fork/exec", Path: st.Path, Err: syscall.Errno(st.Errno)}
	}
	return fmt.Errorf("sandbox: init shim: %s: %s", st.Op, st.Msg)
}

// Kill SIGKILLs the whole process tree: the runtime's process group and,
// with a pid namespace, everything in it (the runtime is its pid 1);
// with a cgroup, every process in it.
func (b *Box) Kill() {
	if p := b.Cmd.Process; p != nil {
		_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
		_ = p.Kill()
	}
	if cg := b.group(); cg != nil {
		cg.kill()
	}
}

func (b *Box) group() *cgroupBox {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cg
}

// PeakMemoryKB is the box's largest memory use (its cgroup's), 0 when it
// has no memory cgroup.
func (b *Box) PeakMemoryKB() int64 {
	b.mu.Lock()
	if b.cg != nil {
		if v := b.cg.peakBytes(); v > 0 {
			b.peak.Store(v)
		}
	}
	b.mu.Unlock()
	return b.peak.Load() / 1024
}

// OOMKilled reports whether the memory limit killed a process of the box.
// It is final once Finish ran.
func (b *Box) OOMKilled() bool {
	b.mu.Lock()
	if b.cg != nil && !b.oom.Load() && b.cg.oomKills() > 0 {
		b.oom.Store(true)
	}
	b.mu.Unlock()
	return b.oom.Load()
}

// Finish is called once the runtime process was reaped: it records the
// peak memory and OOM state, kills whatever is left and removes the
// cgroup. The box's /tmp went with its mount namespace.
func (b *Box) Finish() {
	b.finish.Do(func() {
		b.PeakMemoryKB()
		b.OOMKilled()
		b.mu.Lock()
		cg := b.cg
		b.cg = nil
		b.mu.Unlock()
		if cg != nil {
			_ = cg.remove()
		}
		if b.hostID >= 0 {
			b.h.releaseID(b.hostID)
		}
		b.Ready() // no later moment to start the next spare
	})
}

func randomID() string {
	var r [8]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}

// limitedBuffer keeps the first 4 KiB written to it.
type limitedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := 4096 - len(l.b); n > 0 {
		l.b = append(l.b, p[:min(n, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

func realPath(p string) (string, error) { return filepath.EvalSymlinks(p) }

// writeIDMaps maps BoxUID/BoxGID of pid's user namespace to the box's
// host id (the server is root: any id may be mapped).
func writeIDMaps(pid, hostID int) error {
	dir := "/proc/" + strconv.Itoa(pid)
	if err := os.WriteFile(dir+"/uid_map", []byte(fmt.Sprintf("%d %d 1\n", BoxUID, hostID)), 0); err != nil {
		return err
	}
	return os.WriteFile(dir+"/gid_map", []byte(fmt.Sprintf("%d %d 1\n", BoxGID, hostID)), 0)
}
