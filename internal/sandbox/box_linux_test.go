package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lambada-dev/lambada/internal/sandbox/shim"
	"github.com/lambada-dev/lambada/internal/syncbuf"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

func probe(t *testing.T) *Host {
	t.Helper()
	h, err := Probe(context.Background(), Options{Mode: Auto, Key: "unit-" + randomID()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	if !h.Mounts() {
		t.Skipf("no private root on this host: %s", h.Report())
	}
	return h
}

// run starts a box and returns its output and exit error.
func run(t *testing.T, h *Host, s Spec) (string, error) {
	t.Helper()
	var out bytes.Buffer
	s.Stdout, s.Stderr = &out, &out
	if s.CodeDir == "" {
		s.CodeDir = t.TempDir()
	}
	b, err := h.Prepare(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		return "", err
	}
	err = b.Cmd.Wait()
	b.Finish()
	return out.String(), err
}

// runPipe is run with the box's stdout and stderr on one pipe: a file,
// which a spare shim is handed (spare_linux.go), where run's buffer makes
// Start fork a shim that inherits its output.
// waitSpare waits for h's spare shim and returns it.
func waitSpare(t *testing.T, h *Host) *shimProc {
	t.Helper()
	var sp *shimProc
	waitfor.Eventually(t, 10*time.Second, func() error {
		h.spareMu.Lock()
		defer h.spareMu.Unlock()
		if sp = h.spare; sp == nil {
			return errors.New("no spare shim")
		}
		return nil
	})
	return sp
}

func runPipe(t *testing.T, h *Host, s Spec) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s.Stdout, s.Stderr = w, w
	if s.CodeDir == "" {
		s.CodeDir = t.TempDir()
	}
	b, err := h.Prepare(s)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Start()
	w.Close()
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	_, _ = out.ReadFrom(r)
	err = b.Cmd.Wait()
	b.Finish()
	return out.String(), err
}

// eachStart runs f three ways: with a shim forked for the box that
// inherits its output (run), forked and handed its output (runPipe, which
// starts the Host's spare afterwards), and the spare (runPipe again, once
// the spare is up).
func eachStart(t *testing.T, h *Host, f func(how string, run func(*testing.T, *Host, Spec) (string, error))) {
	t.Helper()
	f("forked", run)
	f("forked, output handed", runPipe)
	if !h.spareUsable() {
		t.Log("no spare shims on this host (per-box id maps at clone)")
		return
	}
	prebuilt := waitSpare(t, h).prebuilt
	if want := shim.CFastPath && h.Active(MountNS); prebuilt != want {
		t.Errorf("the spare built the common root ahead: %v, want %v", prebuilt, want)
	}
	taken := h.sparesTaken.Load()
	f("spare", runPipe)
	if h.sparesTaken.Load() != taken+1 {
		t.Error("the spare shim was not taken")
	}
}

// A spare whose common root was built for other system dirs than the box's
// configuration names refuses it ("mount"): the box starts again from a
// fresh shim and sees what every box sees.
func TestSpareOtherSystemDirs(t *testing.T) {
	h := probe(t)
	if !h.spareUsable() || !shim.CFastPath {
		t.Skip("no prebuilt spare shims on this host")
	}
	if _, err := runPipe(t, h, Spec{Path: "/bin/true", Args: []string{"true"}, Dir: "/"}); err != nil {
		t.Fatal(err)
	}
	sp := waitSpare(t, h)
	other, err := startShim(&exec.Cmd{SysProcAttr: sp.attr}, sp.unshareUser, "/etc")
	if err != nil {
		t.Fatal(err)
	}
	if !other.commonBuilt() {
		t.Fatal("the spare for /etc did not build its common root")
	}
	h.spareMu.Lock()
	h.spare = other
	h.spareMu.Unlock()
	sp.discard()
	taken := h.sparesTaken.Load()
	out, err := runPipe(t, h, Spec{Path: "/bin/sh", Args: []string{"sh", "-c", "ls /usr/bin/sh /etc/passwd"}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: "/"})
	if err != nil || out != "/etc/passwd\n/usr/bin/sh\n" {
		t.Fatalf("after a spare for other system dirs: %q %v", out, err)
	}
	if h.sparesTaken.Load() != taken+1 {
		t.Error("the spare was not tried")
	}
}

func TestBoxView(t *testing.T) {
	h := probe(t)
	t.Logf("euid %d: %s", os.Geteuid(), h.Report())
	code := t.TempDir()
	if err := os.WriteFile(code+"/hello", []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	eachStart(t, h, func(how string, run func(*testing.T, *Host, Spec) (string, error)) {
		out, err := run(t, h, Spec{
			Path: "/bin/sh", Args: []string{"sh", "-c", `id -u; pwd; cat hello; echo; df -m /tmp | tail -1; echo $$; ls /; touch /var/task/x 2>&1; touch /x 2>&1; echo ok`},
			Env: []string{"PATH=/usr/bin:/bin"}, Dir: TaskRoot, CodeDir: code, MemoryMB: 128, TmpMB: 64,
		})
		if err != nil {
			t.Fatalf("%s: %v\n%s", how, err, out)
		}
		lines := strings.Split(out, "\n")
		if h.Active(UserNS) && os.Geteuid() == 0 && lines[0] != "993" {
			t.Errorf("%s: uid %s", how, lines[0])
		}
		if lines[1] != TaskRoot || lines[2] != "hi" || !strings.Contains(lines[3], " 64 ") || lines[4] != "1" {
			t.Errorf("%s: unexpected view:\n%s", how, out)
		}
		if strings.Count(out, "Read-only file system") != 2 || !strings.HasSuffix(out, "ok\n") {
			t.Errorf("%s: the root or the code is writable:\n%s", how, out)
		}
	})
}

func TestBoxExecError(t *testing.T) {
	h := probe(t)
	eachStart(t, h, func(how string, run func(*testing.T, *Host, Spec) (string, error)) {
		_, err := run(t, h, Spec{Path: TaskRoot + "/bootstrap", Args: []string{TaskRoot + "/bootstrap"}, Dir: TaskRoot})
		var pe *os.PathError
		if !errors.As(err, &pe) || err.Error() != "fork/exec /var/task/bootstrap: no such file or directory" {
			t.Fatalf("%s: got %v", how, err)
		}
	})
}

// A spare shim killed while it waited is not handed to a box: the box
// starts from a fresh shim.
func TestSpareKilled(t *testing.T) {
	h := probe(t)
	if !h.spareUsable() {
		t.Skip("no spare shims on this host (per-box id maps at clone)")
	}
	if _, err := runPipe(t, h, Spec{Path: "/bin/true", Args: []string{"true"}, Dir: "/"}); err != nil {
		t.Fatal(err)
	}
	var sp *shimProc
	waitfor.Eventually(t, 10*time.Second, func() error {
		h.spareMu.Lock()
		defer h.spareMu.Unlock()
		if sp = h.spare; sp == nil {
			return errors.New("no spare shim")
		}
		return nil
	})
	if !sp.alive() {
		t.Fatal("a waiting spare reported dead")
	}
	_ = sp.cmd.Process.Kill()
	waitfor.Eventually(t, 10*time.Second, func() error {
		if sp.alive() {
			return errors.New("the killed spare still alive")
		}
		return nil
	})
	taken := h.sparesTaken.Load()
	out, err := runPipe(t, h, Spec{Path: "/bin/sh", Args: []string{"sh", "-c", "echo fresh"}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: "/"})
	if err != nil || out != "fresh\n" {
		t.Fatalf("after the spare was killed: %q %v", out, err)
	}
	if h.sparesTaken.Load() != taken {
		t.Error("the dead spare was taken")
	}
}

// Close stops the spare shim: no process of the Host is left.
func TestSpareClosed(t *testing.T) {
	h := probe(t)
	if !h.spareUsable() {
		t.Skip("no spare shims on this host (per-box id maps at clone)")
	}
	if _, err := runPipe(t, h, Spec{Path: "/bin/true", Args: []string{"true"}, Dir: "/"}); err != nil {
		t.Fatal(err)
	}
	var pid int
	waitfor.Eventually(t, 10*time.Second, func() error {
		h.spareMu.Lock()
		defer h.spareMu.Unlock()
		if h.spare == nil {
			return errors.New("no spare shim")
		}
		pid = h.spare.cmd.Process.Pid
		return nil
	})
	h.Close()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the spare shim %d is still there after Close (%v)", pid, err)
	}
	if _, err := runPipe(t, h, Spec{Path: "/bin/true", Args: []string{"true"}, Dir: "/"}); err != nil {
		t.Fatal(err)
	}
	h.spareMu.Lock()
	defer h.spareMu.Unlock()
	if h.spare != nil || h.refilling {
		t.Error("a spare shim was started after Close")
	}
}

func TestBoxOOM(t *testing.T) {
	h := probe(t)
	if !h.Active(CgroupMemory) {
		t.Skip("no memory cgroup")
	}
	var out bytes.Buffer
	b, err := h.Prepare(Spec{
		Path: "/bin/sh", Args: []string{"sh", "-c", `x=$(head -c 200000000 /dev/zero | tr '\0' a); echo survived`},
		Env: []string{"PATH=/usr/bin:/bin"}, Dir: "/", CodeDir: t.TempDir(), MemoryMB: 32, Stdout: &out, Stderr: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	_ = b.Cmd.Wait()
	b.Finish()
	if !b.OOMKilled() || strings.Contains(out.String(), "survived") {
		t.Errorf("not OOM-killed: %s", out.String())
	}
	// The kernel lets a task that is being killed charge a few pages past
	// the limit while it exits (memcg force-charges dying tasks): the
	// group's own peak may pass the limit by that much.
	const dyingSlackKB = 2 << 10
	if kb := b.PeakMemoryKB(); kb < 32<<10 || kb > (32+MemoryOverheadMB)<<10+dyingSlackKB {
		t.Errorf("peak %d KB for a limit of %d+%d MB", kb, 32, MemoryOverheadMB)
	}
}

// The runtime (and the children it starts) runs inside every group of its
// box, whichever of shim or server moved it there.
func TestBoxJoinsItsGroups(t *testing.T) {
	h := probe(t)
	if !h.Active(CgroupMemory) && !h.Active(CgroupPids) {
		t.Skip("no cgroups")
	}
	// Read while the box still writes (the wait below reports it).
	var out syncbuf.Buffer
	b, err := h.Prepare(Spec{
		Path: "/bin/sh", Args: []string{"sh", "-c", `sleep 30 & echo started; wait`},
		Env: []string{"PATH=/usr/bin:/bin"}, Dir: "/", CodeDir: t.TempDir(), MemoryMB: 64, Stdout: &out, Stderr: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { b.Kill(); _ = b.Cmd.Wait(); b.Finish() }()
	cg := b.group()
	first := "memory"
	if !h.cg.ctrl[first] {
		first = "pids"
	}
	waitfor.Eventually(t, 5*time.Second, func() error {
		if procs := readProcs(cg.file(first, "")); len(procs) < 2 {
			return fmt.Errorf("the box's %s group holds %v, want the runtime and its child (%s)", first, procs, out.String())
		}
		return nil
	})
	for _, c := range v1Controllers {
		if !h.cg.ctrl[c] {
			continue
		}
		got := readProcs(cg.file(c, ""))
		if !slices.Contains(got, b.Cmd.Process.Pid) || len(got) != 2 {
			t.Errorf("%s group holds %v; want the runtime %d and its child", c, got, b.Cmd.Process.Pid)
		}
	}
}

func TestInstallPrefixes(t *testing.T) {
	for path, want := range map[string][]string{
		"/usr/bin/node": nil,
		"/root/.nvm/versions/node/v20.1.0/bin/node": {"/root/.nvm/versions/node/v20.1.0"},
		"/root/.pyenv/shims/python3":                {"/root/.pyenv"},
		"/opt/python/bin/python3":                   {"/opt/python"},
	} {
		if got := InstallPrefixes(path); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"": Auto, "auto": Auto, "strict": Strict, "none": None} {
		if m, err := ParseMode(in); err != nil || m != want {
			t.Errorf("%q: %v %v", in, m, err)
		}
	}
	if _, err := ParseMode("off"); err == nil {
		t.Error("accepted off")
	}
	var h *Host
	if h.Enabled() || h.Report().Mode != None {
		t.Error("a nil Host is not mode none")
	}
}

// TestUnprivileged runs this package's box tests again as an unprivileged
// user (nobody): auto mode must still start boxes with what user
// namespaces allow (no cgroups: the hierarchies belong to root).
func TestUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("already unprivileged: the other tests cover it")
	}
	if os.Getenv("LAMBADA_UNPRIVILEGED_CHILD") != "" {
		t.Skip("the child run")
	}
	dir, err := os.MkdirTemp("", "lambada-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sandbox.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run", "^(TestBoxView|TestBoxExecError)$", "-test.v")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/tmp", "TMPDIR=/tmp", "LAMBADA_UNPRIVILEGED_CHILD=1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestBoxView") || !strings.Contains(string(out), "--- PASS: TestBoxExecError") {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "euid 65534: auto: user_ns mount_ns pid_ns") {
		t.Errorf("unexpected protections as nobody:\n%s", out)
	}
	// Every box would run as the server's own uid: no peer check.
	if !strings.Contains(string(out), RuntimeAPIPeer+" (needs a root server") {
		t.Errorf("%s not reported missing as nobody:\n%s", RuntimeAPIPeer, out)
	}
}

// A box takes the Host's spare group (made without limits after the
// previous box) and its limits are written before the runtime joins it.
func TestSpareGroup(t *testing.T) {
	h := probe(t)
	if h.cg == nil || h.cg.v2 {
		t.Skip("no cgroup v1 groups on this host")
	}
	if _, err := run(t, h, Spec{Path: "/bin/true", Args: []string{"true"}, Dir: "/", MemoryMB: 64}); err != nil {
		t.Fatal(err)
	}
	var spare *cgroupBox
	waitfor.Eventually(t, 10*time.Second, func() error {
		h.spareMu.Lock()
		defer h.spareMu.Unlock()
		if spare = h.spareCG; spare == nil {
			return errors.New("no spare group")
		}
		return nil
	})
	var out syncbuf.Buffer
	b, err := h.Prepare(Spec{
		Path: "/bin/sh", Args: []string{"sh", "-c", `echo started; sleep 30`},
		Env: []string{"PATH=/usr/bin:/bin"}, Dir: "/", CodeDir: t.TempDir(), MemoryMB: 32, Stdout: &out, Stderr: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { b.Kill(); _ = b.Cmd.Wait(); b.Finish() }()
	cg := b.group()
	if cg != spare {
		t.Fatal("the box did not take the spare group")
	}
	want := map[string]string{}
	if h.Active(CgroupMemory) {
		want["memory/memory.limit_in_bytes"] = strconv.Itoa((32 + MemoryOverheadMB) << 20)
	}
	if h.Active(CgroupPids) {
		want["pids/pids.max"] = strconv.Itoa(MaxProcesses)
	}
	if h.Active(CgroupCPU) {
		want["cpu/cpu.shares"] = strconv.Itoa(max(2, 32*1024/MBPerVCPU))
	}
	for f, v := range want {
		c, name, _ := strings.Cut(f, "/")
		got, err := os.ReadFile(cg.file(c, name))
		if err != nil || strings.TrimSpace(string(got)) != v {
			t.Errorf("%s: %q (%v), want %s", f, got, err, v)
		}
		if procs := readProcs(cg.file(c, "")); !slices.Contains(procs, b.Cmd.Process.Pid) {
			t.Errorf("the runtime %d is not in the box's %s group (%v)", b.Cmd.Process.Pid, c, procs)
		}
	}
}
