// Package natsnode is the one place that decides where lambada's NATS
// JetStream lives. With no URL it runs nats-server inside the process with
// no network listener and talks to it over an in-process connection; with a
// URL it dials an external server or cluster. Either way the rest of lambada
// only ever sees a *nats.Conn with JetStream behind it.
package natsnode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lambada-dev/lambada/internal/logkey"
)

const (
	// DefaultReadyTimeout bounds how long Start waits for the embedded
	// server to accept connections (it may be recovering streams from disk).
	DefaultReadyTimeout = 30 * time.Second
	// DefaultJetStreamTimeout bounds the check that JetStream answers.
	DefaultJetStreamTimeout = 5 * time.Second
	// DefaultDrainTimeout bounds how long Close lets pending messages flush.
	DefaultDrainTimeout = 10 * time.Second
	// DefaultReconnectBuffer is how many bytes of publishes an external
	// connection buffers while it reconnects.
	DefaultReconnectBuffer = 8 << 20

	// StoreSubdir is the folder under Config.DataDir owned by the embedded
	// server; nats-server itself adds "jetstream" below it. It is not
	// DataDir itself because nats-server moves folders it mistakes for
	// accounts out of the parent of its "jetstream" folder.
	StoreSubdir = "nats"

	// ProbeInterval is how often a started node asks JetStream whether it
	// answers (Available); ProbeTimeout bounds one ask.
	ProbeInterval = time.Second
	ProbeTimeout  = 2 * time.Second
	// MaxReconnectDelay caps the backoff between reconnect attempts to
	// an external NATS; the node retries forever.
	MaxReconnectDelay = 2 * time.Second

	serverName = "lambada"
	clientName = "lambada"
)

// Config says which NATS to use.
type Config struct {
	// URL of an external NATS server or cluster (comma-separated seeds);
	// empty runs an embedded server.
	URL string
	// DataDir holds the embedded server's JetStream files (under
	// DataDir/StoreSubdir). Required in embedded mode, unused otherwise.
	DataDir string
	// Logger receives connection events and, in embedded mode, the
	// server's own log. Nil discards.
	Logger *slog.Logger
	// Cluster, in embedded mode, makes the embedded server one node of a
	// NATS cluster (--nats-cluster); nil = a server alone without any
	// listener.
	Cluster *Cluster
}

// Node is a started NATS connection, and in embedded mode the server behind
// it. Start after Close starts afresh.
type Node struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	srv    *server.Server // nil in external mode
	nc     *nats.Conn
	closed chan struct{} // closed by nc's ClosedHandler
	stop   context.CancelFunc
	probes sync.WaitGroup // the prober goroutine

	available atomic.Bool
}

// Available reports whether JetStream answered the last probe (at most
// ProbeInterval ago) and the connection is up: false while the NATS
// servers are unreachable or the cluster has no quorum.
func (n *Node) Available() bool {
	nc := n.Conn()
	return n.available.Load() && nc != nil && nc.IsConnected()
}

// probe asks JetStream every ProbeInterval whether it answers and logs
// each change, until ctx ends.
func (n *Node) probe(ctx context.Context, nc *nats.Conn) {
	defer n.probes.Done()
	t := time.NewTicker(ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := checkJetStream(ctx, nc, "")
		if ctx.Err() != nil {
			return
		}
		if was := n.available.Swap(err == nil); was != (err == nil) {
			if err != nil {
				n.log.Warn("storage unavailable", slog.Any(logkey.Err, err))
			} else {
				n.log.Info("storage available again")
			}
		}
	}
}

// New returns a Node for cfg; nothing starts until Start.
func New(cfg Config) *Node {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Node{cfg: cfg, log: log}
}

// Embedded reports whether the node runs its own server.
func (n *Node) Embedded() bool { return n.cfg.URL == "" }

// Conn returns the connection, or nil before Start and after Close.
func (n *Node) Conn() *nats.Conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.nc
}

// Start starts the embedded server or dials the external one, then checks
// that JetStream answers.
func (n *Node) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.nc != nil {
		return errors.New("natsnode: already started")
	}

	closed := make(chan struct{})
	opts := []nats.Option{
		nats.Name(clientName),
		nats.DrainTimeout(DefaultDrainTimeout),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err != nil {
				n.log.Warn("nats disconnected, reconnecting", slog.Any(logkey.Err, err))
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			n.log.Info("nats reconnected", slog.String(logkey.URL, redact(nc.ConnectedUrl())))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			attrs := []any{slog.Any(logkey.Err, err)}
			if sub != nil {
				attrs = append(attrs, slog.String(logkey.Subject, sub.Subject))
			}
			n.log.Warn("nats async error", attrs...)
		}),
	}

	var (
		srv   *server.Server
		nc    *nats.Conn
		err   error
		where string
	)
	if n.Embedded() {
		srv, err = n.startServer(ctx)
		if err != nil {
			return err
		}
		where = "the embedded server"
		if c := n.cfg.Cluster; c != nil {
			opts = append(opts, nats.UserInfo(c.User, c.Password))
		}
		nc, err = nats.Connect("", append(opts, nats.InProcessServer(srv))...)
	} else {
		where = redact(n.cfg.URL)
		nc, err = nats.Connect(n.cfg.URL, append(opts,
			nats.MaxReconnects(-1),
			nats.CustomReconnectDelay(reconnectDelay),
			nats.ReconnectBufSize(DefaultReconnectBuffer),
		)...)
	}
	if err != nil {
		shutdown(srv)
		return fmt.Errorf("natsnode: connect to %s: %w", where, err)
	}
	if err := checkJetStream(ctx, nc, where); err != nil {
		nc.Close()
		shutdown(srv)
		return err
	}

	n.srv, n.nc, n.closed = srv, nc, closed
	n.available.Store(true)
	pctx, stop := context.WithCancel(context.Background())
	n.stop = stop
	n.probes.Add(1)
	go n.probe(pctx, nc)
	if srv != nil && n.cfg.Cluster != nil {
		n.log.Info("nats ready", slog.Bool(logkey.Embedded, true), slog.String(logkey.Store, filepath.Join(n.cfg.DataDir, StoreSubdir)),
			slog.String(logkey.Cluster, srv.ClusterName()), slog.String(logkey.ServerName, srv.Name()),
			slog.String(logkey.ClientListen, srv.ClientURL()), slog.String(logkey.ClusterListen, srv.ClusterAddr().String()))
	} else if srv != nil {
		n.log.Info("nats ready", slog.Bool(logkey.Embedded, true), slog.String(logkey.Store, filepath.Join(n.cfg.DataDir, StoreSubdir)))
	} else {
		n.log.Info("nats ready", slog.Bool(logkey.Embedded, false), slog.String(logkey.URL, where))
	}
	return nil
}

// reconnectDelay backs off from 50 ms to MaxReconnectDelay, with up to a
// quarter of jitter so that nodes do not reconnect in step.
func reconnectDelay(attempts int) time.Duration {
	d := min(50*time.Millisecond<<min(attempts, 8), MaxReconnectDelay)
	return d + rand.N(d/4+1)
}

// startServer runs nats-server as a library: no listener, no signal
// handling, JetStream on files under DataDir.
func (n *Node) startServer(ctx context.Context) (*server.Server, error) {
	if n.cfg.DataDir == "" {
		return nil, errors.New("natsnode: embedded mode needs a data directory")
	}
	storeDir := filepath.Join(n.cfg.DataDir, StoreSubdir)
	if err := os.MkdirAll(storeDir, 0o700); err != nil {
		return nil, fmt.Errorf("natsnode: create store directory: %w", err)
	}
	opts := &server.Options{
		ServerName: serverName,
		DontListen: true,
		JetStream:  true,
		StoreDir:   storeDir,
		NoSigs:     true,
	}
	if n.cfg.Cluster != nil {
		if err := n.clusterOptions(opts, n.cfg.Cluster); err != nil {
			return nil, err
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsnode: configure embedded server: %w", err)
	}
	srv.SetLoggerV2(serverLog{n.log.With(slog.String(logkey.Component, "nats-server"))}, false, false, false)
	srv.Start()

	wait := DefaultReadyTimeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
		wait = time.Until(d)
	}
	if !srv.ReadyForConnections(wait) {
		shutdown(srv)
		return nil, fmt.Errorf("natsnode: embedded server not ready after %s (store %s)", wait, storeDir)
	}
	if n.cfg.Cluster != nil {
		if err := n.waitForCluster(ctx, srv); err != nil {
			shutdown(srv)
			return nil, err
		}
	}
	return srv, nil
}

// checkJetStream fails with a clear error when nc reaches no JetStream, so a
// misconfigured --nats is reported at start rather than on the first write.
func checkJetStream(ctx context.Context, nc *nats.Conn, where string) error {
	timeout := DefaultJetStreamTimeout
	if where == "" { // a probe
		timeout = ProbeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("natsnode: JetStream client: %w", err)
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return fmt.Errorf("natsnode: JetStream is not enabled on %s (start nats-server with -js): %w", where, err)
		}
		return fmt.Errorf("natsnode: reach JetStream on %s: %w", where, err)
	}
	return nil
}

// MaxAutoReplicas caps the replicas chosen by AutoReplicas: three copies
// survive the loss of any one server, more only slow every write.
const MaxAutoReplicas = 3

// AutoReplicas is the number of copies lambada keeps of every stream when
// not told (--replicas): 1 for the embedded server alone; with an external
// NATS, the servers of its cluster (those the connected server announces,
// and the seeds); with --nats-cluster the servers of the JetStream meta
// group; capped at MaxAutoReplicas. why says how it was chosen, for the
// log.
func (n *Node) AutoReplicas() (replicas int, why string) {
	servers := n.ClusterServers()
	switch {
	case n.Embedded() && !n.Clustered():
		return 1, "embedded server"
	case servers <= 1:
		return 1, "the NATS server is not clustered"
	case servers > MaxAutoReplicas:
		return MaxAutoReplicas, fmt.Sprintf("the NATS cluster has %d servers, capped at %d", servers, MaxAutoReplicas)
	default:
		return servers, fmt.Sprintf("the NATS cluster has %d servers", servers)
	}
}

// ClusterServers counts the NATS servers this node knows of: 1 embedded,
// the JetStream meta group's size with --nats-cluster, otherwise the seeds
// and the servers the cluster announced.
func (n *Node) ClusterServers() int {
	if n.Clustered() {
		return n.clusterSize()
	}
	nc := n.Conn()
	if n.Embedded() || nc == nil {
		return 1
	}
	return len(nc.Servers())
}

// Close drains the connection (bounded by ctx) and, in embedded mode, shuts
// the server down and waits until its files are closed. Stop watches and
// other subscribers first: draining waits for their callbacks, and when ctx
// ends first the connection is closed without flushing.
func (n *Node) Close(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.nc == nil {
		return nil
	}
	var errs []error
	n.stop()
	n.probes.Wait()
	if err := n.nc.Drain(); err != nil {
		// Closed or reconnecting: nothing can be flushed now.
		n.nc.Close()
		if !errors.Is(err, nats.ErrConnectionClosed) {
			n.log.Warn("nats closed without draining", slog.Any(logkey.Err, err))
		}
	}
	select {
	case <-n.closed:
	case <-ctx.Done():
		n.nc.Close()
		errs = append(errs, fmt.Errorf("natsnode: drain: %w", ctx.Err()))
	}
	if n.cfg.Cluster != nil {
		handOver(ctx, n.srv)
	}
	shutdown(n.srv)
	n.srv, n.nc, n.closed = nil, nil, nil
	return errors.Join(errs...)
}

// Lame duck mode of a --nats-cluster node's server at Close
// (docs/behaviour/cluster.md §4): LameDuckDuration bounds how long the
// clients still connected to it (other nodes' `--nats`, `nats` tools) are
// given to leave, LameDuckGrace how long they are told before the first is
// closed. nats-server's defaults (2 minutes, 10 s) are meant for a fleet
// of clients reconnecting; a lambada node's Close has its own bound.
const (
	LameDuckDuration = 2 * time.Second
	LameDuckGrace    = 500 * time.Millisecond
)

// handOver puts a clustered server in lame duck mode: every raft group it
// leads (streams, consumers, the JetStream meta group) hands its
// leadership to an up-to-date peer, which takes over within the second
// nats-server then waits, before JetStream stops. A crashed server's peers
// wait instead for raft's election timeout (4–9 s) before electing a new
// leader; a planned stop costs no such wait. Returns once the server is
// down, or when ctx ends (the caller then shuts it down at once, which
// ends the lame duck mode too).
func handOver(ctx context.Context, srv *server.Server) {
	if srv == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.LameDuckShutdown()
	}()
	select {
	case <-done:
	case <-ctx.Done():
		shutdown(srv)
		<-done
	}
}

func shutdown(srv *server.Server) {
	if srv == nil {
		return
	}
	srv.Shutdown()
	srv.WaitForShutdown()
}

// redact hides passwords in a comma-separated list of NATS URLs.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}

// serverLog bridges nats-server's logger to slog. Its notices (startup
// banner, stream recovery) are routine for lambada and go to debug;
// warnings and errors keep their level because they concern our data.
type serverLog struct{ l *slog.Logger }

func (s serverLog) logf(level slog.Level, format string, v []any) {
	if !s.l.Enabled(context.Background(), level) {
		return
	}
	s.l.Log(context.Background(), level, fmt.Sprintf(format, v...))
}

func (s serverLog) Noticef(format string, v ...any) { s.logf(slog.LevelDebug, format, v) }

// plaintextWarning is nats-server's warning about passwords in its
// options; with --nats-cluster they come from the process's environment,
// never from a configuration file, so the warning is routine (debug).
const plaintextWarning = "Plaintext passwords detected"

func (s serverLog) Warnf(format string, v ...any) {
	if strings.HasPrefix(format, plaintextWarning) {
		s.logf(slog.LevelDebug, format, v)
		return
	}
	s.logf(slog.LevelWarn, format, v)
}
func (s serverLog) Fatalf(format string, v ...any) { s.logf(slog.LevelError, format, v) }
func (s serverLog) Errorf(format string, v ...any) { s.logf(slog.LevelError, format, v) }
func (s serverLog) Debugf(format string, v ...any) { s.logf(slog.LevelDebug, format, v) }
func (s serverLog) Tracef(format string, v ...any) { s.logf(slog.LevelDebug, format, v) }
