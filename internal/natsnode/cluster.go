package natsnode

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/lambada-dev/lambada/internal/logkey"
)

// Defaults of --nats-cluster mode (docs/behaviour/cluster.md §6).
const (
	// DefaultClusterName names the NATS cluster; every node of one
	// cluster must use the same.
	DefaultClusterName = "lambada"
	// DefaultClusterListen is where the routes from the other nodes
	// arrive (NATS's cluster port, every interface: the other machines
	// must reach it; only the cluster's key pair is let in).
	DefaultClusterListen = "0.0.0.0:6222"
	// DefaultClientListen is the embedded server's client port (NATS's,
	// loopback): nats-server routes only once it listens for clients, and
	// `nats` or another `lambada server --nats` may use it with the key
	// pair.
	DefaultClientListen = "127.0.0.1:4222"
	// DefaultClusterFormTimeout bounds how long Start waits for the
	// cluster to elect a JetStream meta leader (the other nodes may still
	// be starting); ClusterWaitLog is how often the wait is logged.
	DefaultClusterFormTimeout = 2 * time.Minute
	ClusterWaitLog            = 5 * time.Second
	// ClusterPeersWait is how long Start waits, once the meta leader is
	// elected, for enough listed servers to be online to place every
	// stream's copies (up to MaxAutoReplicas): a cluster forming from
	// nothing has them within a second or two; a node starting while
	// another is down goes on without it after this.
	ClusterPeersWait = 10 * time.Second

	// ServerNameFile holds, under Config.DataDir, the name this node's
	// server chose at its first start: JetStream knows its peers by name,
	// so a restarted node must come back under the same one to rejoin
	// with its files.
	ServerNameFile = "nats-server-name"
)

// Cluster makes the embedded server one node of a NATS cluster.
type Cluster struct {
	// Name of the cluster ("" = DefaultClusterName).
	Name string
	// ServerName is this server's name, unique in the cluster and the
	// same at every start; "" = the one stored in DataDir/ServerNameFile,
	// chosen (host name and a random suffix) at the first start.
	ServerName string
	// Routes are the cluster listeners of the cluster's servers
	// (nats://host:port); this node's own may be among them, so every
	// node can be given the same list.
	Routes []string
	// Listen is this server's cluster listener, ClientListen its client
	// listener, both host:port ("" = the Default*; port 0 = any free one).
	Listen, ClientListen string
	// User and Password are required from every client and every route:
	// the nodes' shared key pair.
	User, Password string
}

// Clustered reports whether the node is one server of a NATS cluster
// (--nats-cluster).
func (n *Node) Clustered() bool { return n.cfg.Cluster != nil }

// Shared reports whether other lambada nodes may use the same storage:
// with an external NATS or as a node of a NATS cluster.
func (n *Node) Shared() bool { return !n.Embedded() || n.Clustered() }

// ServerName is the embedded server's name ("" with an external NATS).
func (n *Node) ServerName() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv == nil {
		return ""
	}
	return n.srv.Name()
}

// ClientURL is the embedded server's client URL, without credentials
// ("" unless clustered and started).
func (n *Node) ClientURL() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv == nil || n.cfg.Cluster == nil {
		return ""
	}
	return n.srv.ClientURL()
}

// ClusterAddr is the address the cluster listener is bound to ("" unless
// clustered and started), for tests and logs with port 0.
func (n *Node) ClusterAddr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv == nil || n.cfg.Cluster == nil {
		return ""
	}
	if a := n.srv.ClusterAddr(); a != nil {
		return a.String()
	}
	return ""
}

// clusterOptions adds c to the server options: listeners, routes with the
// key pair, and the authorization every client and route must pass.
func (n *Node) clusterOptions(opts *server.Options, c *Cluster) error {
	if c.User == "" || c.Password == "" {
		return errors.New("natsnode: a cluster node needs the key pair its clients and routes authenticate with")
	}
	if len(c.Routes) == 0 {
		return errors.New("natsnode: a cluster node needs the route URLs of the cluster's servers")
	}
	name := c.ServerName
	if name == "" {
		var err error
		if name, err = storedServerName(n.cfg.DataDir); err != nil {
			return err
		}
	}
	clientHost, clientPort, err := splitListen(c.ClientListen, DefaultClientListen, "the NATS client listener")
	if err != nil {
		return err
	}
	clusterHost, clusterPort, err := splitListen(c.Listen, DefaultClusterListen, "the NATS cluster listener")
	if err != nil {
		return err
	}
	routes, err := routeURLs(c.Routes, c.User, c.Password)
	if err != nil {
		return err
	}
	clusterName := c.Name
	if clusterName == "" {
		clusterName = DefaultClusterName
	}
	opts.ServerName = name
	opts.DontListen = false
	opts.Host, opts.Port = clientHost, clientPort
	opts.Username, opts.Password = c.User, c.Password
	opts.Cluster = server.ClusterOpts{
		Name: clusterName, Host: clusterHost, Port: clusterPort,
		Username: c.User, Password: c.Password,
	}
	opts.Routes = routes
	opts.LameDuckDuration, opts.LameDuckGracePeriod = LameDuckDuration, LameDuckGrace
	return nil
}

// splitListen parses host:port; port 0 asks for any free port.
func splitListen(addr, def, what string) (string, int, error) {
	if addr == "" {
		addr = def
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("natsnode: %s %q: %w", what, addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("natsnode: %s %q: bad port", what, addr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

// routeURLs parses the route list and gives each URL the key pair unless
// it carries credentials of its own.
func routeURLs(routes []string, user, password string) ([]*url.URL, error) {
	var out []*url.URL
	for _, r := range routes {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if !strings.Contains(r, "://") {
			r = "nats://" + r
		}
		u, err := url.Parse(r)
		if err != nil || u.Host == "" || u.Port() == "" {
			return nil, fmt.Errorf("natsnode: route %q: want nats://host:port", redact(r))
		}
		if u.User == nil {
			u.User = url.UserPassword(user, password)
		}
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil, errors.New("natsnode: a cluster node needs the route URLs of the cluster's servers")
	}
	return out, nil
}

// storedServerName reads the name chosen at the first start, or chooses
// and stores one: the host name and a random suffix, so that two nodes on
// one machine differ.
func storedServerName(dataDir string) (string, error) {
	path := filepath.Join(dataDir, ServerNameFile)
	if b, err := os.ReadFile(path); err == nil {
		if name := strings.TrimSpace(string(b)); name != "" {
			return name, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("natsnode: reading the server name: %w", err)
	}
	host, _ := os.Hostname()
	if host == "" {
		host = serverName
	}
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	name := fmt.Sprintf("%s-%x", strings.ReplaceAll(host, " ", "-"), suffix)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(name+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("natsnode: storing the server name: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("natsnode: storing the server name: %w", err)
	}
	return name, nil
}

// waitForCluster waits until the cluster has a JetStream meta leader that
// this server follows, logging every ClusterWaitLog; bounded by
// DefaultClusterFormTimeout and ctx.
func (n *Node) waitForCluster(ctx context.Context, srv *server.Server) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, DefaultClusterFormTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	nextLog := start
	want := min(len(n.cfg.Cluster.Routes), MaxAutoReplicas)
	var elected time.Time // when a meta leader was first seen
	for {
		m := meta(srv)
		if m.leader != "" && srv.JetStreamIsCurrent() {
			if elected.IsZero() {
				elected = time.Now()
			}
			if m.online >= want || time.Since(elected) >= ClusterPeersWait {
				n.log.Info("nats cluster formed", slog.String(logkey.Cluster, srv.ClusterName()),
					slog.String(logkey.ServerName, srv.Name()), slog.String(logkey.Node, m.leader),
					slog.Int(logkey.Count, m.online), slog.Duration(logkey.Waited, time.Since(start).Round(time.Millisecond)))
				return nil
			}
		}
		if now := time.Now(); !now.Before(nextLog) {
			n.log.Info("waiting for the nats cluster to elect a JetStream meta leader",
				slog.String(logkey.Cluster, srv.ClusterName()), slog.String(logkey.ServerName, srv.Name()),
				slog.Int(logkey.Connected, srv.NumRoutes()), slog.String(logkey.Routes, redact(strings.Join(n.cfg.Cluster.Routes, ","))),
				slog.Duration(logkey.Waited, now.Sub(start).Round(time.Second)))
			nextLog = now.Add(ClusterWaitLog)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("natsnode: the nats cluster %q elected no JetStream meta leader within %s (%d route(s) connected; are the other nodes started and their --nats-cluster routes reachable?)",
				srv.ClusterName(), time.Since(start).Round(time.Second), srv.NumRoutes())
		case <-tick.C:
		}
	}
}

// metaInfo is what srv knows of the JetStream meta group: its leader
// ("" = none yet), its size, and how many of its servers are online.
type metaInfo struct {
	leader       string
	size, online int
}

func meta(srv *server.Server) metaInfo {
	jsz, err := srv.Jsz(nil)
	if err != nil || jsz == nil || jsz.Meta == nil {
		return metaInfo{}
	}
	m := metaInfo{leader: jsz.Meta.Leader, size: jsz.Meta.Size}
	if m.leader != "" {
		m.online = 1
	}
	for _, p := range jsz.Meta.Replicas {
		if p != nil && !p.Offline {
			m.online++
		}
	}
	return m
}

// clusterSize is the number of JetStream servers in the cluster: the meta
// group's size, or the servers listed in the routes when more (a group
// still forming may know fewer than there are; NATS expects the list to
// name every server).
func (n *Node) clusterSize() int {
	n.mu.Lock()
	srv := n.srv
	n.mu.Unlock()
	size := len(n.cfg.Cluster.Routes)
	if srv != nil {
		size = max(size, meta(srv).size)
	}
	return max(size, 1)
}
