package sandbox_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/sandbox"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
)

// TestKilledServerLeavesNothing: a real `lambada server` (built from
// ./cmd/lambada) killed with SIGKILL while an environment with a
// background child runs leaves no process behind, and its next start with
// the same data folder removes the cgroups it left.
func TestKilledServerLeavesNothing(t *testing.T) {
	h, err := sandbox.Probe(context.Background(), sandbox.Options{Mode: sandbox.Auto, Key: "kill-probe"})
	if err != nil {
		t.Fatal(err)
	}
	r := h.Report()
	h.Close()
	if !r.Active[sandbox.PidNS] && !r.Active[sandbox.CgroupPids] {
		t.Skip("neither a pid namespace nor a cgroup holds the processes")
	}
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "lambada")
	build := exec.Command("go", "build", "-o", bin, "./cmd/lambada")
	build.Dir = filepath.Dir(strings.TrimSpace(string(root)))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building lambada: %v\n%s", err, out)
	}
	zips := buildFunctions(t, "attacker")
	data := t.TempDir()
	creds := server.Credentials{AccessKeyID: "AKIDKILLTEST", SecretAccessKey: "kill-test-secret"}

	srv, url := startLambada(t, bin, data, creds)
	client := servertest.NewClient(url, creds)
	ctx := context.Background()
	if _, err := client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("attacker"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zips[0]}, Timeout: aws.Int32(10),
	}); err != nil {
		t.Fatal(err)
	}
	token := fmt.Sprintf("bg-kill-%d-%d", os.Getpid(), time.Now().UnixNano())
	out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("attacker"),
		Payload: []byte(`{"op":"background","token":"` + token + `"}`)})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("background: %v %s", err, out.Payload)
	}
	if len(hostProcs(token)) != 1 {
		t.Fatalf("background child not running")
	}
	// The box's processes, by pid and start time (pids are reused).
	boxed := map[int]string{}
	for _, g := range boxGroups(t, data) {
		for _, pid := range readPids(filepath.Join(g, "cgroup.procs")) {
			boxed[pid] = startTime(pid)
		}
	}

	_ = srv.Process.Kill()
	_ = srv.Wait()
	eventually(t, "the killed server's processes are gone", func() bool {
		if len(hostProcs(token)) > 0 {
			return false
		}
		for pid, start := range boxed {
			if startTime(pid) == start {
				return false
			}
		}
		return true
	})

	// The restart sweeps the stale cgroups, and works.
	stale := boxGroups(t, data)
	if len(stale) == 0 && (r.Active[sandbox.CgroupMemory] || r.Active[sandbox.CgroupPids]) {
		t.Error("no stale cgroup after kill -9: nothing for the restart to sweep?")
	}
	srv, url = startLambada(t, bin, data, creds)
	if g := boxGroups(t, data); len(g) > 0 {
		t.Errorf("stale cgroups after the restart: %v (before: %v)", g, stale)
	}
	client = servertest.NewClient(url, creds)
	out, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("attacker"), Payload: []byte(`{"op":"whoami"}`)})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("after the restart: %v %s", err, out.Payload)
	}
	_ = srv.Process.Signal(syscall.SIGTERM)
	if err := srv.Wait(); err != nil {
		t.Errorf("server exit: %v", err)
	}
	for _, d := range cgroupKeyDirs(t, data) {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup %s left after shutdown", d)
		}
	}
}

var readyLine = regexp.MustCompile(`msg="lambada ready" (?:.* )?listen=(\S+)`)

// startLambada runs `lambada server` on a free port and waits until it
// logs that it is ready.
func startLambada(t *testing.T, bin, data string, c server.Credentials) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "server", "--listen", "127.0.0.1:0", "--data", data, "--isolation", "auto")
	cmd.Env = append(os.Environ(), "LAMBADA_ACCESS_KEY_ID="+c.AccessKeyID, "LAMBADA_SECRET_ACCESS_KEY="+c.SecretAccessKey)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case a := <-addr:
		return cmd, "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("lambada server never became ready")
	}
	return nil, ""
}

func readPids(file string) []int {
	b, _ := os.ReadFile(file)
	var out []int
	for _, f := range strings.Fields(string(b)) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// startTime is field 22 of /proc/<pid>/stat, "" when pid is gone.
func startTime(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 20 {
		return ""
	}
	return f[19]
}
