// Command attacker is the sandbox suite's hostile function: an unmodified
// aws-lambda-go function that tries, on request, what a function must not
// be able to do (internal/sandbox's suite). Every op reports what happened
// instead of failing, so the test decides what AWS would have done.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Pid   int    `json:"pid"`
	Sig   int    `json:"sig"`
	N     int    `json:"n"`
	MB    int    `json:"mb"`
	Token string `json:"token"`
	Ports []int  `json:"ports"`
	Max   int    `json:"max"`
}

type result struct {
	OK      bool              `json:"ok"`
	Err     string            `json:"err,omitempty"`
	N       int               `json:"n"`
	Pid     int               `json:"pid,omitempty"`
	UID     int               `json:"uid"`
	Names   []string          `json:"names,omitempty"`
	Procs   map[string]string `json:"procs,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	Cwd     string            `json:"cwd,omitempty"`
	Rlimits map[string]uint64 `json:"rlimits,omitempty"`
	// Runtime API attacks: the 127.0.0.1 ports seen listening, the first
	// attempt on each attacked address, invocations stolen and forged
	// answers taken, connections the server kept open.
	Listening []int             `json:"listening,omitempty"`
	Attempts  map[string]string `json:"attempts,omitempty"`
	Stolen    int               `json:"stolen"`
	Forged    int               `json:"forged"`
	Open      int               `json:"open"`
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// keep holds allocated memory so the collector cannot free it.
var keep [][]byte

func handle(ctx context.Context, ev event) (result, error) {
	r := result{UID: os.Getuid(), Pid: os.Getpid()}
	switch ev.Op {
	case "whoami":
		r.OK = true
		r.Cwd, _ = os.Getwd()
		r.Env = map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			r.Env[k] = v
		}
		r.Rlimits = map[string]uint64{}
		var l syscall.Rlimit
		if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil {
			r.Rlimits["nofile"] = l.Cur
		}
		if syscall.Getrlimit(6 /* RLIMIT_NPROC */, &l) == nil {
			r.Rlimits["nproc"] = l.Cur
		}
		entries, _ := os.ReadDir("/")
		for _, e := range entries {
			r.Names = append(r.Names, e.Name())
		}
	case "read":
		b, err := os.ReadFile(ev.Path)
		r.OK, r.Err, r.N = err == nil, errText(err), len(b)
	case "write":
		err := os.WriteFile(ev.Path, []byte("attacker was here\n"), 0o644)
		r.OK, r.Err = err == nil, errText(err)
	case "list":
		entries, err := os.ReadDir(ev.Path)
		r.OK, r.Err = err == nil, errText(err)
		for _, e := range entries {
			r.Names = append(r.Names, e.Name())
		}
	case "procs":
		// Every process this function can see, with its command line.
		entries, err := os.ReadDir("/proc")
		r.OK, r.Err = err == nil, errText(err)
		r.Procs = map[string]string{}
		for _, e := range entries {
			if _, err := strconv.Atoi(e.Name()); err != nil {
				continue
			}
			b, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			r.Procs[e.Name()] = strings.ReplaceAll(string(b), "\x00", " ")
		}
	case "kill":
		err := syscall.Kill(ev.Pid, syscall.Signal(ev.Sig))
		r.OK, r.Err = err == nil, errText(err)
	case "alloc":
		// Allocate and touch ev.MB MiB; the memory limit should kill us.
		for i := 0; i < ev.MB; i++ {
			b := make([]byte, 1<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		r.OK, r.N = true, len(keep)
		keep = nil
	case "forkbomb":
		r.N, r.Err = forkBomb(ev.N)
		r.OK = r.Err == ""
	case "openfiles":
		var files []*os.File
		var err error
		for len(files) < ev.N {
			var f *os.File
			if f, err = os.Open("/dev/null"); err != nil {
				break
			}
			files = append(files, f)
		}
		r.N, r.Err, r.OK = len(files), errText(err), err == nil
		for _, f := range files {
			f.Close()
		}
	case "filltmp":
		// Write 1 MiB files to /tmp until ev.MB MiB or an error.
		chunk := make([]byte, 1<<20)
		var err error
		for r.N < ev.MB {
			if err = os.WriteFile(fmt.Sprintf("/tmp/fill-%d", r.N), chunk, 0o600); err != nil {
				break
			}
			r.N++
		}
		r.OK, r.Err = err == nil, errText(err)
		for i := 0; i <= r.N; i++ {
			os.Remove(fmt.Sprintf("/tmp/fill-%d", i))
		}
	case "background":
		// A child that outlives the invocation, recognisable on the host
		// by its token.
		self, _ := os.Executable()
		cmd := exec.Command(self, "child", ev.Token)
		err := cmd.Start()
		r.OK, r.Err = err == nil, errText(err)
		if err == nil {
			r.Pid = cmd.Process.Pid
			go cmd.Wait()
		}
	case "steal-start":
		var err error
		if r.Listening, err = listeningPorts(); err == nil {
			r.Attempts, err = stealStart(ev.Ports)
		}
		r.OK, r.Err = err == nil, errText(err)
	case "steal-stop":
		var err error
		r.Stolen, r.Forged, err = stealStop()
		r.OK, r.Err = err == nil, errText(err)
	case "flood":
		var err error
		r.N, r.Open, err = flood(ev.N, ev.Max)
		r.OK, r.Err = err == nil, errText(err)
	case "flood-release":
		r.N, r.OK = floodRelease(), true
	case "exit":
		os.Exit(ev.N)
	default:
		return r, fmt.Errorf("unknown op %q", ev.Op)
	}
	return r, nil
}

// forkBomb forks up to n children that block forever, reports how many
// forks worked and the error that stopped it, then kills and reaps them.
func forkBomb(n int) (int, string) {
	var pids []int
	var errno syscall.Errno
	for len(pids) < n {
		pid, e := rawFork()
		if e != 0 {
			errno = e
			break
		}
		if pid == 0 {
			for {
				// ppoll(NULL, 0, NULL, NULL) sleeps until a signal.
				syscall.RawSyscall6(syscall.SYS_PPOLL, 0, 0, 0, 0, 0, 0)
			}
		}
		pids = append(pids, pid)
	}
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGKILL)
	}
	for _, p := range pids {
		var ws syscall.WaitStatus
		syscall.Wait4(p, &ws, 0, nil)
	}
	if errno != 0 {
		return len(pids), errno.Error()
	}
	return len(pids), ""
}

// rawFork is fork(2): the child only ever makes raw system calls.
func rawFork() (int, syscall.Errno) {
	r1, _, e := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	return int(r1), e
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "child" {
		time.Sleep(time.Hour)
		return
	}
	lambda.Start(handle)
}
