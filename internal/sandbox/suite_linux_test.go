package sandbox_test

// The sandbox conformance suite: a whole lambada in every isolation mode
// this machine supports, a hostile function (testdata/functions/attacker)
// trying what a function must not do, and an innocent one (echo) that
// must keep answering meanwhile. Every expectation depends on the
// protections the server reports as active, so the suite runs unchanged
// on weaker hosts.

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/runtimeapi"
	"github.com/lambada-dev/lambada/internal/sandbox"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

const (
	role       = "arn:aws:iam::000000000000:role/sandbox-tests"
	attackerMB = 1024
)

// suiteMode is one way to run the suite.
type suiteMode struct {
	name    string
	mode    sandbox.Mode
	disable []string
	root    bool // needs a root server
}

// Strict differs from auto only at start (TestStrict): where it starts,
// its boxes are auto's with every protection, which "auto" covers.
var suiteModes = []suiteMode{
	{name: "auto", mode: "auto"},
	// A host without user namespaces: root gives each box a dedicated id.
	{name: "auto-without-userns", mode: "auto", disable: []string{sandbox.UserNS}, root: true},
	// A host without writable cgroups: namespaces and rlimits only.
	{name: "auto-without-cgroups", mode: "auto", disable: []string{sandbox.CgroupMemory, sandbox.CgroupPids, sandbox.CgroupCPU}},
}

// attackerResult mirrors the attacker's result document.
type attackerResult struct {
	OK      bool              `json:"ok"`
	Err     string            `json:"err"`
	N       int               `json:"n"`
	Pid     int               `json:"pid"`
	UID     int               `json:"uid"`
	Names   []string          `json:"names"`
	Procs   map[string]string `json:"procs"`
	Env     map[string]string `json:"env"`
	Cwd     string            `json:"cwd"`
	Rlimits map[string]uint64 `json:"rlimits"`

	Listening []int             `json:"listening"`
	Attempts  map[string]string `json:"attempts"`
	Stolen    int               `json:"stolen"`
	Forged    int               `json:"forged"`
	Open      int               `json:"open"`
}

type suite struct {
	t         *testing.T
	victimZip []byte
	s         *servertest.Server
	report    sandbox.Report
}

func (st *suite) on(p string) bool { return st.report.Active[p] }

func (st *suite) create(name string, zip []byte, memory, ephemeral int32) {
	st.t.Helper()
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zip},
		MemorySize: aws.Int32(memory), Timeout: aws.Int32(30),
	}
	if ephemeral > 0 {
		in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(ephemeral)}
	}
	if _, err := st.s.Client.CreateFunction(context.Background(), in); err != nil {
		st.t.Fatalf("CreateFunction %s: %v", name, err)
	}
}

// invoke runs one synchronous invocation with its log tail.
func (st *suite) invoke(name string, payload any) (*lambda.InvokeOutput, string) {
	st.t.Helper()
	b, _ := json.Marshal(payload)
	out, err := st.s.Client.Invoke(context.Background(), &lambda.InvokeInput{
		FunctionName: aws.String(name), Payload: b, LogType: types.LogTypeTail,
	})
	if err != nil {
		st.t.Fatalf("Invoke %s %s: %v", name, b, err)
	}
	tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	return out, string(tail)
}

// attack runs an attacker op that must come back as a result document.
func (st *suite) attack(name string, ev map[string]any) attackerResult {
	st.t.Helper()
	out, tail := st.invoke(name, ev)
	if out.FunctionError != nil {
		st.t.Fatalf("%v: function error %s: %s\n%s", ev, aws.ToString(out.FunctionError), out.Payload, tail)
	}
	var r attackerResult
	if err := json.Unmarshal(out.Payload, &r); err != nil {
		st.t.Fatalf("%v: %v: %s", ev, err, out.Payload)
	}
	return r
}

// hostProcs lists host pids whose command line contains token.
func hostProcs(token string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if strings.Contains(string(b), token) {
			out = append(out, pid)
		}
	}
	return out
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitfor.True(t, 10*time.Second, what, cond)
}

// cgroupKeyDirs are the cgroup directories of the server using dataDir.
func cgroupKeyDirs(t *testing.T, dataDir string) []string {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(abs))
	key := hex.EncodeToString(sum[:6])
	var out []string
	for _, c := range []string{"memory", "pids", "cpu", ""} {
		out = append(out, filepath.Join("/sys/fs/cgroup", c, "lambada", key))
	}
	return out
}

// boxGroups counts box cgroups left under dataDir's key.
func boxGroups(t *testing.T, dataDir string) []string {
	var out []string
	for _, d := range cgroupKeyDirs(t, dataDir) {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if e.IsDir() {
				out = append(out, filepath.Join(d, e.Name()))
			}
		}
	}
	return out
}

func TestSandboxSuite(t *testing.T) {
	zips := buildFunctions(t, "attacker", "echo")
	attacker, echo := zips[0], zips[1]
	for _, m := range suiteModes {
		t.Run(m.name, func(t *testing.T) {
			if m.root && os.Geteuid() != 0 {
				t.Skip("needs root")
			}
			runSuite(t, m, attacker, echo)
		})
	}
}

func runSuite(t *testing.T, m suiteMode, attackerZip, echoZip []byte) {
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) {
		c.Isolation, c.IsolationDisable = m.mode, m.disable
		c.MetricsListen = "127.0.0.1:0"
	}})
	st := &suite{t: t, s: s, victimZip: echoZip}
	st.report = healthReport(t, s)
	t.Logf("isolation: %s", st.report)
	for _, p := range m.disable {
		if st.on(p) {
			t.Fatalf("%s disabled but reported active", p)
		}
	}
	// 1 GB: /tmp (512 MB) is a tmpfs whose pages count as the box's memory.
	st.create("attacker", attackerZip, attackerMB, 512)
	st.create("victim", echoZip, 128, 0)

	if out, _ := st.invoke("victim", map[string]any{"op": "echo"}); out.FunctionError != nil {
		t.Fatalf("victim: %s", out.Payload)
	}
	// The victim answers throughout the attacks.
	stop := make(chan struct{})
	var victimCalls, victimFailures atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			out, err := s.Client.Invoke(context.Background(), &lambda.InvokeInput{
				FunctionName: aws.String("victim"), Payload: []byte(`{"op":"echo","x":1}`),
			})
			victimCalls.Add(1)
			if err != nil || out.FunctionError != nil || string(out.Payload) != `{"op":"echo","x":1}` {
				victimFailures.Add(1)
				t.Logf("victim failed: %v %v", err, out)
			}
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
		if victimCalls.Load() == 0 || victimFailures.Load() > 0 {
			t.Errorf("victim: %d of %d calls failed", victimFailures.Load(), victimCalls.Load())
		}
	}()

	t.Run("identity", func(t *testing.T) { st.t = t; identity(st) })
	t.Run("cgroup-limits", func(t *testing.T) { st.t = t; cgroupLimits(st) })
	t.Run("data-folder", func(t *testing.T) { st.t = t; dataFolder(st) })
	t.Run("processes", func(t *testing.T) { st.t = t; processes(st) })
	t.Run("memory", func(t *testing.T) { st.t = t; memory(st) })
	t.Run("fork-bomb", func(t *testing.T) { st.t = t; forkBomb(st) })
	t.Run("open-files", func(t *testing.T) { st.t = t; openFiles(st) })
	t.Run("fill-tmp", func(t *testing.T) { st.t = t; fillTmp(st) })
	t.Run("background-child", func(t *testing.T) { st.t = t; backgroundChild(st) })
	t.Run("runtime-api-peer", func(t *testing.T) { st.t = t; runtimeAPIPeer(st) })
	t.Run("runtime-api-flood", func(t *testing.T) { st.t = t; runtimeAPIFlood(st) })
	t.Run("metrics-listener", func(t *testing.T) { st.t = t; metricsListener(st) })
	st.t = t

	// Shutdown leaves no box cgroups and no processes behind.
	token := "bg-shutdown-" + strconv.Itoa(os.Getpid()) + "-" + m.name
	if r := st.attack("attacker", map[string]any{"op": "background", "token": token}); !r.OK {
		t.Fatalf("background: %+v", r)
	}
	close(stop)
	wg.Wait()
	stop = make(chan struct{})
	s.Stop(t)
	eventually(t, "the background child is gone after shutdown", func() bool { return len(hostProcs(token)) == 0 })
	if g := boxGroups(t, s.DataDir); len(g) > 0 {
		t.Errorf("cgroups left after shutdown: %v", g)
	}
	for _, d := range cgroupKeyDirs(t, s.DataDir) {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("server cgroup %s left after shutdown", d)
		}
	}
}

func healthReport(t *testing.T, s *servertest.Server) sandbox.Report {
	resp, err := http.Get(s.URL() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h struct {
		Isolation *sandbox.Report `json:"isolation"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || h.Isolation == nil {
		t.Fatalf("/health without isolation: %v", err)
	}
	for _, p := range sandbox.Protections {
		if _, ok := h.Isolation.Active[p]; !ok {
			t.Fatalf("/health isolation lacks %s: %+v", p, h.Isolation)
		}
	}
	return *h.Isolation
}

func identity(st *suite) {
	t := st.t
	r := st.attack("attacker", map[string]any{"op": "whoami"})
	switch {
	case st.on(sandbox.UserNS) && os.Geteuid() == 0:
		if r.UID != sandbox.BoxUID {
			t.Errorf("uid %d, want %d", r.UID, sandbox.BoxUID)
		}
	case st.on(sandbox.MountNS) && os.Geteuid() == 0:
		if r.UID < 1_000_000 {
			t.Errorf("uid %d, want a dedicated unprivileged id", r.UID)
		}
	}
	if st.on(sandbox.MountNS) {
		if r.Env["LAMBDA_TASK_ROOT"] != sandbox.TaskRoot || r.Cwd != sandbox.TaskRoot || r.Env["TMPDIR"] != sandbox.TmpDir {
			t.Errorf("task root %q, cwd %q, TMPDIR %q", r.Env["LAMBDA_TASK_ROOT"], r.Cwd, r.Env["TMPDIR"])
		}
		// The box mounts its own /tmp: no host folder is made for it.
		if left, _ := filepath.Glob(filepath.Join(st.s.DataDir, "tmp", "env-*")); len(left) > 0 {
			t.Errorf("host tmp folders made for boxed environments: %v", left)
		}
		allowed := map[string]bool{"bin": true, "dev": true, "etc": true, "lib": true, "lib32": true, "lib64": true, "libx32": true,
			"opt": true, "proc": true, "sbin": true, "tmp": true, "usr": true, "var": true}
		for _, n := range r.Names {
			if !allowed[n] {
				t.Errorf("/%s is visible in the box (root: %v)", n, r.Names)
			}
		}
	}
	if st.on(sandbox.PidNS) && r.Pid != 1 {
		t.Errorf("runtime pid %d in its namespace, want 1", r.Pid)
	}
	if st.on(sandbox.Rlimits) && (r.Rlimits["nofile"] != sandbox.MaxOpenFiles || r.Rlimits["nproc"] != sandbox.MaxProcesses) {
		t.Errorf("rlimits %v", r.Rlimits)
	}
	if !st.on(sandbox.MountNS) {
		return
	}
	// The code is read-only, /tmp writable.
	if r := st.attack("attacker", map[string]any{"op": "write", "path": "/var/task/evil"}); r.OK || !strings.Contains(r.Err, "read-only file system") {
		t.Errorf("writing the task root: %+v", r)
	}
	if r := st.attack("attacker", map[string]any{"op": "write", "path": "/etc/evil"}); r.OK {
		t.Errorf("writing /etc: %+v", r)
	}
	if r := st.attack("attacker", map[string]any{"op": "write", "path": "/tmp/ok"}); !r.OK {
		t.Errorf("writing /tmp: %+v", r)
	}
}

func dataFolder(st *suite) {
	t := st.t
	if !st.on(sandbox.MountNS) {
		t.Skip("no mount namespace: the data folder is protected by its mode only")
	}
	data, err := filepath.Abs(st.s.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	echoHash := sha256.Sum256(st.victimZip)
	victimCode := filepath.Join(data, "code", hex.EncodeToString(echoHash[:]), "bootstrap")
	creds := filepath.Join(data, "credentials.json")
	for _, p := range []string{creds, victimCode} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("the attack needs %s on the host: %v", p, err)
		}
	}
	for _, p := range []string{
		creds, victimCode,
		"/proc/1/root" + creds, "/proc/1/root" + victimCode,
		"/var/task/../../.." + creds,
		"/proc/1/cwd/../../.." + creds,
	} {
		if r := st.attack("attacker", map[string]any{"op": "read", "path": p}); r.OK {
			t.Errorf("read %s (%d bytes)", p, r.N)
		}
	}
	for _, p := range []string{data, filepath.Join(data, "code"), filepath.Dir(data)} {
		if r := st.attack("attacker", map[string]any{"op": "list", "path": p}); r.OK && len(r.Names) > 0 {
			t.Errorf("listed %s: %v", p, r.Names)
		}
	}
}

func processes(st *suite) {
	t := st.t
	if !st.on(sandbox.PidNS) {
		t.Skip("no pid namespace")
	}
	r := st.attack("attacker", map[string]any{"op": "procs"})
	if !r.OK || len(r.Procs) == 0 {
		t.Fatalf("procs: %+v", r)
	}
	for pid, cmd := range r.Procs {
		if !strings.HasPrefix(cmd, sandbox.TaskRoot+"/bootstrap") {
			t.Errorf("sees process %s %q", pid, cmd)
		}
	}
	// The server's pid means nothing inside; kill(-1) reaches only the
	// box's own processes (and never its pid 1).
	if r := st.attack("attacker", map[string]any{"op": "kill", "pid": os.Getpid(), "sig": 0}); r.OK {
		t.Errorf("signalled the server's pid: %+v", r)
	}
	if r := st.attack("attacker", map[string]any{"op": "kill", "pid": -1, "sig": 9}); r.OK {
		t.Logf("kill(-1) found processes to kill in its own box")
	}
	if r := st.attack("attacker", map[string]any{"op": "whoami"}); !r.OK {
		t.Errorf("the attacker did not survive its own kill(-1): %+v", r)
	}
}

var maxMemoryUsed = regexp.MustCompile(`Max Memory Used: (\d+) MB`)

func memory(st *suite) {
	t := st.t
	// Max Memory Used is reported either way; from the cgroup it covers
	// the whole box.
	out, tail := st.invoke("attacker", map[string]any{"op": "alloc", "mb": 64})
	m := maxMemoryUsed.FindStringSubmatch(tail)
	if out.FunctionError != nil || m == nil {
		t.Fatalf("alloc 64 MB: %s %s\n%s", aws.ToString(out.FunctionError), out.Payload, tail)
	}
	if !st.on(sandbox.CgroupMemory) {
		// VmHWM sampled now and then: no exact figure to expect.
		t.Skip("no memory cgroup: allocations are not limited")
	}
	if used, _ := strconv.Atoi(m[1]); used < 64 || used > attackerMB {
		t.Errorf("Max Memory Used %d MB after touching 64 MB", used)
	}
	out, tail = st.invoke("attacker", map[string]any{"op": "alloc", "mb": attackerMB + 256})
	if aws.ToString(out.FunctionError) != "Unhandled" {
		t.Fatalf("allocating past MemorySize: %s %s\n%s", aws.ToString(out.FunctionError), out.Payload, tail)
	}
	var doc struct{ ErrorType, ErrorMessage string }
	_ = json.Unmarshal(out.Payload, &doc)
	if doc.ErrorType != "Runtime.OutOfMemory" || !regexp.MustCompile(`^RequestId: \S+ Error: Runtime exited with error: signal: killed$`).MatchString(doc.ErrorMessage) {
		t.Errorf("out of memory document: %s", out.Payload)
	}
	if m := maxMemoryUsed.FindStringSubmatch(tail); m == nil {
		t.Errorf("no Max Memory Used in %s", tail)
	} else if used, _ := strconv.Atoi(m[1]); used != attackerMB {
		// As on AWS: an out-of-memory REPORT shows the whole MemorySize used,
		// never more (the group's allowance above it is lambada's).
		t.Errorf("Max Memory Used %d MB after running out of %d MB", used, attackerMB)
	}
	if !strings.Contains(tail, "Error Type: Runtime.OutOfMemory") {
		t.Errorf("REPORT without the error type:\n%s", tail)
	}
	// The environment was replaced.
	if r := st.attack("attacker", map[string]any{"op": "whoami"}); !r.OK {
		t.Errorf("after the OOM: %+v", r)
	}
}

func forkBomb(st *suite) {
	t := st.t
	if !st.on(sandbox.Rlimits) && !st.on(sandbox.CgroupPids) {
		t.Skip("nothing limits processes")
	}
	r := st.attack("attacker", map[string]any{"op": "forkbomb", "n": 5000})
	if r.N >= sandbox.MaxProcesses || !strings.Contains(r.Err, "resource temporarily unavailable") {
		t.Errorf("fork bomb: %d forks, %q", r.N, r.Err)
	}
	t.Logf("fork bomb stopped after %d forks: %s", r.N, r.Err)
	if r := st.attack("attacker", map[string]any{"op": "whoami"}); !r.OK {
		t.Errorf("after the fork bomb: %+v", r)
	}
}

func openFiles(st *suite) {
	t := st.t
	if !st.on(sandbox.Rlimits) {
		t.Skip("no rlimits")
	}
	r := st.attack("attacker", map[string]any{"op": "openfiles", "n": 5000})
	if r.N >= sandbox.MaxOpenFiles || !strings.Contains(r.Err, "too many open files") {
		t.Errorf("open files: %d, %q", r.N, r.Err)
	}
}

func fillTmp(st *suite) {
	t := st.t
	if !st.on(sandbox.TmpSize) {
		t.Skip("/tmp is not size-limited")
	}
	r := st.attack("attacker", map[string]any{"op": "filltmp", "mb": 700})
	if r.N > 512 || r.N < 500 || !strings.Contains(r.Err, "no space left on device") {
		t.Errorf("filling /tmp of 512 MB: %d MB written, %q", r.N, r.Err)
	}
}

func backgroundChild(st *suite) {
	t := st.t
	token := fmt.Sprintf("bg-%d-%d", os.Getpid(), time.Now().UnixNano())
	if r := st.attack("attacker", map[string]any{"op": "background", "token": token}); !r.OK {
		t.Fatalf("background: %+v", r)
	}
	// Like on AWS, it survives the invocation while the environment lives.
	if len(hostProcs(token)) != 1 {
		t.Fatalf("background child not running: %v", hostProcs(token))
	}
	before := len(boxGroups(t, st.s.DataDir))
	out, _ := st.invoke("attacker", map[string]any{"op": "exit", "n": 3})
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "Runtime.ExitError") {
		t.Fatalf("exit: %s", out.Payload)
	}
	if !st.on(sandbox.PidNS) && !st.on(sandbox.CgroupPids) {
		t.Skip("without a pid namespace or cgroup, only the process group is killed")
	}
	eventually(t, "the background child died with its environment", func() bool { return len(hostProcs(token)) == 0 })
	if st.on(sandbox.CgroupMemory) || st.on(sandbox.CgroupPids) {
		eventually(t, "the environment's cgroup is removed", func() bool { return len(boxGroups(t, st.s.DataDir)) < before })
	}
}

// TestStrict: strict starts only with every Required protection, and
// reports them all; a missing one stops the server from starting.
func TestStrict(t *testing.T) {
	h, err := sandbox.Probe(context.Background(), sandbox.Options{Mode: sandbox.Auto, Key: "strict-probe"})
	if err != nil {
		t.Fatal(err)
	}
	full := true
	for _, p := range sandbox.Required {
		full = full && h.Active(p)
	}
	h.Close()
	if full {
		s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.Isolation = "strict" }})
		r := healthReport(t, s)
		for _, p := range sandbox.Required {
			if !r.Active[p] {
				t.Errorf("strict runs without %s: %s", p, r)
			}
		}
	}
	for _, p := range sandbox.Required {
		srv, err := server.New(server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Isolation: "strict", IsolationDisable: []string{p}})
		if err != nil {
			t.Fatal(err)
		}
		err = srv.Start(context.Background())
		if err == nil || !errors.Is(err, sandbox.ErrStrict) || !strings.Contains(err.Error(), p) {
			t.Errorf("strict without %s: %v", p, err)
		}
		_ = srv.Close(context.Background())
	}
	if _, err := server.New(server.Config{Isolation: "paranoid"}); err == nil {
		t.Error("an unknown --isolation mode was accepted")
	}
}

// TestNoneReport: --isolation none reports every protection off, the
// Runtime API peer check included.
func TestNoneReport(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.Isolation = "none" }})
	r := healthReport(t, s)
	if r.Mode != sandbox.None {
		t.Errorf("mode %q", r.Mode)
	}
	for p, on := range r.Active {
		if on {
			t.Errorf("%s reported active without isolation", p)
		}
	}
	if _, ok := r.Active[sandbox.RuntimeAPIPeer]; !ok {
		t.Errorf("no %s in %+v", sandbox.RuntimeAPIPeer, r)
	}
}

// buildFunctions builds testdata/functions/<name> for each name, in
// parallel, stripped and zipped without compression: a race-enabled
// server validates and unpacks stored zips several times faster.
func buildFunctions(t *testing.T, names ...string) [][]byte {
	t.Helper()
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := make([][]byte, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bin := filepath.Join(dir, name)
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./testdata/functions/"+name)
			cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("building %s: %v\n%s", name, err, b)
				return
			}
			b, err := os.ReadFile(bin)
			if err != nil {
				errs[i] = err
				return
			}
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			h := &zip.FileHeader{Name: "bootstrap", Method: zip.Store}
			h.SetMode(0o755)
			w, err := zw.CreateHeader(h)
			if err == nil {
				_, err = w.Write(b)
			}
			if err == nil {
				err = zw.Close()
			}
			out[i], errs[i] = buf.Bytes(), err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestInterpreters: nodejs* and python* functions run in a box, with the
// interpreter's install prefix visible read-only.
func TestInterpreters(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.Isolation = "auto" }})
	st := &suite{t: t, s: s, report: healthReport(t, s)}
	if !st.on(sandbox.MountNS) {
		t.Skip("no private root to check")
	}
	for _, c := range []struct {
		name, runtime, handler, dir, payload, want string
	}{
		{"node", "nodejs20.x", "index.handler", "node/basic", `{"op":"echo","x":1}`, `{"op":"echo","x":1}`},
		{"python", "python3.11", "app.lambda_handler", "python/basic", `{"x":1}`, `"x": 1`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Client.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
				FunctionName: aws.String(c.name), Role: aws.String(role), Runtime: types.Runtime(c.runtime),
				Handler: aws.String(c.handler), Code: &types.FunctionCode{ZipFile: servertest.FolderFunction(t, c.dir)},
			})
			if err != nil {
				t.Fatal(err)
			}
			out, err := s.Client.Invoke(context.Background(), &lambda.InvokeInput{
				FunctionName: aws.String(c.name), Payload: []byte(c.payload), LogType: types.LogTypeTail,
			})
			if err != nil {
				t.Fatal(err)
			}
			tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
			if out.FunctionError != nil || !strings.Contains(string(out.Payload), c.want) {
				if strings.Contains(string(out.Payload), "not supported on this host") {
					t.Skip("interpreter not installed")
				}
				t.Fatalf("%s: %s %s\n%s", c.runtime, aws.ToString(out.FunctionError), out.Payload, tail)
			}
		})
	}
}

// cgroupLimits: the attacker's box group has memory = MemorySize +
// overhead, 1,024 pids and CPU shares proportional to its memory.
func cgroupLimits(st *suite) {
	t := st.t
	if !st.on(sandbox.CgroupMemory) || st.report.Cgroups != "v1" {
		t.Skip("checks cgroup v1 files")
	}
	want := int64(attackerMB+sandbox.MemoryOverheadMB) << 20
	for _, g := range boxGroups(t, st.s.DataDir) {
		if !strings.Contains(g, "/memory/") {
			continue
		}
		if b, _ := os.ReadFile(filepath.Join(g, "memory.limit_in_bytes")); strings.TrimSpace(string(b)) != strconv.FormatInt(want, 10) {
			continue // the victim's
		}
		id := filepath.Base(g)
		read := func(c, file string) string {
			b, _ := os.ReadFile(filepath.Join(strings.Replace(filepath.Dir(g), "/memory/", "/"+c+"/", 1), id, file))
			return strings.TrimSpace(string(b))
		}
		if st.on(sandbox.CgroupPids) && read("pids", "pids.max") != strconv.Itoa(sandbox.MaxProcesses) {
			t.Errorf("pids.max %q", read("pids", "pids.max"))
		}
		if st.on(sandbox.CgroupCPU) && read("cpu", "cpu.shares") != strconv.Itoa(attackerMB*1024/sandbox.MBPerVCPU) {
			t.Errorf("cpu.shares %q", read("cpu", "cpu.shares"))
		}
		return
	}
	t.Errorf("no box group with a %d-byte memory limit among %v", want, boxGroups(t, st.s.DataDir))
}

// runtimeAPIPorts are the Runtime API ports of this server's environments
// of function name: their runtimes are the server's children (the shim
// execs the runtime), and each has its address in its environment.
func runtimeAPIPorts(t *testing.T, name string) []int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		status, _ := os.ReadFile("/proc/" + e.Name() + "/status")
		if !regexp.MustCompile(`(?m)^PPid:\s+` + strconv.Itoa(os.Getpid()) + `$`).Match(status) {
			continue
		}
		environ, _ := os.ReadFile("/proc/" + e.Name() + "/environ")
		vars := strings.Split(string(environ), "\x00")
		if !slices.Contains(vars, "AWS_LAMBDA_FUNCTION_NAME="+name) {
			continue
		}
		for _, v := range vars {
			if addr, ok := strings.CutPrefix(v, "AWS_LAMBDA_RUNTIME_API=127.0.0.1:"); ok {
				if p, err := strconv.Atoi(addr); err == nil {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// runtimeAPIPeer: the attacker finds the victim's Runtime API in
// /proc/net/tcp, parks GET /next on it and would answer what it gets with
// a forged result; the victim's invocations all reach the victim.
func runtimeAPIPeer(st *suite) {
	t := st.t
	if !st.on(sandbox.RuntimeAPIPeer) {
		t.Skipf("no Runtime API peer check: %s", st.report.Missing[sandbox.RuntimeAPIPeer])
	}
	ports := runtimeAPIPorts(t, "victim")
	if len(ports) == 0 {
		t.Fatal("no victim environment found")
	}
	r := st.attack("attacker", map[string]any{"op": "steal-start", "ports": ports})
	if !r.OK {
		t.Fatalf("steal-start: %+v", r)
	}
	stopped := false
	stop := func() attackerResult {
		stopped = true
		return st.attack("attacker", map[string]any{"op": "steal-stop"})
	}
	defer func() {
		if !stopped {
			stop()
		}
	}()
	for _, p := range ports {
		if !slices.Contains(r.Listening, p) {
			t.Errorf("the victim's port %d is not among the listening ports the attacker sees: %v", p, r.Listening)
		}
		if a := r.Attempts["127.0.0.1:"+strconv.Itoa(p)]; !strings.HasPrefix(a, "closed") {
			t.Errorf("the victim's Runtime API on port %d: %q, want the connection closed", p, a)
		}
	}
	for i := range 20 {
		want := fmt.Sprintf(`{"op":"echo","i":%d}`, i)
		out, err := st.s.Client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("victim"), Payload: []byte(want)})
		if err != nil || out.FunctionError != nil || string(out.Payload) != want {
			t.Errorf("victim call %d: %v %+v", i, err, out)
		}
	}
	if r := stop(); !r.OK || r.Stolen != 0 || r.Forged != 0 {
		t.Errorf("the attacker stole %d invocations and answered %d: %+v", r.Stolen, r.Forged, r)
	}
}

// runtimeAPIFlood: a function opening a thousand connections to its own
// Runtime API gets at most runtimeapi.MaxConns of them; the server's
// descriptors stay bounded and it keeps answering.
func runtimeAPIFlood(st *suite) {
	t := st.t
	fds := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	before := fds()
	r := st.attack("attacker", map[string]any{"op": "flood", "n": 3000, "max": runtimeapi.MaxConns})
	held := fds()
	defer st.attack("attacker", map[string]any{"op": "flood-release"})
	t.Logf("flood: %d connections opened (%q), %d kept open; server fds %d before, %d during", r.N, r.Err, r.Open, before, held)
	if r.N < 500 {
		t.Fatalf("the attacker opened only %d connections: %+v", r.N, r)
	}
	// The attacker's runtime holds one of the slots.
	if r.Open > runtimeapi.MaxConns {
		t.Errorf("%d connections kept open, limit %d", r.Open, runtimeapi.MaxConns)
	}
	if held-before > 100 {
		t.Errorf("server fds grew from %d to %d during the flood", before, held)
	}
	resp, err := http.Get(st.s.URL() + "/health")
	if err != nil {
		t.Fatalf("/health during the flood: %v", err)
	}
	resp.Body.Close()
	if out, _ := st.invoke("victim", map[string]any{"op": "echo"}); out.FunctionError != nil {
		t.Errorf("victim during the flood: %s", out.Payload)
	}
}

// metricsListener: the --metrics-listen address serves without
// credentials, so no function may reach it: the attacker's connection is
// reset before any answer.
func metricsListener(st *suite) {
	t := st.t
	if !st.on(sandbox.RuntimeAPIPeer) {
		t.Skipf("no peer check: %s", st.report.Missing[sandbox.RuntimeAPIPeer])
	}
	_, port, err := net.SplitHostPort(st.s.MetricsAddr())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	r := st.attack("attacker", map[string]any{"op": "steal-start", "ports": []int{p}})
	st.attack("attacker", map[string]any{"op": "steal-stop"})
	if a := r.Attempts["127.0.0.1:"+port]; !r.OK || !strings.HasPrefix(a, "closed") {
		t.Errorf("the metrics listener answered a function: %q %+v", a, r)
	}
	// The server itself (a scraper) still gets its answer.
	resp, err := http.Get("http://" + st.s.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/metrics: %d", resp.StatusCode)
	}
}
