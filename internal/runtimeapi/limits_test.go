package runtimeapi

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/lambada-dev/lambada/internal/waitfor"
)

// closedByServer reports whether the server closed c (reset or EOF)
// within 10 s, reading whatever it sent first.
func closedByServer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, c)
	return !errors.Is(err, os.ErrDeadlineExceeded)
}

// get sends GET /unknown on c and reads the 404.
func get(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	if _, err := io.WriteString(c, "GET /unknown HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d", resp.StatusCode)
	}
	_ = c.SetReadDeadline(time.Time{})
}

// TestConnectionLimit: past MaxConns open connections every new one is
// closed at once; a slot given back serves again.
func TestConnectionLimit(t *testing.T) {
	addr := startServerWith(t, newFakeEnv(), Limits{MaxConns: 3})
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		get(t, c, bufio.NewReader(c)) // accepted and served
	}
	for i := range 50 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			continue // reset before connect returned: closed as well
		}
		if !closedByServer(c) {
			t.Fatalf("connection %d past the limit stayed open", i)
		}
		c.Close()
	}
	// The held ones still work.
	get(t, held[0], bufio.NewReader(held[0]))
	held[1].Close()
	held = append(held[:1], held[2:]...)
	// Once the server saw the close, a new connection is served.
	waitfor.True(t, 10*time.Second, "a slot back after a connection closed", func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		br := bufio.NewReader(c)
		_, _ = io.WriteString(c, "GET /unknown HTTP/1.1\r\nHost: x\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			c.Close()
			return false
		}
		resp.Body.Close()
		held = append(held, c)
		return true
	})
}

// TestConnectionTimeouts: a connection that never sends a request and a
// kept-alive one without a next request are closed by the server.
func TestConnectionTimeouts(t *testing.T) {
	addr := startServerWith(t, newFakeEnv(), Limits{HeaderTimeout: 200 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	get(t, idle, bufio.NewReader(idle))
	if !closedByServer(silent) {
		t.Error("a connection without a request was not closed")
	}
	if !closedByServer(idle) {
		t.Error("an idle kept-alive connection was not closed")
	}
}
