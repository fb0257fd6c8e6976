package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGuard: a guarded listener hands out the box's own connections and
// resets everyone else's, the server's included.
func TestGuard(t *testing.T) {
	h := probe(t)
	if !h.Active(RuntimeAPIPeer) {
		t.Skipf("no Runtime API peer check: %s", h.Report())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	var out bytes.Buffer
	b, err := h.Prepare(Spec{
		Path: "/bin/bash", Args: []string{"bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/` + port + `; echo ping >&3; read -r l <&3; echo "got $l"`},
		Env: []string{"PATH=/usr/bin:/bin"}, Dir: TaskRoot, CodeDir: t.TempDir(), MemoryMB: 64, TmpMB: 1,
		Stdout: &out, Stderr: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var refused []string
	g := b.Guard(ln, func(remote net.Addr, uid int, err error) {
		mu.Lock()
		refused = append(refused, remote.String()+" uid "+strconv.Itoa(uid))
		mu.Unlock()
	})
	// Not the box: the server itself.
	mine, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Cmd.Wait(); b.Finish() }()
	c, err := g.Accept()
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 5)
	if _, err := c.Read(buf); err != nil || string(buf) != "ping\n" {
		t.Fatalf("read %q, %v", buf, err)
	}
	c.Write([]byte("pong\n"))
	c.Close()
	_ = mine.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := mine.Read(buf); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the server's own connection was not reset: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(refused) != 1 || !strings.HasSuffix(refused[0], " uid "+strconv.Itoa(os.Geteuid())) {
		t.Errorf("refused %v", refused)
	}
}

// BenchmarkConnOwner: the cost of the peer check, paid once per accepted
// Runtime API connection.
func BenchmarkConnOwner(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	for range b.N {
		if _, err := connOwner(s); err != nil {
			b.Fatal(err)
		}
	}
}

// TestOutsiders: a listener no function may reach resets the box's
// connections, over IPv4 and IPv6, and lets the server's own in.
func TestOutsiders(t *testing.T) {
	h := probe(t)
	if !h.Active(RuntimeAPIPeer) {
		t.Skipf("no Runtime API peer check: %s", h.Report())
	}
	var mu sync.Mutex
	var refused []int
	var addrs []string
	var lns []net.Listener
	for _, a := range []string{"127.0.0.1:0", "[::1]:0"} {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			t.Logf("no %s: %v", a, err)
			continue
		}
		defer ln.Close()
		lns = append(lns, h.Outsiders(ln, func(_ net.Addr, uid int, _ error) {
			mu.Lock()
			refused = append(refused, uid)
			mu.Unlock()
		}))
		tcp := ln.Addr().(*net.TCPAddr)
		addrs = append(addrs, tcp.IP.String()+"/"+strconv.Itoa(tcp.Port))
	}
	// The box connects to each and keeps its sockets; then the server
	// connects too: only the server's connections are handed out.
	script := ""
	for _, a := range addrs {
		script += `exec {fd}<>/dev/tcp/` + a + `; `
	}
	script += `echo ready; read -r _`
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdinR.Close()
	defer stdinW.Close()
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdoutR.Close()
	b, err := h.Prepare(Spec{
		Path: "/bin/bash", Args: []string{"bash", "-c", script},
		Env: []string{"PATH=/usr/bin:/bin"}, Dir: TaskRoot, CodeDir: t.TempDir(), MemoryMB: 64, TmpMB: 1,
		Stdout: stdoutW, Stderr: stdoutW,
	})
	if err != nil {
		t.Fatal(err)
	}
	b.Cmd.Stdin = stdinR
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	stdoutW.Close()
	defer func() {
		stdinW.Close() // the box ends
		_ = b.Cmd.Wait()
		b.Finish()
	}()
	line, _ := bufio.NewReader(stdoutR).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("box: %q", line)
	}
	for i, ln := range lns {
		mine, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer mine.Close()
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		mu.Lock()
		n := len(refused)
		mu.Unlock()
		if n != i+1 || refused[i] != b.hostID {
			t.Errorf("%s: refused %v, want the box's uid %d", ln.Addr(), refused, b.hostID)
		}
	}
}
