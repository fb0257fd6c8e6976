package runtimeapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambada-dev/lambada/internal/syncbuf"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// fakeEnv is a hand-written Bridge standing in for the environment package,
// which does not exist yet: one invocation at a time, ids checked, the state
// rules of docs/behaviour/runtime-api.md §2, and every result the runtime delivers recorded
// as a delivery on a channel.
type fakeEnv struct {
	queue      chan *Invocation
	deliveries chan delivery

	mu       sync.Mutex
	initDone bool
	current  string
	state    envState
	onChunk  func([]byte) // called for each read of a /response body
	nextErr  error        // Next returns it when set
	parked   int          // Next calls waiting now
}

type envState int

const (
	stateIdle       envState = iota // no invocation, or its result is in
	stateBusy                       // dispatched, no result yet
	stateResponding                 // a /response body is being read
)

// delivery is one thing the runtime handed to the environment.
type delivery struct {
	kind        string // "response", "error", "init"
	id          string
	contentType string
	streaming   bool
	chunks      [][]byte
	body        []byte
	readErr     error
	trailer     *FunctionError // mid-stream error (response)
	ferr        *FunctionError // the posted error (error, init)
}

func newFakeEnv() *fakeEnv {
	return &fakeEnv{queue: make(chan *Invocation, 4), deliveries: make(chan delivery, 16)}
}

var _ Bridge = (*fakeEnv)(nil)

func (f *fakeEnv) Next(ctx context.Context) (*Invocation, error) {
	f.mu.Lock()
	f.initDone = true
	if f.nextErr != nil {
		f.mu.Unlock()
		return nil, f.nextErr
	}
	if f.state != stateIdle {
		f.mu.Unlock()
		return nil, ErrInvalidStateTransition
	}
	f.parked++
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.parked--
		f.mu.Unlock()
	}()
	select {
	case inv := <-f.queue:
		f.mu.Lock()
		f.current, f.state = inv.RequestID, stateBusy
		f.mu.Unlock()
		return inv, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *fakeEnv) Respond(ctx context.Context, id string, resp *Response) error {
	f.mu.Lock()
	if id != f.current {
		f.mu.Unlock()
		return ErrInvalidRequestID
	}
	if f.state != stateBusy {
		f.mu.Unlock()
		return ErrInvalidStateTransition
	}
	f.state = stateResponding
	onChunk := f.onChunk
	f.mu.Unlock()

	d := delivery{kind: "response", id: id, contentType: resp.ContentType, streaming: resp.Streaming}
	buf := make([]byte, 64<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			c := bytes.Clone(buf[:n])
			d.chunks = append(d.chunks, c)
			d.body = append(d.body, c...)
			if onChunk != nil {
				onChunk(c)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			d.readErr = err
			break
		}
	}
	d.trailer = resp.TrailerError()
	f.mu.Lock()
	f.state = stateIdle
	f.mu.Unlock()
	f.deliveries <- d
	return d.readErr
}

func (f *fakeEnv) Fail(ctx context.Context, id string, ferr *FunctionError) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != f.current {
		return ErrInvalidRequestID
	}
	if f.state != stateBusy {
		return ErrInvalidStateTransition
	}
	f.state = stateIdle
	f.deliveries <- delivery{kind: "error", id: id, ferr: ferr}
	return nil
}

func (f *fakeEnv) InitError(ctx context.Context, ferr *FunctionError) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.initDone {
		return ErrInvalidStateTransition
	}
	f.deliveries <- delivery{kind: "init", ferr: ferr}
	return nil
}

// timeOut forgets the current invocation, as the environment does at the
// deadline: later answers for it are late.
func (f *fakeEnv) timeOut() {
	f.mu.Lock()
	f.current, f.state = "", stateIdle
	f.mu.Unlock()
}

func (f *fakeEnv) setOnChunk(fn func([]byte)) {
	f.mu.Lock()
	f.onChunk = fn
	f.mu.Unlock()
}

func (f *fakeEnv) parkedNext() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.parked
}

func (f *fakeEnv) dispatch(inv *Invocation) { f.queue <- inv }

func (f *fakeEnv) wait(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-f.deliveries:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery from the runtime within 10s")
		return delivery{}
	}
}

func (f *fakeEnv) expectNone(t *testing.T) {
	t.Helper()
	select {
	case d := <-f.deliveries:
		t.Fatalf("unexpected delivery %+v", d)
	default:
	}
}

// startServer runs a Server through Serve on 127.0.0.1:0 and stops it (and
// checks it stopped) when the test ends. It returns host:port.
func startServer(t *testing.T, b Bridge) string {
	t.Helper()
	return startServerWith(t, b, Limits{})
}

// startServerWith is startServer with connection limits.
func startServerWith(t *testing.T, b Bridge, lim Limits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := NewServer(b, logger)
	srv.Limits = lim
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return within 5s of its context ending")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return ln.Addr().String()
}

// The aws-lambda-go test function is built once per test binary.
var (
	buildOnce sync.Once
	buildDir  string
	fnPath    string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	if code == 0 {
		if leaked := leakedGoroutines(); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines left running after the tests:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines waits up to 3s for every server-side goroutine (this
// package's or a net/http server connection's) to end, and returns the stacks
// of those that did not.
func leakedGoroutines() string {
	err := waitfor.Until(3*time.Second, func() error {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var left []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "runtimeapi.TestMain") {
				continue
			}
			if strings.Contains(g, "lambada/internal/runtimeapi.") || strings.Contains(g, "net/http.(*conn).serve") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return nil
		}
		return errors.New(strings.Join(left, "\n\n"))
	})
	if err != nil {
		return err.Error()
	}
	return ""
}

func lambdaFunction(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			buildErr = err
			return
		}
		if buildDir, buildErr = os.MkdirTemp("", "runtimeapi-lambdafn-"); buildErr != nil {
			return
		}
		fnPath = filepath.Join(buildDir, "bootstrap")
		cmd := exec.Command(goBin, "build", "-o", fnPath, "./testdata/lambdafn")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New(err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building the aws-lambda-go test function: %v", buildErr)
	}
	return fnPath
}

// process is a running runtime.
type process struct {
	output *syncbuf.Buffer
	exited chan struct{}
	err    error // valid once exited is closed
}

// startFunction runs the test function as a runtime of the endpoint at addr,
// with nothing in its environment but AWS_LAMBDA_RUNTIME_API. It is killed
// when the test ends (before the server stops: cleanups run last-in first).
func startFunction(t *testing.T, addr string) *process {
	t.Helper()
	cmd := exec.Command(lambdaFunction(t))
	cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + addr}
	p := &process{output: &syncbuf.Buffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.output, p.output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("function output:\n%s", p.output.String())
		}
	})
	return p
}

func (p *process) waitExit(t *testing.T) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(10 * time.Second):
		t.Fatal("runtime did not exit within 10s")
		return nil
	}
}
