package shim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// Protocol: fd 3 is a Unix stream socket. The parent first sends one
// byte: KeepOutput, or TakeOutput with two descriptors (SCM_RIGHTS) that
// become the shim's stdout and stderr (a shim started before its box
// existed, the Host's spare, has /dev/null until then). Then the Config
// as records (codec.go), to the end of the stream; the parent writes it
// once the process is in its cgroup or told to join it, so nothing runs
// unconstrained. Fd 4 is close-on-exec: it reaches EOF when the exec
// succeeded, or carries a Status describing the failure, after which the
// shim exits 127.
const (
	// Env marks a process as the shim.
	Env = "_LAMBADA_SANDBOX_SHIM"
	// Arg0 is the shim's argv[0], as ps shows it until the exec.
	Arg0     = "lambada-sandbox-init"
	ConfigFD = 3
	StatusFD = 4
	GoFD     = 5
	// Failed is the shim's exit status when it could not exec.
	Failed = 127
	// PrebuildEnv, set to the system dirs (colon-separated), makes the C
	// shim (CFastPath) build the part of the root every box shares
	// before it reads its configuration, and write 'R' to StatusFD when
	// done: the server's spare shim (docs/behaviour/isolation.md §6).
	// The configuration must then name the same system dirs and a
	// private root. The Go shim is never started with it.
	PrebuildEnv = "_LAMBADA_SANDBOX_PREBUILD"
	// KeepOutput and TakeOutput are the first byte on ConfigFD.
	KeepOutput = 'K'
	TakeOutput = 'O'
)

// Bind is one bind mount of the box.
type Bind struct {
	Src, Dst string
	RW       bool
}

// Config is what the shim does.
type Config struct {
	Path string
	Args []string
	Env  []string
	Dir  string
	// Root builds a private root from Binds, /dev, /proc and a /tmp tmpfs
	// of TmpMB and pivots into it (mount namespace).
	Root  bool
	Binds []Bind
	TmpMB int
	// SystemDirs are shown read-only (or as the host's symlinks).
	SystemDirs []string
	// Dirs are created (empty) in the root.
	Dirs []string
	// UID/GID: switch to these ids (in the namespace) after the setup;
	// -1 keeps the ids and drops every capability instead.
	UID int
	GID int
	// NoFile and NProc, when set, are RLIMIT_NOFILE and RLIMIT_NPROC.
	NoFile uint64
	NProc  uint64
	// UnshareUser (C fast path only): after building the root as host
	// root, enter a new user namespace, write "U" on StatusFD and wait for
	// a byte on GoFD: the server has written the namespace's id maps.
	UnshareUser bool
	// Probe: check inside the box that the setup took effect.
	Probe bool
	// JoinTasks are cgroup v1 "tasks" files the shim writes "0" to just
	// before the exec (opened first, while they are reachable), moving
	// itself into the box's groups. A thread that moves itself
	// skips the kernel's global threadgroup lock, whose RCU grace period
	// costs ~5–15 ms per cold start on a quiet host when the server
	// writes the pid to cgroup.procs instead.
	JoinTasks []string
}

// Status is what the shim reports on fd 4 when it fails.
type Status struct {
	Op    string
	Path  string
	Errno int
	Msg   string
}

func init() {
	if os.Getenv(Env) != "1" {
		return
	}
	// Everything below runs on this thread, which execs: capabilities,
	// no_new_privs and the parent-death signal are per thread.
	runtime.LockOSThread()
	st := runShim()
	_, _ = syscall.Write(StatusFD, st.Encode())
	os.Exit(Failed)
}

// runShim never returns on success.
func runShim() Status {
	_ = os.Unsetenv(Env)
	syscall.CloseOnExec(StatusFD)
	syscall.CloseOnExec(GoFD)
	if err := takeOutput(); err != nil {
		return Status{Op: "setup", Msg: "receiving stdout and stderr: " + err.Error()}
	}
	f := os.NewFile(ConfigFD, "sandbox-config")
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return Status{Op: "setup", Msg: "reading config: " + err.Error()}
	}
	c := Decode(b)
	// This locked thread is the one that execs: moving it moves the
	// runtime-to-be (see Config.JoinTasks). It moves just before the exec
	// (the setup is lambada's, at the server's CPU share), through files
	// opened now, while /sys/fs/cgroup is reachable.
	var join []*os.File
	for _, t := range c.JoinTasks {
		f, err := os.OpenFile(t, os.O_WRONLY, 0)
		if err != nil {
			return Status{Op: "cgroup", Msg: "joining " + t + ": " + err.Error()}
		}
		join = append(join, f)
	}
	if c.Root {
		if err := buildRoot(&c); err != nil {
			return Status{Op: "mount", Msg: err.Error()}
		}
	}
	if c.Dir != "" {
		if err := syscall.Chdir(c.Dir); err != nil {
			return Status{Op: "chdir", Msg: fmt.Sprintf("chdir %s: %v", c.Dir, err)}
		}
	}
	for _, l := range []struct {
		res int
		max uint64
	}{{syscall.RLIMIT_NOFILE, c.NoFile}, {rlimitNProc, c.NProc}} {
		// syscall.Setrlimit also stops the Go runtime from restoring its
		// saved RLIMIT_NOFILE at exec.
		if l.max == 0 {
			continue
		}
		if err := syscall.Setrlimit(l.res, &syscall.Rlimit{Cur: l.max, Max: l.max}); err != nil {
			return Status{Op: "rlimit", Msg: err.Error()}
		}
	}
	if err := dropPrivileges(&c); err != nil {
		return Status{Op: "privileges", Msg: err.Error()}
	}
	if err := prctl(prSetNoNewPrivs, 1); err != nil {
		return Status{Op: "privileges", Msg: "no_new_privs: " + err.Error()}
	}
	// Changing ids cleared the parent-death signal: set it again.
	_ = prctl(prSetPdeathsig, uintptr(syscall.SIGKILL))
	// Joining moves this thread; the files' opener (host root) is what
	// the kernel checks, so ids and capabilities are already dropped.
	for i, f := range join {
		_, err := f.Write([]byte("0"))
		f.Close()
		if err != nil {
			return Status{Op: "cgroup", Msg: "joining " + c.JoinTasks[i] + ": " + err.Error()}
		}
	}
	if c.Probe {
		// Then exec the probe's command like a runtime: exiting here
		// would cost a race-enabled test binary its 1 s exit delay.
		if err := probeChecks(&c); err != nil {
			return Status{Op: "probe", Msg: err.Error()}
		}
	}
	err = syscall.Exec(c.Path, c.Args, c.Env)
	var errno syscall.Errno
	errors.As(err, &errno)
	return Status{Op: "fork/exec", Path: c.Path, Errno: int(errno), Msg: err.Error()}
}

// takeOutput reads the first byte on ConfigFD and, with TakeOutput,
// makes the two descriptors that come with it stdout and stderr.
func takeOutput() error {
	var b [1]byte
	oob := make([]byte, syscall.CmsgSpace(2*4))
	var n, oobn int
	var err error
	for {
		n, oobn, _, _, err = syscall.Recvmsg(ConfigFD, b[:], oob, syscall.MSG_CMSG_CLOEXEC)
		if err != syscall.EINTR {
			break
		}
	}
	switch {
	case err != nil:
		return err
	case n != 1:
		return errors.New("no output byte")
	case b[0] == KeepOutput:
		return nil
	case b[0] != TakeOutput:
		return fmt.Errorf("unknown output byte %q", b[0])
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return fmt.Errorf("no descriptors (%v)", err)
	}
	fds, err := syscall.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 2 {
		return fmt.Errorf("want 2 descriptors, got %d (%v)", len(fds), err)
	}
	for i, fd := range fds {
		if err := syscall.Dup3(fd, 1+i, 0); err != nil {
			return err
		}
		syscall.Close(fd)
	}
	return nil
}

// probeChecks verifies, inside a probe box, what the parent cannot see.
func probeChecks(c *Config) error {
	var lim syscall.Rlimit
	if c.NProc > 0 {
		if err := syscall.Getrlimit(rlimitNProc, &lim); err != nil || lim.Cur != c.NProc {
			return fmt.Errorf("RLIMIT_NPROC not applied (%d, %v)", lim.Cur, err)
		}
	}
	if v, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prGetNoNewPrivs, 0, 0, 0, 0, 0); e != 0 || v != 1 {
		return fmt.Errorf("no_new_privs not set (%d, %v)", v, e)
	}
	if c.Root {
		if _, err := os.Stat("/proc/self/status"); err != nil {
			return fmt.Errorf("no /proc in the box: %v", err)
		}
		if os.Getpid() != 1 {
			return fmt.Errorf("not pid 1 of a pid namespace (pid %d)", os.Getpid())
		}
		var st syscall.Statfs_t
		if err := syscall.Statfs(tmpDir, &st); err != nil || st.Type != tmpfsMagic {
			return fmt.Errorf("/tmp is not a tmpfs (%v)", err)
		}
	}
	if c.UID >= 0 && os.Getuid() != c.UID {
		return fmt.Errorf("uid %d, want %d", os.Getuid(), c.UID)
	}
	return nil
}

// newRootAt is where the box's root tmpfs is mounted before pivot_root:
// any host directory that cannot be an ancestor of a bind source will do.
const newRootAt = "/sys"

// buildRoot makes the box's root: a small read-only tmpfs with the binds,
// /dev, /proc and /tmp, then pivots into it and detaches the host's.
func buildRoot(c *Config) error {
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making / private: %w", err)
	}
	r := newRootAt
	if err := syscall.Mount("tmpfs", r, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size=1m,nr_inodes=4096,mode=0755"); err != nil {
		return fmt.Errorf("mounting the root tmpfs: %w", err)
	}
	for _, d := range c.SystemDirs {
		fi, err := os.Lstat(d)
		if err != nil {
			continue
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(d)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, r+d); err != nil {
				return err
			}
			continue
		}
		if !fi.IsDir() {
			continue
		}
		if err := bind(d, r+d, false, true); err != nil {
			return err
		}
	}
	// /tmp first: a bind whose path is under /tmp on the host lands
	// inside it rather than under it.
	if err := os.MkdirAll(r+tmpDir, 0o755); err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", r+tmpDir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV,
		"mode=1777,size="+strconv.Itoa(c.TmpMB)+"m"); err != nil {
		return fmt.Errorf("mounting /tmp: %w", err)
	}
	for _, b := range c.Binds {
		if under(b.Dst, c.SystemDirs) {
			continue // already visible read-only
		}
		if err := bind(b.Src, r+b.Dst, b.RW, true); err != nil {
			return err
		}
	}
	if err := makeDev(r); err != nil {
		return err
	}
	if err := os.MkdirAll(r+"/proc", 0o555); err != nil {
		return err
	}
	if err := syscall.Mount("proc", r+"/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	for _, d := range c.Dirs {
		if err := os.MkdirAll(r+d, 0o755); err != nil {
			return err
		}
	}
	if err := syscall.Chdir(r); err != nil {
		return err
	}
	// pivot_root(".", "."): the old root ends up on top of the new one,
	// and detaching it leaves the new one alone.
	if err := syscall.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := syscall.Unmount(".", syscall.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the host root: %w", err)
	}
	if err := syscall.Chdir("/"); err != nil {
		return err
	}
	if err := syscall.Mount("", "/", "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY|syscall.MS_NOSUID|syscall.MS_NODEV, ""); err != nil {
		return fmt.Errorf("making / read-only: %w", err)
	}
	return nil
}

// bind mounts src at dst (creating dst as a directory or an empty file),
// read-only unless rw.
func bind(src, dst string, rw, rec bool) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		err = os.MkdirAll(dst, 0o755)
	} else {
		if err = os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
			var f *os.File
			if f, err = os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
				f.Close()
			}
		}
	}
	if err != nil {
		return fmt.Errorf("preparing %s: %w", dst, err)
	}
	flags := uintptr(syscall.MS_BIND)
	if rec {
		flags |= syscall.MS_REC
	}
	if err := syscall.Mount(src, dst, "", flags, ""); err != nil {
		return fmt.Errorf("binding %s: %w", src, err)
	}
	if rw {
		return nil
	}
	// A remount must keep the flags the kernel locked on the source
	// mount (nosuid, nodev, noexec, atime), or a user namespace refuses.
	var st syscall.Statfs_t
	if err := syscall.Statfs(dst, &st); err != nil {
		return err
	}
	keep := uintptr(0)
	for _, f := range [][2]uintptr{
		{stNoSUID, syscall.MS_NOSUID}, {stNoDev, syscall.MS_NODEV}, {stNoExec, syscall.MS_NOEXEC},
		{stNoAtime, syscall.MS_NOATIME}, {stNoDirAtime, syscall.MS_NODIRATIME}, {stRelAtime, syscall.MS_RELATIME},
	} {
		if uintptr(st.Flags)&f[0] != 0 {
			keep |= f[1]
		}
	}
	if err := syscall.Mount("", dst, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY|syscall.MS_NOSUID|keep, ""); err != nil {
		return fmt.Errorf("making %s read-only: %w", dst, err)
	}
	return nil
}

// makeDev gives the box the device nodes a runtime needs, and nothing else.
func makeDev(r string) error {
	if err := os.MkdirAll(r+"/dev", 0o755); err != nil {
		return err
	}
	for _, d := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		if _, err := os.Stat("/dev/" + d); err != nil {
			continue
		}
		if err := bind("/dev/"+d, r+"/dev/"+d, true, false); err != nil {
			return err
		}
	}
	for name, target := range map[string]string{
		"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2",
	} {
		if err := os.Symlink(target, r+"/dev/"+name); err != nil {
			return err
		}
	}
	return nil
}

// dropPrivileges leaves the process without any capability: it switches
// to the unprivileged ids when the namespace maps one, or else (a user
// namespace mapping only the server's own id) clears every capability set
// and locks root's special treatment away.
func dropPrivileges(c *Config) error {
	if c.UID < 0 {
		if os.Geteuid() != 0 {
			return nil // nothing to drop
		}
		return dropCaps()
	}
	// Clear the bounding set while CAP_SETPCAP is there, for good measure.
	for cp := 0; cp <= lastCap(); cp++ {
		_ = prctl(prCapBSetDrop, uintptr(cp))
	}
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setresgid(c.GID, c.GID, c.GID); err != nil {
		return fmt.Errorf("setresgid %d: %w", c.GID, err)
	}
	if err := syscall.Setresuid(c.UID, c.UID, c.UID); err != nil {
		return fmt.Errorf("setresuid %d: %w", c.UID, err)
	}
	return nil
}

func dropCaps() error {
	for cp := 0; cp <= lastCap(); cp++ {
		_ = prctl(prCapBSetDrop, uintptr(cp))
	}
	const secbits = 1<<0 | 1<<1 | 1<<2 | 1<<3 // NOROOT, NOROOT_LOCKED, NO_SETUID_FIXUP, its lock
	if err := prctl(prSetSecurebits, secbits); err != nil {
		return fmt.Errorf("securebits: %w", err)
	}
	_ = prctl(prCapAmbient, prCapAmbientClearAll)
	hdr := struct {
		version uint32
		pid     int32
	}{version: linuxCapabilityVersion3}
	var data [2]struct{ effective, permitted, inheritable uint32 }
	if _, _, e := syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("capset: %w", e)
	}
	return nil
}

func lastCap() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 40
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 40
	}
	return n
}

// Kernel constants the syscall package lacks.
const (
	rlimitNProc             = 6
	prSetPdeathsig          = 1
	prCapBSetDrop           = 24
	prSetSecurebits         = 28
	prSetNoNewPrivs         = 38
	prGetNoNewPrivs         = 39
	prCapAmbient            = 47
	prCapAmbientClearAll    = 4
	linuxCapabilityVersion3 = 0x20080522
	tmpfsMagic              = 0x01021994
	stNoSUID                = 0x2
	stNoDev                 = 0x4
	stNoExec                = 0x8
	stNoAtime               = 0x400
	stNoDirAtime            = 0x800
	stRelAtime              = 0x1000
	tmpDir                  = "/tmp"
)

func prctl(option, arg uintptr) error {
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, option, arg, 0, 0, 0, 0); e != 0 {
		return e
	}
	return nil
}

// under reports whether p is one of dirs or inside one.
func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}
