package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/lambada-dev/lambada/internal/sandbox/shim"
)

// The spare init shim (docs/behaviour/isolation.md §6). Starting a shim is a fork and an exec of this
// (large) binary and its dynamic loading, about a millisecond of every
// sandboxed cold start on an unloaded host. So once a box has started,
// the Host keeps one shim started ahead of need: it is in its new mount
// and pid namespaces and blocks reading its configuration, before it
// has done anything else (the C constructor, or the Go init, waits on
// shim.ConfigFD). A box takes it instead of forking one, and a new spare
// is started once that box's runtime has served its first invocation
// (Box.Ready) or has ended (Box.Finish): on a busy host a fork during the
// cold start would compete with it.
//
// A spare is no weaker than a shim started for the box: it is the same
// program with the same clone attributes (only boxes whose attributes
// name nothing of their own use one: not the per-box id maps of a
// server without the C fast path), and everything the box has of its
// own reaches it through its configuration socket: its stdout and
// stderr (passed as descriptors), its cgroups (joined first), its root,
// ids and limits. Until then it runs nothing but the wait, as the
// server's uid with /dev/null as its standard streams.

// spareUsable reports whether boxes of h can start from a spare: not
// when the shim's clone attributes carry the box's own id maps (a root
// server with a user namespace and no C fast path).
func (h *Host) spareUsable() bool {
	return !(h.active[UserNS] && h.root && !shim.CFastPath)
}

// shimProc is a started init shim waiting for its configuration.
type shimProc struct {
	cmd *exec.Cmd
	cfg *os.File // the server's end of the configuration socket
	st  *os.File // EOF at exec, "U" after entering its user namespace, or a Status
	goW *os.File // the go-ahead after the id maps (UnshareUser); nil otherwise
	// attr and unshareUser are what it was started with.
	attr        *syscall.SysProcAttr
	unshareUser bool
	// prebuilt: the shim built the common part of a box's root ahead
	// (shim.PrebuildEnv); it serves only boxes with a private root.
	prebuilt bool
}

// startShim starts an init shim as c describes (its SysProcAttr and
// standard streams) with the configuration socket, the status pipe and,
// for unshareUser, the go-ahead pipe as its extra files. With prebuild (the
// system dirs, colon-separated) the shim builds the common part of a
// box's root before it waits for its configuration.
func startShim(c *exec.Cmd, unshareUser bool, prebuild string) (*shimProc, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	cfgW, cfgR := os.NewFile(uintptr(fds[0]), "sandbox-config"), os.NewFile(uintptr(fds[1]), "sandbox-config")
	stR, stW, err := os.Pipe()
	if err != nil {
		cfgW.Close()
		cfgR.Close()
		return nil, err
	}
	child := []*os.File{cfgR, stW}
	var goR, goW *os.File
	if unshareUser {
		if goR, goW, err = os.Pipe(); err != nil {
			closeFiles(cfgW, cfgR, stR, stW)
			return nil, err
		}
		child = append(child, goR)
	}
	env := []string{shim.Env + "=1", "GORACE=atexit_sleep_ms=0"}
	if prebuild != "" {
		env = append(env, shim.PrebuildEnv+"="+prebuild)
	}
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{shim.Arg0},
		Env:         env,
		Stdin:       c.Stdin,
		Stdout:      c.Stdout,
		Stderr:      c.Stderr,
		ExtraFiles:  child,
		SysProcAttr: c.SysProcAttr,
	}
	err = cmd.Start()
	closeFiles(child...)
	if err != nil {
		closeFiles(cfgW, stR, goW)
		return nil, err
	}
	return &shimProc{cmd: cmd, cfg: cfgW, st: stR, goW: goW, attr: c.SysProcAttr, unshareUser: unshareUser, prebuilt: prebuild != ""}, nil
}

func closeFiles(fs ...*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}

// send hands the shim its stdout and stderr (out; nil: it keeps what it
// inherited) and then its configuration, and closes the socket: the
// shim reads to its end.
func (p *shimProc) send(out []*os.File, cfg []byte) error {
	msg, oob := []byte{shim.KeepOutput}, []byte(nil)
	if len(out) == 2 {
		msg[0] = shim.TakeOutput
		oob = syscall.UnixRights(int(out[0].Fd()), int(out[1].Fd()))
	}
	// A blocking socket (os.NewFile of one not in the poller).
	if err := syscall.Sendmsg(int(p.cfg.Fd()), msg, oob, nil, 0); err != nil {
		return err
	}
	if _, err := p.cfg.Write(cfg); err != nil {
		return err
	}
	return p.cfg.Close()
}

// closeFiles closes the server's ends (twice is harmless).
func (p *shimProc) closeFiles() { closeFiles(p.cfg, p.st, p.goW) }

// alive reports whether the shim has not exited (killed from outside
// while it waited): waitid with WNOWAIT looks without reaping it.
func (p *shimProc) alive() bool {
	const pPID, wNOHANG, wEXITED, wNOWAIT = 1, 0x1, 0x4, 0x1000000
	var info [128]byte // siginfo_t; si_pid at offset 16 stays 0 while it runs
	_, _, e := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(p.cmd.Process.Pid),
		uintptr(unsafe.Pointer(&info[0])), wNOHANG|wEXITED|wNOWAIT, 0, 0)
	return e == 0 && *(*int32)(unsafe.Pointer(&info[16])) == 0
}

// discard kills an unused shim and reaps it.
func (p *shimProc) discard() {
	p.closeFiles()
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// takeSpare returns the Host's spare when it was started with attr and
// unshareUser and suits a box with (root) or without a private root, nil
// otherwise.
func (h *Host) takeSpare(attr *syscall.SysProcAttr, unshareUser, root bool) *shimProc {
	h.spareMu.Lock()
	sp := h.spare
	h.spare = nil
	h.spareMu.Unlock()
	if sp == nil {
		return nil
	}
	if sp.unshareUser != unshareUser || (sp.prebuilt && !root) || !reflect.DeepEqual(sp.attr, attr) || !sp.alive() {
		sp.discard()
		return nil
	}
	h.sparesTaken.Add(1)
	return sp
}

// refillSpare starts a new spare in the background unless there is one,
// one is being started, or the Host is closed. The spare gets a copy of
// attr.
func (h *Host) refillSpare(attr *syscall.SysProcAttr, unshareUser bool) {
	h.spareMu.Lock()
	defer h.spareMu.Unlock()
	if h.spareClosed || h.refilling || h.spare != nil {
		return
	}
	h.refilling = true
	a := *attr
	h.spareWG.Add(1)
	go func() {
		defer h.spareWG.Done()
		sp, err := startShim(&exec.Cmd{SysProcAttr: &a}, unshareUser, h.prebuild())
		if err == nil && sp.prebuilt && !sp.commonBuilt() {
			sp.discard()
			sp, err = nil, errors.New("the spare shim did not build the common root")
		}
		h.spareMu.Lock()
		h.refilling = false
		keep := err == nil && !h.spareClosed && h.spare == nil
		if keep {
			h.spare = sp
		}
		h.spareMu.Unlock()
		if err == nil && !keep {
			sp.discard()
		}
	}()
}

// prebuild is what a spare shim is started with: the system dirs, for
// the C shim to build the part of the root every box shares before it is
// taken (docs/behaviour/isolation.md §6); "" without a private root or
// without the C shim (the Go shim builds the whole root once configured).
func (h *Host) prebuild() string {
	if !shim.CFastPath || !h.active[MountNS] {
		return ""
	}
	return strings.Join(systemDirs, ":")
}

// commonBuilt waits (at most spareBuildWait) for a prebuilding shim to say
// it built the common part of the root ('R' on its status pipe); false
// when it failed or exited instead.
func (p *shimProc) commonBuilt() bool {
	_ = p.st.SetReadDeadline(time.Now().Add(spareBuildWait))
	var b [1]byte
	n, _ := p.st.Read(b[:])
	_ = p.st.SetReadDeadline(time.Time{})
	return n == 1 && b[0] == 'R'
}

// spareBuildWait bounds the wait for a spare's common root: it takes
// about a millisecond.
const spareBuildWait = 10 * time.Second

// takeSpareGroup returns the Host's spare cgroup (made without limits),
// nil when there is none.
func (h *Host) takeSpareGroup() *cgroupBox {
	h.spareMu.Lock()
	defer h.spareMu.Unlock()
	cg := h.spareCG
	h.spareCG = nil
	return cg
}

// refillSpareGroup makes the next box group in the background (three
// mkdirs and their files, ~0.3 ms of a cold start otherwise) unless there
// is one, one is being made, or the Host is closed. A box takes it in
// Start and writes its limits before anything joins it.
func (h *Host) refillSpareGroup() {
	h.spareMu.Lock()
	defer h.spareMu.Unlock()
	if h.cg == nil || h.spareClosed || h.refillingCG || h.spareCG != nil {
		return
	}
	h.refillingCG = true
	h.spareWG.Add(1)
	go func() {
		defer h.spareWG.Done()
		cg, err := h.cg.create(randomID(), cgroupLimits{})
		h.spareMu.Lock()
		h.refillingCG = false
		keep := err == nil && !h.spareClosed && h.spareCG == nil
		if keep {
			h.spareCG = cg
		}
		h.spareMu.Unlock()
		if err == nil && !keep {
			_ = cg.remove()
		}
	}()
}

// closeSpare stops the spare shim, removes the spare group and waits for
// any refill; none starts afterwards.
func (h *Host) closeSpare() {
	h.spareMu.Lock()
	h.spareClosed = true
	h.spareMu.Unlock()
	h.spareWG.Wait()
	h.spareMu.Lock()
	sp, cg := h.spare, h.spareCG
	h.spare, h.spareCG = nil, nil
	h.spareMu.Unlock()
	if sp != nil {
		sp.discard()
	}
	if cg != nil {
		_ = cg.remove()
	}
}
