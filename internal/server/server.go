// Package server is lambada's composition root: it builds every part from
// Config, starts them in order, serves the Lambda API with /health and
// /metrics beside it (docs/security.md, "HTTP front door"), and stops them
// in reverse order.
package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lambada-dev/lambada/internal/api"
	"github.com/lambada-dev/lambada/internal/api/sigv4"
	"github.com/lambada-dev/lambada/internal/async"
	webconsole "github.com/lambada-dev/lambada/internal/console"
	"github.com/lambada-dev/lambada/internal/cwlogs"
	"github.com/lambada-dev/lambada/internal/environment"
	"github.com/lambada-dev/lambada/internal/fncreds"
	"github.com/lambada-dev/lambada/internal/frontdoor"
	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/invoke"
	"github.com/lambada-dev/lambada/internal/logkey"
	"github.com/lambada-dev/lambada/internal/logstore"
	"github.com/lambada-dev/lambada/internal/membership"
	"github.com/lambada-dev/lambada/internal/metricseries"
	"github.com/lambada-dev/lambada/internal/natsnode"
	"github.com/lambada-dev/lambada/internal/pool"
	"github.com/lambada-dev/lambada/internal/registry"
	"github.com/lambada-dev/lambada/internal/runtimes"
	"github.com/lambada-dev/lambada/internal/sandbox"
	sharespkg "github.com/lambada-dev/lambada/internal/shares"
	"github.com/lambada-dev/lambada/internal/store"
	"github.com/lambada-dev/lambada/internal/store/jetstream"
	"github.com/lambada-dev/lambada/internal/sts"
	"github.com/lambada-dev/lambada/internal/urls"
)

// Defaults of the server flags.
const (
	DefaultListen          = "127.0.0.1:9070"
	DefaultDataDir         = "./lambada-data"
	DefaultRegion          = "us-east-1"
	DefaultAccountID       = "000000000000"
	DefaultShutdownTimeout = 30 * time.Second

	// The defaults of the other flags live in the package that owns each
	// setting; these are their names here, for the CLI.
	DefaultMaxConcurrency  = function.DefaultAccountLimit
	DefaultIdleTimeout     = pool.DefaultIdleTimeout
	DefaultAsyncRetryDelay = async.DefaultRetryDelay
	DefaultAsyncWorkers    = async.DefaultInFlight
	DefaultStreamRate      = environment.DefaultStreamRate
	DefaultNode            = runtimes.DefaultNode
	DefaultPython          = runtimes.DefaultPython
	DefaultIsolation       = sandbox.DefaultMode
	DefaultURLHost         = urls.DefaultHost
	DefaultLogRetention    = logstore.DefaultRetention
	// DefaultLogMaxBytes is logstore.DefaultMaxBytes as --log-max-bytes
	// spells it.
	DefaultLogMaxBytes = "1GiB"
	// DefaultHotReloadBucket is the S3Bucket that marks Code as a host
	// folder, LocalStack's name (docs/behaviour/dev-loop.md §1).
	DefaultHotReloadBucket = "hot-reload"
	// DefaultReplicas 0 lets the server choose at start
	// (natsnode.AutoReplicas).
	DefaultReplicas = 0
	// --nats-cluster mode (docs/behaviour/cluster.md §6).
	DefaultNATSClusterName   = natsnode.DefaultClusterName
	DefaultNATSClusterListen = natsnode.DefaultClusterListen
	DefaultNATSListen        = natsnode.DefaultClientListen

	registryBucket    = "lambada_registry"
	nodesBucket       = "lambada_nodes"
	concurrencyBucket = "lambada_concurrency"
	attemptsBucket    = "lambada_attempts"
	codeBucket        = "lambada_code"
	eventStream       = "LAMBADA_EVENTS"
	eventConsumer     = "lambada-workers"
	destinationStream = "LAMBADA_DESTINATIONS"
	consoleBucket     = "lambada_console"
	// destinationRetention is how long records for SQS/SNS/EventBridge/S3
	// destinations are kept on the stream (SQS keeps messages up to 14 days).
	destinationRetention = 14 * 24 * time.Hour
)

// Config is everything a lambada server needs.
type Config struct {
	Listen  string
	DataDir string
	NATSURL string // "" = embedded JetStream
	// NATSCluster, when not empty, makes the embedded NATS server a node
	// of a NATS cluster whose servers' cluster listeners these are
	// (--nats-cluster; docs/behaviour/cluster.md §6). It needs the key
	// pair set explicitly: every node shares it, and it guards the NATS
	// listeners.
	NATSCluster []string
	// NATSClusterName, NATSClusterListen, NATSListen and NATSName are
	// the cluster's name, this node's cluster and client listeners and
	// its server name (--nats-cluster-name, --nats-cluster-listen,
	// --nats-listen, --nats-name); "" = natsnode's defaults.
	NATSClusterName, NATSClusterListen, NATSListen, NATSName string
	// Replicas is how many JetStream servers keep a copy of every bucket
	// and stream (--replicas); 0 chooses (natsnode.AutoReplicas).
	Replicas  int
	Region    string
	AccountID string
	// Credentials set explicitly (LAMBADA_ACCESS_KEY_ID/…); empty = use or
	// generate the data folder's key pair.
	AccessKeyID     string
	SecretAccessKey string
	MaxConcurrency  int
	// IdleTimeout closes environments idle for longer (--idle-timeout).
	IdleTimeout time.Duration
	// AsyncRetryDelay is the base of the async retry schedule
	// (--async-retry-delay; AWS's is one minute).
	AsyncRetryDelay time.Duration
	// AsyncWorkers bounds the event attempts this node runs at once
	// (--async-workers); one function gets a quarter of them whatever
	// others do, and up to three quarters while the rest are free.
	AsyncWorkers int
	// StreamRate paces streamed responses after their first 6 MB, in
	// bytes per second (--stream-rate; AWS: 2 MB/s); 0 = no cap.
	StreamRate int64
	// Isolation is the sandbox mode (--isolation): sandbox.Auto (the
	// default: every protection the host supports), sandbox.Strict (refuse
	// to start without all of them) or sandbox.None.
	Isolation sandbox.Mode
	// IsolationDisable treats these protections (sandbox.Protections) as
	// missing on this host: tests of weaker hosts; no flag.
	IsolationDisable []string
	// Node and Python are the interpreters for nodejs* and python*
	// functions (--node, --python; "node" and "python3" from PATH).
	Node, Python string
	// URLHost is the domain function URLs are addressed under
	// (--url-host): http://<id>.lambda-url.<region>.<URLHost>:<port>/.
	URLHost string
	// FunctionLogs is where functions' log lines are printed
	// (--function-logs): FunctionLogsStdout (to FunctionLogsOutput) or
	// FunctionLogsOff.
	FunctionLogs string
	// FunctionLogsOutput receives the printed lines; nil = os.Stdout.
	FunctionLogsOutput io.Writer
	// LogRetention is how long the log store keeps events of a group
	// without a retention policy (--log-retention); negative = no log
	// store (only LogType Tail and the console see the logs).
	LogRetention time.Duration
	// LogMaxBytes caps each log group (--log-max-bytes).
	LogMaxBytes int64
	// HotReloadBucket is the S3Bucket that marks Code as a host folder
	// (--hot-reload-bucket; "" = DefaultHotReloadBucket).
	HotReloadBucket string
	// AllowHostCode allows code from host folders on a listener that is
	// not loopback (--allow-host-code); on loopback it is always allowed
	// (docs/behaviour/dev-loop.md §2).
	AllowHostCode   bool
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	// Version is announced to the other nodes (lambada nodes).
	Version string

	// The front door (docs/security.md, "HTTP front door"); zero values
	// take the Default* constants of this package and of api.
	// MaxConnections bounds the API's open connections (--max-connections).
	MaxConnections int
	// HeaderTimeout bounds reading a request's headers (--header-timeout).
	HeaderTimeout time.Duration
	// KeepAliveTimeout closes connections idle between requests
	// (--keepalive-timeout).
	KeepAliveTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers (--max-header-bytes).
	MaxHeaderBytes int
	// Limits bound request bodies and answers (--body-budget,
	// --body-timeout, --body-min-rate, --write-timeout).
	Limits frontdoor.Limits
	// MetricsListen, when set, also serves /metrics without credentials
	// on that address (--metrics-listen); on the API's address /metrics
	// needs the server's key pair.
	MetricsListen string
}

func (c *Config) defaults() {
	if c.HotReloadBucket == "" {
		c.HotReloadBucket = DefaultHotReloadBucket
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	if c.AccountID == "" {
		c.AccountID = DefaultAccountID
	}
	if c.MaxConcurrency == 0 {
		c.MaxConcurrency = function.DefaultAccountLimit
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Isolation == "" {
		c.Isolation = DefaultIsolation
	}
	if c.URLHost == "" {
		c.URLHost = urls.DefaultHost
	}
	if c.FunctionLogs == "" {
		c.FunctionLogs = FunctionLogsStdout
	}
	if c.FunctionLogsOutput == nil {
		c.FunctionLogsOutput = os.Stdout
	}
	if c.LogRetention == 0 {
		c.LogRetention = logstore.DefaultRetention
	}
	if c.LogMaxBytes == 0 {
		c.LogMaxBytes = logstore.DefaultMaxBytes
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.HeaderTimeout <= 0 {
		c.HeaderTimeout = DefaultHeaderTimeout
	}
	if c.KeepAliveTimeout <= 0 {
		c.KeepAliveTimeout = DefaultKeepAliveTimeout
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
}

// Server is one running lambada.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *prometheus.Registry
	series  *metricseries.Store // the console's last hour of metrics

	lock      *os.File
	creds     Credentials
	generated bool
	node      *natsnode.Node
	replicas  int // chosen at Start
	runtimes  *runtimes.Host
	sandbox   *sandbox.Host
	minter    *fncreds.Minter
	members   *membership.Members
	shares    *sharespkg.Pool // nil embedded
	reg       *registry.Registry
	invoker   *invoke.Service
	async     *async.Service
	logs      *logstore.Store
	api       *api.Handler
	urls      *urls.Handler
	sts       *sts.Handler
	console   *webconsole.Console
	ln        net.Listener
	http      *http.Server
	door      *frontdoor.Door
	metricsLn net.Listener
	// boxRefusals counts connections from functions the metrics listener reset.
	boxRefusals atomic.Int64
	metricsHS   *http.Server
	serving     sync.WaitGroup
	ready       atomic.Bool
	serveErr    chan error
	closeOnce   sync.Once
}

// New checks cfg and builds a server; it starts nothing.
func New(cfg Config) (*Server, error) {
	cfg.defaults()
	// Every path under the data folder reaches function processes (the
	// runtime bootstraps, unpacked code, layers), which start in their own
	// task root: a relative --data (the default ./lambada-data) would
	// resolve against that instead of the server's working directory.
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("resolving the data folder %q: %w", cfg.DataDir, err)
	}
	cfg.DataDir = dataDir
	if _, err := sandbox.ParseMode(string(cfg.Isolation)); err != nil {
		return nil, err
	}
	if cfg.FunctionLogs != FunctionLogsStdout && cfg.FunctionLogs != FunctionLogsOff {
		return nil, fmt.Errorf("function logs must be %q or %q, not %q", FunctionLogsStdout, FunctionLogsOff, cfg.FunctionLogs)
	}
	if cfg.NATSURL != "" && len(cfg.NATSCluster) > 0 {
		return nil, errors.New("--nats and --nats-cluster exclude each other: use an external NATS, or be a node of a NATS cluster")
	}
	if len(cfg.NATSCluster) > 0 && cfg.AccessKeyID == "" {
		return nil, errors.New("--nats-cluster needs LAMBADA_ACCESS_KEY_ID and LAMBADA_SECRET_ACCESS_KEY: every node of the cluster serves with the same key pair, and it guards the NATS listeners")
	}
	if (cfg.AccessKeyID == "") != (cfg.SecretAccessKey == "") {
		return nil, errors.New("set both LAMBADA_ACCESS_KEY_ID and LAMBADA_SECRET_ACCESS_KEY, or neither")
	}
	if cfg.AccessKeyID == "" && !isLoopback(cfg.Listen) {
		return nil, fmt.Errorf("refusing to listen on %s: it is not a loopback address, and the generated credentials are meant for this machine only; set LAMBADA_ACCESS_KEY_ID and LAMBADA_SECRET_ACCESS_KEY explicitly to serve other machines", cfg.Listen)
	}
	metrics := prometheus.NewRegistry()
	series := metricseries.New(metricseries.Config{Gatherer: metrics, Logger: cfg.Logger})
	return &Server{cfg: cfg, log: cfg.Logger, metrics: metrics, series: series, serveErr: make(chan error, 1)}, nil
}

// isLoopback reports whether the listen address only accepts local
// connections ("localhost" or a loopback IP; an empty host is every
// interface).
func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Start brings the server up: data folder lock, credentials, storage,
// registry, then the listener. On error everything started is stopped.
func (s *Server) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
			defer cancel()
			_ = s.Close(cctx)
		}
	}()
	if err := os.MkdirAll(s.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating data folder: %w", err)
	}
	if s.lock, err = lockDataDir(s.cfg.DataDir); err != nil {
		return err
	}
	if s.cfg.AccessKeyID != "" {
		s.creds = Credentials{AccessKeyID: s.cfg.AccessKeyID, SecretAccessKey: s.cfg.SecretAccessKey}
	} else if s.creds, s.generated, err = loadOrCreateCredentials(s.cfg.DataDir); err != nil {
		return err
	}

	s.minter = fncreds.New(s.creds.SecretAccessKey)
	s.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ncfg := natsnode.Config{URL: s.cfg.NATSURL, DataDir: s.cfg.DataDir, Logger: s.log}
	if len(s.cfg.NATSCluster) > 0 {
		ncfg.Cluster = &natsnode.Cluster{
			Name: s.cfg.NATSClusterName, ServerName: s.cfg.NATSName, Routes: s.cfg.NATSCluster,
			Listen: s.cfg.NATSClusterListen, ClientListen: s.cfg.NATSListen,
			User: s.creds.AccessKeyID, Password: s.creds.SecretAccessKey,
		}
	}
	s.node = natsnode.New(ncfg)
	if err := s.node.Start(ctx); err != nil {
		return fmt.Errorf("starting storage: %w", err)
	}
	replicas, err := s.chooseReplicas()
	if err != nil {
		return err
	}
	kv, err := jetstream.OpenKV(ctx, s.node.Conn(), registryBucket, replicas)
	if err != nil {
		return fmt.Errorf("opening registry bucket: %w", err)
	}
	blobs, err := jetstream.OpenBlobs(ctx, s.node.Conn(), codeBucket, replicas)
	if err != nil {
		return fmt.Errorf("opening code bucket: %w", err)
	}
	s.reg = registry.New(registry.Config{
		Region: s.cfg.Region, AccountID: s.cfg.AccountID,
		AccountConcurrency: s.cfg.MaxConcurrency, Logger: s.log,
		HotReloadBucket: s.cfg.HotReloadBucket, HostCode: s.cfg.AllowHostCode || isLoopback(s.cfg.Listen),
	}, kv, blobs)

	s.runtimes, err = runtimes.Open(ctx, runtimes.Config{
		Node: s.cfg.Node, Python: s.cfg.Python, Dir: filepath.Join(s.cfg.DataDir, "runtime"), Logger: s.log,
	})
	if err != nil {
		return err
	}
	s.log.Info("runtimes", logkey.Available, s.runtimes.Available())
	if s.sandbox, err = s.probeSandbox(ctx); err != nil {
		return err
	}
	fl := &functionLogs{}
	if s.cfg.LogRetention > 0 {
		if s.logs, err = logstore.Open(s.node.Conn(), logstore.Config{
			Retention: s.cfg.LogRetention, MaxBytes: s.cfg.LogMaxBytes, Replicas: s.replicas, Logger: s.log,
		}); err != nil {
			return fmt.Errorf("opening the log store: %w", err)
		}
		fl.store = s.logs
	}
	if s.cfg.FunctionLogs == FunctionLogsStdout {
		fl.console = &console{w: s.cfg.FunctionLogsOutput}
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", s.cfg.Listen, err)
	}
	tracker := newConnTracker(ln, s.cfg.MaxConnections, s.cfg.MaxHeaderBytes, s.log, s.metrics)
	s.ln = tracker
	s.door = frontdoor.New(s.cfg.Limits)
	nodes, err := jetstream.OpenKV(ctx, s.node.Conn(), nodesBucket, replicas)
	if err != nil {
		return fmt.Errorf("opening the nodes bucket: %w", err)
	}
	s.members = membership.New(membership.Config{
		Address: s.URL(), Version: s.cfg.Version, Logger: s.log,
		Environments: func() int { return s.invoker.Environments() },
	}, nodes)
	var shares invoke.Shares
	if s.node.Shared() {
		kv, err := jetstream.OpenKV(ctx, s.node.Conn(), concurrencyBucket, replicas)
		if err != nil {
			return fmt.Errorf("opening the concurrency bucket: %w", err)
		}
		s.shares = sharespkg.New(sharespkg.Config{Node: s.members.ID(), Live: s.members.LiveIDs, Logger: s.log}, kv)
		shares = s.shares
	}
	s.invoker = invoke.New(invoke.Config{
		Region: s.cfg.Region, AccountID: s.cfg.AccountID, DataDir: s.cfg.DataDir, Runtimes: s.runtimes, Sandbox: s.sandbox,
		StreamRate: s.cfg.StreamRate, CallbackEnv: s.callbackEnv,
		AccountConcurrency: s.cfg.MaxConcurrency, Shares: shares, IdleTimeout: s.cfg.IdleTimeout,
		Logs:   fl,
		Logger: s.log, Metrics: s.metrics,
	}, s.reg)
	if err := s.invoker.Start(ctx); err != nil {
		return fmt.Errorf("starting the invoke service: %w", err)
	}
	queue, err := jetstream.OpenQueue(ctx, s.node.Conn(), jetstream.StreamConfig{
		Name: eventStream, Subjects: []string{async.EventSubjectPrefix + ">"},
	}, eventConsumer, replicas)
	if err != nil {
		return fmt.Errorf("opening the event queue: %w", err)
	}
	records, err := jetstream.OpenStream(ctx, s.node.Conn(), jetstream.StreamConfig{
		Name: destinationStream, Subjects: []string{async.DestinationSubjectPrefix + ">"}, MaxAge: destinationRetention,
	}, replicas)
	if err != nil {
		return fmt.Errorf("opening the destination stream: %w", err)
	}
	// Duplicate attempts are counted where failovers cause them, with
	// shared storage (docs/behaviour/cluster.md §7): the record costs a
	// stored write per attempt, about a sixth of the embedded drain rate.
	var attempts store.KV
	if s.node.Shared() {
		if attempts, err = jetstream.OpenKV(ctx, s.node.Conn(), attemptsBucket, replicas, jetstream.WithTTL(async.AttemptRecordTTL)); err != nil {
			return fmt.Errorf("opening the attempts bucket: %w", err)
		}
	}
	s.async = async.New(async.Config{
		Region: s.cfg.Region, AccountID: s.cfg.AccountID, RetryDelay: s.cfg.AsyncRetryDelay,
		InFlight: s.cfg.AsyncWorkers, Attempts: attempts, Logger: s.log, Metrics: s.metrics,
	}, queue, records, s.invoker, s.reg)
	creds := apiCredentials{
		static: sigv4.StaticCredentials{s.creds.AccessKeyID: s.creds.SecretAccessKey},
		minter: s.minter, reg: s.reg,
	}
	// One verifier for the API and AWS_IAM function URLs.
	verifier := &sigv4.Verifier{Region: s.cfg.Region, Service: "lambda", Creds: creds}
	s.sts = sts.New(sts.Config{
		Verifier: &sigv4.Verifier{Region: s.cfg.Region, Service: sts.Service, Creds: creds},
		Identify: s.identify, Logger: s.log,
	})
	s.api = api.New(api.Config{
		Region: s.cfg.Region, AccountID: s.cfg.AccountID, Registry: s.reg, Invoker: s.invoker, Async: s.async,
		Verifier:     verifier,
		Logs:         cwlogs.New(s.logs, s.cfg.Region, s.cfg.AccountID),
		LogsVerifier: &sigv4.Verifier{Region: s.cfg.Region, Service: "logs", Creds: creds},
		CodeURLKey:   codeURLKey(s.creds.SecretAccessKey),
		FunctionURL:  s.urlAddress().URL,
		Logger:       s.log, Metrics: s.metrics, Door: s.door,
	})
	s.urls = urls.New(urls.Config{
		Address: s.urlAddress(), AccountID: s.cfg.AccountID, Registry: s.reg, Invoker: s.invoker,
		Verifier: verifier, Door: s.door, Logger: s.log, Metrics: s.metrics,
	})
	events, err := jetstream.OpenKV(ctx, s.node.Conn(), consoleBucket, replicas)
	if err != nil {
		return fmt.Errorf("opening the console bucket: %w", err)
	}
	if s.console, err = webconsole.New(webconsole.Config{
		Creds: creds, Registry: s.reg, Invoker: s.invoker, Events: events, Door: s.door,
		Async: s.async, FunctionURL: s.urlAddress().URL,
		Status: s.consoleStatus, Series: s.series, Logger: s.log,
		Live: s.consoleLive(),
	}); err != nil {
		return fmt.Errorf("building the console: %w", err)
	}
	s.http = s.httpServer(s.routes())
	s.http.ConnState = tracker.connState
	s.http.RegisterOnShutdown(s.console.Shutdown) // the live tail's answers
	if s.cfg.MetricsListen != "" {
		var mln net.Listener
		if mln, err = net.Listen("tcp", s.cfg.MetricsListen); err != nil {
			return fmt.Errorf("listening on %s (--metrics-listen): %w", s.cfg.MetricsListen, err)
		}
		// No function may reach it (docs/security.md "Runtime API isolation").
		s.metricsLn = s.sandbox.Outsiders(mln, s.refusedBox)
		s.metricsHS = s.httpServer(s.metricsRoutes())
		s.serving.Add(1)
		go func() {
			defer s.serving.Done()
			if err := s.metricsHS.Serve(s.metricsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("metrics listener stopped", logkey.Err, err)
			}
		}()
	}
	go func() { s.serveErr <- s.http.Serve(s.ln) }()

	if err := s.reg.Start(ctx); err != nil {
		return err
	}
	if err := s.members.Start(ctx); err != nil {
		return fmt.Errorf("announcing this node: %w", err)
	}
	if s.shares != nil {
		s.shares.Start()
	}
	s.async.Start()
	s.series.Start()
	s.ready.Store(true)
	s.log.Info("lambada ready", logkey.Node, s.members.ID(), logkey.Listen, s.ln.Addr().String(), logkey.Data, s.cfg.DataDir,
		logkey.Storage, s.storageMode(), logkey.Region, s.cfg.Region, logkey.Account, s.cfg.AccountID,
		logkey.MetricsListen, s.MetricsAddr(), logkey.MaxConnections, s.cfg.MaxConnections)
	return nil
}

// chooseReplicas decides how many copies of every bucket and stream the
// storage keeps (--replicas, or chosen from the cluster) and logs why;
// more than the servers there are is refused here rather than by the
// first stream that cannot be placed.
func (s *Server) chooseReplicas() (jetstream.Option, error) {
	n, why := s.cfg.Replicas, "--replicas"
	if n == 0 {
		n, why = s.node.AutoReplicas()
	}
	if servers := s.node.ClusterServers(); n > servers {
		where := "the embedded NATS server is one server"
		if s.node.Clustered() {
			where = fmt.Sprintf("the NATS cluster has %d JetStream server(s)", servers)
		} else if !s.node.Embedded() {
			where = fmt.Sprintf("the NATS at %s has %d server(s)", s.cfg.NATSURL, servers)
		}
		return nil, fmt.Errorf("--replicas %d: %s; ask for at most %d", n, where, servers)
	}
	s.replicas = n
	s.log.Info("storage replicas", logkey.Replicas, n, logkey.Reason, why)
	return jetstream.WithReplicas(n), nil
}

// urlAddress is how function URLs are addressed on this server's port.
func (s *Server) urlAddress() urls.Address {
	_, port, _ := net.SplitHostPort(s.ln.Addr().String())
	return urls.Address{Region: s.cfg.Region, Host: s.cfg.URLHost, Port: port}
}

// codeURLKey derives the Code.Location signing key from the secret, so
// every node sharing the credentials accepts every node's URLs.
func codeURLKey(secret string) []byte {
	k := sha256.Sum256([]byte("lambada code url\n" + secret))
	return k[:]
}

func (s *Server) storageMode() string {
	if len(s.cfg.NATSCluster) > 0 {
		return "cluster"
	}
	if s.cfg.NATSURL == "" {
		return "embedded"
	}
	return "external"
}

// httpServer is an http.Server with the front door's connection limits:
// headers within HeaderTimeout, idle keep-alive connections closed after
// KeepAliveTimeout. Read and write deadlines are set per request instead
// of with ReadTimeout/WriteTimeout (see frontDoor).
func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.cfg.HeaderTimeout,
		IdleTimeout:       s.cfg.KeepAliveTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// longAnswer bounds the answer of anything that may run a function: the
// longest function timeout plus the write timeout.
func (s *Server) longAnswer() time.Duration {
	return function.MaxTimeout*time.Second + s.door.Limits().WriteTimeout
}

// frontDoor gives a request deadlines before its handler runs
// (docs/security.md, "Answers"): its body must arrive within BodyTimeout
// and its answer be written within WriteTimeout, or longAnswer when long
// (the function URL data plane, which runs functions). The API and the
// function URLs read bodies through the Door, which moves the body's
// deadline with its size and clears it once the body is read.
func (s *Server) frontDoor(h http.Handler, long bool) http.Handler {
	body, write := s.door.Limits().BodyTimeout, s.door.Limits().WriteTimeout
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(body))
		if long {
			_ = rc.SetWriteDeadline(time.Now().Add(s.longAnswer()))
		} else {
			_ = rc.SetWriteDeadline(time.Now().Add(write))
		}
		h.ServeHTTP(w, r)
	})
}

// routes serves the API's address. Paths are matched as sent, never
// cleaned or redirected (net/http's ServeMux answers "/./", "/../" and
// "//" with a plain-text redirect): anything that is not /health, /metrics
// or a code download goes to the API, which answers unknown paths with
// UnknownOperationException.
func (s *Server) routes() http.Handler {
	metrics := s.api.RequireKey(&sigv4.Verifier{
		Region: s.cfg.Region, Service: "lambda",
		Creds: sigv4.StaticCredentials{s.creds.AccessKeyID: s.creds.SecretAccessKey},
	}, promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{}))
	code := s.api.CodeDownload()
	// Function URLs (urls.Wrap) run functions: their answers get the long
	// deadline; everything else the ordinary ones.
	return s.frontDoor(s.urls.Wrap(s.frontDoor(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.EscapedPath(); {
		case p == "/health":
			s.health(w, r)
		case p == "/metrics":
			metrics.ServeHTTP(w, r)
		case p == "/console" || strings.HasPrefix(p, webconsole.Prefix):
			s.console.ServeHTTP(w, r)
		case strings.HasPrefix(p, api.CodePath):
			code.ServeHTTP(w, r)
		case sts.IsQueryRequest(r):
			s.sts.ServeHTTP(w, r)
		default:
			s.api.ServeHTTP(w, r)
		}
	}), false)), true)
}

// consoleStatus is what the console's Settings page shows.
func (s *Server) consoleStatus() webconsole.Status {
	st := webconsole.Status{
		Version: s.cfg.Version, Region: s.cfg.Region, Account: s.cfg.AccountID, Storage: s.storageMode(),
		Replicas: s.replicas, Runtimes: s.runtimes.Available(),
	}
	if st.Version == "" {
		st.Version = "(development build)"
	}
	r := s.sandbox.Report()
	st.Isolation = webconsole.Isolation{Mode: string(r.Mode), Active: r.Active, Missing: r.Missing, Cgroups: r.Cgroups}
	return st
}

// ConsoleURL is where the web console is (docs/console.md).
func (s *Server) ConsoleURL() string { return s.URL() + webconsole.Prefix }

// metricsRoutes serves --metrics-listen: /metrics without credentials.
func (s *Server) metricsRoutes() http.Handler {
	metrics := promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{})
	return s.frontDoor(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.EscapedPath() != "/metrics" {
			http.NotFound(w, r)
			return
		}
		metrics.ServeHTTP(w, r)
	}), false)
}

// refusedBox logs a connection from a box to a listener functions may not
// reach: once at WARN, then at DEBUG.
func (s *Server) refusedBox(remote net.Addr, uid int, err error) {
	lvl := slog.LevelDebug
	if s.boxRefusals.Add(1) == 1 {
		lvl = slog.LevelWarn
	}
	s.log.Log(context.Background(), lvl, "metrics: connection from a function refused",
		logkey.Remote, remote.String(), logkey.UID, uid, logkey.Err, err)
}

// MetricsAddr is the --metrics-listen address ("" when not serving one).
func (s *Server) MetricsAddr() string {
	if s.metricsLn == nil {
		return ""
	}
	return s.metricsLn.Addr().String()
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	status, code, storage := "ok", http.StatusOK, s.storageMode()
	if !s.ready.Load() {
		status, code = "starting", http.StatusServiceUnavailable
	} else if !s.node.Available() {
		// Sync invokes of known functions still work; writes, Event
		// invokes and async attempts wait for the storage.
		status, code, storage = "degraded", http.StatusServiceUnavailable, "unavailable"
	}
	b, _ := json.Marshal(map[string]any{
		"status": status, "storage": storage, "replicas": s.replicas, "region": s.cfg.Region, "account": s.cfg.AccountID,
		"runtimes": s.availableRuntimes(), "isolation": s.isolation(), "nodes": s.liveNodes(),
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// liveNodes lists the lambada nodes sharing this storage; nil until
// started.
func (s *Server) liveNodes() []membership.Node {
	if !s.ready.Load() || s.members == nil {
		return nil
	}
	return s.members.Live()
}

// availableRuntimes is nil until the runtimes are found.
func (s *Server) availableRuntimes() map[string]string {
	if !s.ready.Load() || s.runtimes == nil {
		return nil
	}
	return s.runtimes.Available()
}

// Addr is the address the API listens on (useful with port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the API endpoint clients use.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Credentials returns the key pair clients sign with, and whether it was
// generated by this start.
func (s *Server) Credentials() (Credentials, bool) { return s.creds, s.generated }

// CredentialsFromEnv reports whether the key pair came from the environment.
func (s *Server) CredentialsFromEnv() bool { return s.cfg.AccessKeyID != "" }

// Metrics is the server's Prometheus registry.
func (s *Server) Metrics() *prometheus.Registry { return s.metrics }

// Series is the last hour of the server's metrics, sampled every 10 s
// (the console's charts and per-function figures).
func (s *Server) Series() *metricseries.Store { return s.series }

// Wait returns when the HTTP server stops on its own (listener failure).
func (s *Server) Wait() <-chan error { return s.serveErr }

// Close stops accepting, lets in-flight requests finish until ctx ends,
// then stops the registry and flushes storage. It is safe to call twice.
func (s *Server) Close(ctx context.Context) error {
	var errs []error
	s.closeOnce.Do(func() {
		s.ready.Store(false)
		if s.http != nil {
			if err := s.http.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stopping http: %w", err))
				_ = s.http.Close()
			}
		} else if s.ln != nil {
			_ = s.ln.Close()
		}
		if s.metricsHS != nil {
			if err := s.metricsHS.Shutdown(ctx); err != nil {
				_ = s.metricsHS.Close()
			}
		} else if s.metricsLn != nil {
			_ = s.metricsLn.Close()
		}
		s.serving.Wait()
		s.series.Close() // before the queue it reads goes
		if s.async != nil {
			if err := s.async.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stopping async workers: %w", err))
			}
		}
		if s.invoker != nil {
			if err := s.invoker.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stopping environments: %w", err))
			}
		}
		s.sandbox.Close()
		if s.logs != nil {
			s.logs.Close() // after the environments: their last lines
		}
		if s.shares != nil {
			s.shares.Close(ctx) // after the environments: no invocation holds one
		}
		if s.members != nil {
			if err := s.members.Close(ctx); err != nil {
				s.log.Warn("leaving the cluster's node list failed; the others notice after a few seconds", logkey.Err, err)
			}
		}
		if s.reg != nil {
			if err := s.reg.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stopping registry: %w", err))
			}
		}
		if s.node != nil {
			if err := s.node.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stopping storage: %w", err))
			}
		}
		if s.lock != nil {
			_ = s.lock.Close()
		}
		s.log.Info("lambada stopped")
	})
	return errors.Join(errs...)
}

// probeSandbox detects the isolation the host supports (--isolation) and
// logs exactly which protections are active. Its cgroups are keyed by the
// data folder, so a restart after kill -9 removes what the killed server
// left.
func (s *Server) probeSandbox(ctx context.Context) (*sandbox.Host, error) {
	abs, err := filepath.Abs(s.cfg.DataDir)
	if err != nil {
		return nil, err
	}
	key := sha256.Sum256([]byte(abs))
	h, err := sandbox.Probe(ctx, sandbox.Options{Mode: s.cfg.Isolation, Key: hex.EncodeToString(key[:6]), Disable: s.cfg.IsolationDisable})
	if err != nil {
		return nil, err
	}
	r := h.Report()
	s.log.Info("isolation", logkey.Mode, r.Mode, logkey.Active, r.String(), logkey.Cgroups, r.Cgroups)
	return h, nil
}

// isolation is the sandbox report for /health; nil until probed.
func (s *Server) isolation() any {
	if !s.ready.Load() || s.sandbox == nil {
		return nil
	}
	return s.sandbox.Report()
}
