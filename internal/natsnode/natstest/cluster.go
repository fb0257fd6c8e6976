package natstest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// clusterName names the JetStream cluster StartCluster forms.
const clusterName = "lambada-test"

// Cluster is a JetStream cluster of nats-server instances running in the
// test process, each on its own loopback client and route ports with its
// own store folder. Servers can be killed and restarted on the same ports
// and files, as a crashed and restarted machine would be.
type Cluster struct {
	t       testing.TB
	clients []int // client port of server i
	routes  []int // route port of server i
	dirs    []string

	mu   sync.Mutex
	srvs []*server.Server // nil while killed
}

// StartCluster starts n (>= 2) clustered servers and waits until
// JetStream has a meta leader that every server follows. The servers are
// shut down when t ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 2 {
		t.Fatalf("natstest: a cluster needs at least 2 servers, not %d", n)
	}
	c := &Cluster{t: t, srvs: make([]*server.Server, n)}
	for range n {
		c.clients = append(c.clients, FreePort(t))
		c.routes = append(c.routes, FreePort(t))
		c.dirs = append(c.dirs, t.TempDir())
	}
	// Registered after the TempDirs' cleanups, so it runs first.
	t.Cleanup(func() {
		for i := range c.srvs {
			c.Kill(i)
		}
	})
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = c.start(i) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c.WaitReady()
	return c
}

// FreePort finds a free loopback port below the kernel's ephemeral range
// (32768 and up on Linux). A cluster's listeners need ports known before
// the servers start (their routes name them), and a restarted server must
// come back on the same ones. Between this check and the server's bind, a
// port from the ephemeral range can be taken by any outgoing connection of
// a busy test machine (a cluster once failed to start so); below it, only
// by another explicit bind.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		ln.Close()
		return port
	}
	t.Fatal("natstest: no free port below the ephemeral range")
	return 0
}

func (c *Cluster) options(i int) *server.Options {
	var routes []string
	for j, p := range c.routes {
		if j != i {
			routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
		}
	}
	return &server.Options{
		ServerName: fmt.Sprintf("n%d", i+1),
		Host:       "127.0.0.1",
		Port:       c.clients[i],
		NoSigs:     true,
		NoLog:      true,
		JetStream:  true,
		StoreDir:   c.dirs[i],
		Cluster: server.ClusterOpts{
			Name: clusterName, Host: "127.0.0.1", Port: c.routes[i],
		},
		Routes: server.RoutesFromStr(strings.Join(routes, ",")),
	}
}

func (c *Cluster) start(i int) error {
	srv, err := server.NewServer(c.options(i))
	if err != nil {
		return fmt.Errorf("natstest: configure cluster server %d: %w", i, err)
	}
	srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return fmt.Errorf("natstest: cluster server %d not ready after %s", i, readyTimeout)
	}
	c.mu.Lock()
	c.srvs[i] = srv
	c.mu.Unlock()
	return nil
}

// Size is the number of servers, running or not.
func (c *Cluster) Size() int { return len(c.clients) }

// URLs is every server's client URL, comma-separated: the seed list a
// client is given.
func (c *Cluster) URLs() string {
	urls := make([]string, len(c.clients))
	for i := range c.clients {
		urls[i] = c.URL(i)
	}
	return strings.Join(urls, ",")
}

// URL is server i's client URL (also while it is down).
func (c *Cluster) URL(i int) string { return fmt.Sprintf("nats://127.0.0.1:%d", c.clients[i]) }

// Server returns server i, or nil while it is killed.
func (c *Cluster) Server(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.srvs[i]
}

// Kill shuts server i down (its files stay) and waits until it stopped.
// Killing a stopped server does nothing.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	srv := c.srvs[i]
	c.srvs[i] = nil
	c.mu.Unlock()
	if srv == nil {
		return
	}
	srv.Shutdown()
	srv.WaitForShutdown()
}

// Restart starts server i again on its ports and files and waits until
// the cluster has a meta leader every running server follows. A test that
// stops another server next waits for WaitStreamsCurrent first.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	if c.Server(i) != nil {
		c.t.Fatalf("natstest: server %d is running", i)
	}
	if err := c.start(i); err != nil {
		c.t.Fatal(err)
	}
	c.WaitReady()
}

// RestartAll starts every killed server again on its ports and files, all
// at once (one alone would wait for a quorum that is not there), and waits
// until the cluster has a meta leader every running server follows.
func (c *Cluster) RestartAll() {
	c.t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, c.Size())
	for i := range c.Size() {
		if c.Server(i) == nil {
			wg.Go(func() { errs[i] = c.start(i) })
		}
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			c.t.Fatal(err)
		}
	}
	c.WaitReady()
}

// WaitReady waits until one running server is JetStream's meta leader and
// every running server is current with it and, in the leader's view used
// for placing streams (JetStreamClusterPeers: online, with JetStream, its
// statistics received), online: a three-copy create right after start
// failed with "no suitable peers for placement, peer offline" while the
// raft view already counted every server.
func (c *Cluster) WaitReady() {
	c.t.Helper()
	c.waitFor("a JetStream meta leader that sees every running server online", func(running []*server.Server) bool {
		var leader *server.Server
		for _, s := range running {
			if !s.JetStreamIsCurrent() {
				return false
			}
			if s.JetStreamIsLeader() {
				leader = s
			}
		}
		return leader != nil && seesOnline(leader, len(running)-1) && len(leader.JetStreamClusterPeers()) >= len(running)
	})
}

// StreamLeader returns the index of the running server leading stream
// (global account), waiting until one does.
func (c *Cluster) StreamLeader(stream string) int {
	c.t.Helper()
	leader := -1
	c.waitFor("a leader of stream "+stream, func([]*server.Server) bool {
		for i := range c.clients {
			if s := c.Server(i); s != nil && s.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream) {
				leader = i
				return true
			}
		}
		return false
	})
	return leader
}

// ConsumerLeader returns the index of the running server leading the
// durable consumer of stream (global account), waiting until one does.
func (c *Cluster) ConsumerLeader(stream, consumer string) int {
	c.t.Helper()
	leader := -1
	c.waitFor("a leader of consumer "+consumer, func([]*server.Server) bool {
		for i := range c.clients {
			if s := c.Server(i); s != nil && s.JetStreamIsConsumerLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream, consumer) {
				leader = i
				return true
			}
		}
		return false
	})
	return leader
}

// MetaLeader returns the index of the running JetStream meta leader.
func (c *Cluster) MetaLeader() int {
	c.t.Helper()
	leader := -1
	c.waitFor("a JetStream meta leader", func([]*server.Server) bool {
		for i := range c.clients {
			if s := c.Server(i); s != nil && s.JetStreamIsLeader() {
				leader = i
				return true
			}
		}
		return false
	})
	return leader
}

func (c *Cluster) waitFor(what string, ok func(running []*server.Server) bool, why ...*string) {
	c.t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		c.mu.Lock()
		var running []*server.Server
		for _, s := range c.srvs {
			if s != nil {
				running = append(running, s)
			}
		}
		c.mu.Unlock()
		if len(running) > 0 && ok(running) {
			return
		}
		if time.Now().After(deadline) {
			if len(why) > 0 {
				what = strings.Replace(what, "why", *why[0], 1)
			}
			c.t.Fatalf("natstest: no %s after %s", what, readyTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// seesOnline reports whether the meta leader srv counts at least peers
// other servers online. Stream placement uses the leader's view: a server
// it still counts offline (just started, its heartbeat not yet seen) makes
// a three-copy create fail with "no suitable peers for placement".
func seesOnline(srv *server.Server, peers int) bool {
	jsz, err := srv.Jsz(nil)
	if err != nil || jsz == nil || jsz.Meta == nil {
		return false
	}
	online := 0
	for _, p := range jsz.Meta.Replicas {
		if p != nil && !p.Offline && p.Current {
			online++
		}
	}
	return online >= peers
}

// KillForgotten kills the meta leader, then kills and restarts each other
// server in turn, so that no running server has heard from the dead one
// since it started: JetStream then cannot place a copy on it ("no suitable
// peers for placement, peer offline" when every server must hold one), as
// after a restart of the cluster with one machine that stays down. (A
// server only seen going down is still placeable: its copy catches up when
// it returns.) It returns the dead server's index; Restart brings it back.
func (c *Cluster) KillForgotten() int {
	c.t.Helper()
	dead := c.MetaLeader()
	c.Kill(dead)
	for j := range c.Size() {
		if j != dead {
			c.Kill(j)
			c.Restart(j)
		}
	}
	return dead
}

// Index returns the index of the server named name ("n1" is 0), or -1.
func (c *Cluster) Index(name string) int {
	for i := range c.clients {
		if name == fmt.Sprintf("n%d", i+1) {
			return i
		}
	}
	return -1
}

// WaitStreamsCurrent waits until every stream and consumer of the global
// account that a running server holds has a leader, and every running
// server holding a stream is current with its leader (raft caught up, no
// snapshot being applied). A server just restarted catches up with what
// was written while it was down; until it has, raft will not let it
// become a leader, so killing another server in the meantime leaves the
// group to wait for the last one up to date (its election timeout, or
// longer): tests that kill one server after another wait for this in
// between.
func (c *Cluster) WaitStreamsCurrent() {
	c.t.Helper()
	var why string
	c.waitFor("every stream and consumer led, and every copy on a running server current (not yet: why)", func(running []*server.Server) bool {
		type group struct{ stream, consumer string }
		led := make(map[group]bool)
		for _, s := range running {
			jsz, err := s.Jsz(&server.JSzOptions{Accounts: true, Streams: true, Consumer: true})
			if err != nil || jsz == nil {
				why = fmt.Sprintf("%s: %v", s.Name(), err)
				return false
			}
			for _, acc := range jsz.AccountDetails {
				if acc == nil || acc.Name != server.DEFAULT_GLOBAL_ACCOUNT {
					continue
				}
				for _, sd := range acc.Streams {
					if !s.JetStreamIsStreamCurrent(acc.Name, sd.Name) {
						why = fmt.Sprintf("stream %s not current on %s", sd.Name, s.Name())
						return false
					}
					g := group{stream: sd.Name}
					led[g] = led[g] || s.JetStreamIsStreamLeader(acc.Name, sd.Name)
					for _, ci := range sd.Consumer {
						if ci == nil {
							continue
						}
						g := group{sd.Name, ci.Name}
						led[g] = led[g] || s.JetStreamIsConsumerLeader(acc.Name, sd.Name, ci.Name)
					}
				}
			}
		}
		for g, ok := range led {
			if !ok {
				why = fmt.Sprintf("no leader of %+v", g)
				return false
			}
		}
		return true
	}, &why)
}
