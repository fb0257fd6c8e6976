package invoke_test

// Environments over time (docs/behaviour/invoke.md §8, §10, docs/behaviour/runtime-api.md §7):
// versions and alias weights, config changes, scale-out, throttling, idle
// reaping, shutdown and deletion.

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// echoWith is the echo package with one more file: other code, same program.
func echoWith(t *testing.T, extra string) []byte {
	t.Helper()
	z := servertest.GoFunction(t, "echo")
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := zr.Open("bootstrap")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bin, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return servertest.Zip(t, map[string]string{"bootstrap": string(bin), "extra.txt": extra})
}

func TestInvokeVersionsAndWeights(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	create(t, s, "ver", nil)
	pub := func() string {
		out, err := s.Client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("ver")})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Version)
	}
	if v := pub(); v != "1" {
		t.Fatalf("first version %s", v)
	}
	if _, err := s.Client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("ver"), ZipFile: echoWith(t, "v2")}); err != nil {
		t.Fatal(err)
	}
	if v := pub(); v != "2" {
		t.Fatalf("second version %s", v)
	}
	alias, err := s.Client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("ver"), Name: aws.String("live"),
		FunctionVersion: aws.String("1"), RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.3}}})
	if err != nil {
		t.Fatal(err)
	}
	aliasARN := aws.ToString(alias.AliasArn)
	if aliasARN != arnPrefix+"ver:live" {
		t.Fatalf("alias ARN %s", aliasARN)
	}

	const total, workers = 1000, 4
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for i := 0; i < total/workers; i++ {
				ci, out := callContext(t, s.Client, "ver", "live", 0)
				if out == nil {
					return
				}
				if ev := aws.ToString(out.ExecutedVersion); ev != ci.Version || ci.InvokedArn != aliasARN {
					t.Errorf("executed %q, function saw version %q and ARN %q", ev, ci.Version, ci.InvokedArn)
					return
				}
				mu.Lock()
				counts[ci.Version]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if counts["1"]+counts["2"] != total {
		t.Fatalf("versions run: %v", counts)
	}
	if share := float64(counts["2"]) / total; share < 0.25 || share > 0.35 {
		t.Fatalf("version 2 got %.3f of the calls (%v), want 0.3 ± 0.05", share, counts)
	}
	t.Logf("versions run through the alias: %v", counts)

	// Direct calls: the version addressed, its own ARN.
	for _, q := range []string{"1", "2", "$LATEST"} {
		ci, out := callContext(t, s.Client, "ver", q, 0)
		wantARN := arnPrefix + "ver:" + q
		if aws.ToString(out.ExecutedVersion) != q || ci.Version != q || ci.InvokedArn != wantARN {
			t.Errorf("qualifier %s: executed %q, saw %q at %q", q, aws.ToString(out.ExecutedVersion), ci.Version, ci.InvokedArn)
		}
	}
	ci, out := callContext(t, s.Client, "ver", "", 0)
	if aws.ToString(out.ExecutedVersion) != "$LATEST" || ci.InvokedArn != arnPrefix+"ver" {
		t.Errorf("unqualified: executed %q at %q", aws.ToString(out.ExecutedVersion), ci.InvokedArn)
	}
}

func TestInvokeConfigChangeRetiresLatest(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	create(t, s, "cfg", nil)
	if _, err := s.Client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("cfg")}); err != nil {
		t.Fatal(err)
	}
	latest, v1 := pidOf(t, s, "cfg", ""), pidOf(t, s, "cfg", "1")
	if latest == v1 {
		t.Fatalf("$LATEST and version 1 share process %d", latest)
	}
	if _, err := s.Client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("cfg"),
		Environment: &types.Environment{Variables: map[string]string{"GEN": "2"}}}); err != nil {
		t.Fatal(err)
	}
	if p := pidOf(t, s, "cfg", ""); p == latest || p == 0 {
		t.Errorf("$LATEST after a configuration change still runs in process %d", p)
	}
	if p := pidOf(t, s, "cfg", "1"); p != v1 {
		t.Errorf("version 1 lost its warm environment: %d then %d", v1, p)
	}
	// The retired $LATEST process is closed once the reaper sees it.
	waitGone(t, 15*time.Second, latest)
}

func TestInvokeScaleOut(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	create(t, s, "wide", nil)
	const n = 4
	pids := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ci, _ := callContext(t, s.Client, "wide", "", 500)
			pids[i] = ci.Pid
		})
	}
	wg.Wait()
	seen := map[int]bool{}
	for _, p := range pids {
		seen[p] = true
	}
	if len(seen) != n || seen[0] {
		t.Fatalf("%d concurrent calls ran on pids %v", n, pids)
	}
	if c := counter(t, s, "lambada_cold_starts_total"); c != n {
		t.Errorf("%v cold starts, want %d", c, n)
	}
}

// concurrentRaw sends n slow context calls at once and returns the answers.
func concurrentRaw(t *testing.T, s *servertest.Server, name string, n int) []rawResp {
	out := make([]rawResp, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			out[i] = rawInvoke(t, s, name, "", nil, []byte(`{"op":"context","ms":700}`))
		})
	}
	wg.Wait()
	return out
}

// oneThrottled checks that exactly one of two concurrent calls was refused
// with reason, and that the other ran.
func oneThrottled(t *testing.T, s *servertest.Server, name, reason string) {
	t.Helper()
	settle(t, s)
	inv := counter(t, s, "lambada_invocations_total")
	var ok, refused int
	for _, r := range concurrentRaw(t, s, name, 2) {
		switch r.status {
		case 200:
			ok++
		case 429:
			refused++
			m := r.awsError(t, 429, "TooManyRequestsException", msgRate)
			if m["Reason"] != reason {
				t.Errorf("Reason %v, want %s: %s", m["Reason"], reason, r.body)
			}
		default:
			t.Errorf("HTTP %d %s", r.status, r.body)
		}
	}
	if ok != 1 || refused != 1 {
		t.Fatalf("%d ran, %d refused; want 1 and 1", ok, refused)
	}
	waitCounter(t, s, "lambada_invocations_total", inv+1)
	if c := counter(t, s, "lambada_throttles_total"); c < 1 {
		t.Errorf("throttles_total = %v", c)
	}
}

func TestInvokeThrottleReserved(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	ctx := context.Background()
	create(t, s, "one", nil)
	if _, err := s.Client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("one"), ReservedConcurrentExecutions: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	oneThrottled(t, s, "one", reasonReserved)

	// Reserved 0: every call refused, through the SDK too, nothing run.
	create(t, s, "zero", nil)
	if _, err := s.Client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("zero"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	c := noRetry(s)
	nothingRan(t, s, func() {
		for range 3 {
			_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("zero"), Payload: []byte(`{}`)})
			wantErr(t, err, "TooManyRequestsException", 429, msgRate)
			r := rawInvoke(t, s, "zero", "", nil, []byte(`{}`))
			if m := r.awsError(t, 429, "TooManyRequestsException", msgRate); m["Reason"] != reasonReserved {
				t.Errorf("Reason %v: %s", m["Reason"], r.body)
			}
		}
	})
	// Removing the reservation lets it run again.
	if _, err := s.Client.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("zero")}); err != nil {
		t.Fatal(err)
	}
	if p := pidOf(t, s, "zero", ""); p == 0 {
		t.Fatal("no run after the reservation was removed")
	}
}

func TestInvokeThrottleAccount(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.MaxConcurrency = 1 }})
	create(t, s, "acct", nil)
	oneThrottled(t, s, "acct", reasonAccount)
}

func TestInvokeIdleReaping(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.IdleTimeout = 300 * time.Millisecond }})
	create(t, s, "idle", nil)
	first := pidOf(t, s, "idle", "")
	waitGone(t, 10*time.Second, first)
	if p := pidOf(t, s, "idle", ""); p == first || p == 0 {
		t.Fatalf("after idling, process %d served again", p)
	}
	waitCounter(t, s, "lambada_cold_starts_total", 2)
}

// An environment whose process dies while idle (killed from outside) is not
// a warm environment: the next caller gets a fresh one, not the dead
// process's exit error.
func TestInvokeIdleEnvironmentDied(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.IdleTimeout = 10 * time.Minute }})
	create(t, s, "dies", nil)
	first := pidOf(t, s, "dies", "")
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Fully reaped (not even a zombie), then a moment for the server to
	// note the exit.
	waitfor.True(t, 10*time.Second, fmt.Sprintf("process %d reaped", first), func() bool { return syscall.Kill(first, 0) != nil })
	time.Sleep(200 * time.Millisecond)
	if p := pidOf(t, s, "dies", ""); p == first || p == 0 {
		t.Fatalf("the dead environment (pid %d) was handed out again: got pid %d", first, p)
	}
	waitCounter(t, s, "lambada_cold_starts_total", 2)
}

func TestInvokeCloseStopsEverything(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, servertest.Options{})
	create(t, s, "a", nil)
	create(t, s, "b", nil)
	pids := []int{pidOf(t, s, "a", ""), pidOf(t, s, "b", "")}
	out := invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("b"), Payload: []byte(`{"op":"spawn"}`)})
	var child struct{ Pid int }
	if err := json.Unmarshal(out.Payload, &child); err != nil || child.Pid == 0 {
		t.Fatalf("spawn: %s", out.Payload)
	}
	pids = append(pids, child.Pid)
	for _, p := range pids {
		if gone(p) {
			t.Fatalf("process %d is not running before Close", p)
		}
	}
	s.Stop(t)
	waitGone(t, 10*time.Second, pids...)
}

func TestInvokeDeleteKillsEnvironments(t *testing.T) {
	t.Parallel()
	// A long idle timeout: only the deletion can retire the environment
	// (the reaper still runs every few seconds).
	s := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.IdleTimeout = 10 * time.Minute }})
	ctx := context.Background()
	create(t, s, "del", nil)
	create(t, s, "keep", nil)
	p, keep := pidOf(t, s, "del", ""), pidOf(t, s, "keep", "")
	if _, err := s.Client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("del")}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, 15*time.Second, p)
	if gone(keep) {
		t.Fatal("deleting one function stopped another's environment")
	}
	_, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("del")})
	wantErr(t, err, "ResourceNotFoundException", http.StatusNotFound, "Function not found: "+arnPrefix+"del:$LATEST")
}

// A restarted server runs the code it unpacked before without unpacking it
// again, and unpacks again a tree a crash may have left incomplete (one
// without its marker).
func TestRestartKeepsUnpackedCode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := servertest.Start(t, servertest.Options{DataDir: dir})
	create(t, s, "kept", nil)
	ctx := context.Background()
	out, err := s.Client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("kept")})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := base64.StdEncoding.DecodeString(aws.ToString(out.Configuration.CodeSha256))
	if err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(dir, "code", hex.EncodeToString(sum))
	run := func(s *servertest.Server) uint64 {
		t.Helper()
		invoke(t, s, &lambda.InvokeInput{FunctionName: aws.String("kept"), Payload: []byte(`{"op":"echo"}`)})
		var st syscall.Stat_t
		if err := syscall.Stat(tree, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	first := run(s)
	// The marker follows in the background once the tree is on disk.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(tree + ".ok"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no marker 20s after the code was unpacked")
		}
	}
	s.Stop(t)
	s = servertest.Start(t, servertest.Options{DataDir: dir})
	if run(s) != first {
		t.Fatal("the restarted server unpacked valid code again")
	}
	s.Stop(t)
	if err := os.Remove(tree + ".ok"); err != nil {
		t.Fatal(err)
	}
	// A file only the old tree has: a tree unpacked again lacks it (its
	// inode number alone can be the freed one's, reused).
	stale := filepath.Join(tree, "stale-tree")
	if err := os.WriteFile(stale, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s = servertest.Start(t, servertest.Options{DataDir: dir})
	run(s)
	if _, err := os.Stat(stale); err == nil {
		t.Fatal("the restarted server ran a tree without its marker")
	}
}
