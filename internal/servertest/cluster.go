package servertest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/server"
)

// ClusterCredentials is the key pair every node of a StartCluster cluster
// shares (--nats-cluster requires it set explicitly).
var ClusterCredentials = server.Credentials{AccessKeyID: "AKIDNATSCLUSTER", SecretAccessKey: "nats-cluster-secret"}

// Cluster is lambada servers in --nats-cluster mode: each one's embedded
// NATS server is a node of one NATS cluster on loopback ports, so the
// servers share all state with no other NATS. A node can be stopped and
// started again on its ports and data folder.
type Cluster struct {
	t    testing.TB
	opts []Options

	mu    sync.Mutex
	nodes []*Server // nil while stopped
}

// StartCluster starts n lambada servers at once (each waits for the
// cluster to elect its JetStream leader) and waits until every one
// answers /health. config, when set, adjusts every node's configuration.
func StartCluster(t testing.TB, n int, config func(*server.Config)) *Cluster {
	t.Helper()
	routes := make([]string, n)
	listens := make([]string, n)
	for i := range n {
		port := FreePort(t)
		listens[i] = fmt.Sprintf("127.0.0.1:%d", port)
		routes[i] = "nats://" + listens[i]
	}
	c := &Cluster{t: t, nodes: make([]*Server, n)}
	for i := range n {
		c.opts = append(c.opts, Options{DataDir: t.TempDir(), Config: func(cfg *server.Config) {
			cfg.AccessKeyID, cfg.SecretAccessKey = ClusterCredentials.AccessKeyID, ClusterCredentials.SecretAccessKey
			cfg.NATSCluster = routes // every node gets the same list, its own included
			cfg.NATSClusterListen = listens[i]
			cfg.NATSListen = "127.0.0.1:0"
			if config != nil {
				config(cfg)
			}
		}})
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s, err := start(t, c.opts[i])
			errs[i] = err
			c.mu.Lock()
			c.nodes[i] = s
			c.mu.Unlock()
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("servertest: cluster node %d: %v", i, err)
		}
	}
	for _, s := range c.nodes {
		waitHealthy(t, s.URL())
	}
	return c
}

// Node returns node i, or nil while it is stopped.
func (c *Cluster) Node(i int) *Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// Stop stops node i (lambada and its NATS server; the files stay).
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	c.mu.Lock()
	s := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	if s != nil {
		s.Stop(c.t)
	}
}

// Restart starts node i again on its data folder and ports and waits for
// its /health.
func (c *Cluster) Restart(i int) *Server {
	c.t.Helper()
	if c.Node(i) != nil {
		c.t.Fatalf("servertest: cluster node %d is running", i)
	}
	s := Start(c.t, c.opts[i])
	c.mu.Lock()
	c.nodes[i] = s
	c.mu.Unlock()
	return s
}

// FreePort finds a free loopback port below the kernel's ephemeral range
// (natstest.FreePort says why).
func FreePort(t testing.TB) int { return natstest.FreePort(t) }
