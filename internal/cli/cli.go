// Package cli holds lambada's subcommands and flags: it turns flags and
// environment into server.Config and runs the server.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lambada-dev/lambada/internal/server"
)

const usage = `lambada runs AWS Lambda functions on your own machines and speaks the Lambda API.

Usage:
  lambada server [flags]    start the server (embedded storage by default)
  lambada destinations --arn ARN [--after N] [--follow]
                            print the invocation records delivered to an SQS, SNS,
                            EventBridge, S3 or dead-letter ARN (uses the AWS_* env)
  lambada logs FUNCTION [--follow] [--since 10m] [--filter PATTERN]
                            print a function's log lines (uses the AWS_* env)
  lambada dev DIR [--name N] [--runtime R] [--handler H] [--build CMD] [--endpoint-url URL]
                            run DIR as a function that reloads on every edit, follow
                            its logs (starts a server in-process unless one is given)
  lambada nodes [--endpoint-url URL]
                            list the live lambada nodes sharing the server's storage
  lambada version           print the version

Run "lambada server -h" for the server's flags.
`

// Version is set at build time with -ldflags "-X ...cli.Version=…".
var Version = "dev"

// defaultLogLevel is the --log-level default.
const defaultLogLevel = "info"

// errUsage marks a command-line mistake (exit code 2).
var errUsage = errors.New("usage")

// Main runs the command named by args and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := Run(ctx, args, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintln(stderr, "lambada:", err)
		return 1
	}
}

// Run is Main without the exit code mapping.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "server":
		return runServer(ctx, args[1:], stdout, stderr)
	case "destinations":
		return runDestinations(ctx, args[1:], stdout, stderr)
	case "logs":
		return runLogs(ctx, args[1:], stdout, stderr)
	case "dev":
		return runDev(ctx, args[1:], stdout, stderr)
	case "nodes":
		return runNodes(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "lambada", Version)
		return nil
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "lambada: unknown command %q\n\n%s", args[0], usage)
	return errUsage
}

func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg server.Config
	var logLevel string
	fs.StringVar(&cfg.Listen, "listen", server.DefaultListen, "address of the Lambda API, /health and /metrics")
	fs.StringVar(&cfg.DataDir, "data", server.DefaultDataDir, "folder for all of lambada's state")
	fs.StringVar(&cfg.NATSURL, "nats", "", "use an external NATS JetStream server or cluster (nats://…) instead of the embedded one")
	var natsCluster string
	fs.StringVar(&natsCluster, "nats-cluster", "", "be a node of a NATS cluster: the cluster listeners of its servers, comma-separated (nats://host:6222,…; this node's own may be listed); needs LAMBADA_ACCESS_KEY_ID and LAMBADA_SECRET_ACCESS_KEY, shared by every node")
	fs.StringVar(&cfg.NATSClusterListen, "nats-cluster-listen", server.DefaultNATSClusterListen, "with --nats-cluster: this node's cluster listener (the other nodes' routes arrive here)")
	fs.StringVar(&cfg.NATSListen, "nats-listen", server.DefaultNATSListen, "with --nats-cluster: this node's NATS client listener (for nats tools or lambada --nats, with the key pair)")
	fs.StringVar(&cfg.NATSClusterName, "nats-cluster-name", server.DefaultNATSClusterName, "with --nats-cluster: the cluster's name, the same on every node")
	fs.StringVar(&cfg.NATSName, "nats-name", "", "with --nats-cluster: this node's NATS server name, unique in the cluster and the same at every start (default: chosen at the first start and kept in --data)")
	fs.IntVar(&cfg.Replicas, "replicas", server.DefaultReplicas, "JetStream servers keeping a copy of every bucket and stream (0: 1 embedded, the cluster's servers up to 3 with --nats or --nats-cluster; also LAMBADA_REPLICAS)")
	fs.StringVar(&cfg.Region, "region", server.DefaultRegion, "the AWS region lambada serves")
	fs.StringVar(&cfg.AccountID, "account-id", server.DefaultAccountID, "the 12-digit account id in every ARN")
	fs.IntVar(&cfg.MaxConcurrency, "max-concurrency", server.DefaultMaxConcurrency, "account concurrency limit, like AWS's")
	fs.DurationVar(&cfg.AsyncRetryDelay, "async-retry-delay", server.DefaultAsyncRetryDelay, "base delay of async retries after a function error: retry n waits n × this (AWS: 1m)")
	fs.IntVar(&cfg.AsyncWorkers, "async-workers", server.DefaultAsyncWorkers, "event attempts this node runs at once (one function gets a quarter, up to three quarters while the rest are free)")
	streamRate := formatRate(server.DefaultStreamRate)
	fs.StringVar(&streamRate, "stream-rate", streamRate, `bandwidth of a streamed response after its first 6 MB, as AWS caps it ("2MB/s", "512KiB/s"), or "off"`)
	fs.StringVar(&cfg.Node, "node", server.DefaultNode, "Node.js interpreter for nodejs* functions (name on PATH or path)")
	fs.StringVar(&cfg.Python, "python", server.DefaultPython, "Python interpreter for python* functions (name on PATH or path)")
	fs.TextVar(&cfg.Isolation, "isolation", server.DefaultIsolation, "sandbox for function processes: auto (every protection the host supports), strict (refuse to start without all) or none")
	fs.StringVar(&cfg.URLHost, "url-host", server.DefaultURLHost, "domain function URLs are addressed under: http://<url-id>.lambda-url.<region>.<url-host>:<port>/ (a name whose subdomains resolve to this server)")
	fs.StringVar(&cfg.HotReloadBucket, "hot-reload-bucket", server.DefaultHotReloadBucket, "S3Bucket value that marks Code as a host folder named by S3Key (hot reload)")
	fs.BoolVar(&cfg.AllowHostCode, "allow-host-code", false, "allow code from host folders (hot reload) when listening beyond loopback")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout, "stop environments idle for longer")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", server.DefaultShutdownTimeout, "how long in-flight requests may finish on SIGINT/SIGTERM")
	fs.StringVar(&logLevel, "log-level", defaultLogLevel, "debug, info, warn or error")
	fs.StringVar(&cfg.FunctionLogs, "function-logs", server.FunctionLogsStdout, "print functions' log lines on stdout, prefixed with function name and request id (stdout), or not (off)")
	fs.DurationVar(&cfg.LogRetention, "log-retention", server.DefaultLogRetention, "how long the log store keeps function log events of a group without a retention policy; 0 stores no logs")
	logMax := server.DefaultLogMaxBytes
	fs.StringVar(&logMax, "log-max-bytes", logMax, "size cap of each log group in the log store; the oldest events go first (\"1GiB\", \"500MB\")")
	// The front door (docs/security.md, "HTTP front door").
	fs.StringVar(&cfg.MetricsListen, "metrics-listen", "", "also serve /metrics without credentials on this address (e.g. 127.0.0.1:9071); on --listen /metrics needs the API's key pair")
	fs.IntVar(&cfg.MaxConnections, "max-connections", server.DefaultMaxConnections, "open API connections at most; past it the longest-idle one is closed")
	fs.DurationVar(&cfg.HeaderTimeout, "header-timeout", server.DefaultHeaderTimeout, "time a client has to send a request's headers")
	fs.DurationVar(&cfg.KeepAliveTimeout, "keepalive-timeout", server.DefaultKeepAliveTimeout, "close a connection idle between requests for longer")
	maxHeader := formatSize(server.DefaultMaxHeaderBytes, "")
	fs.StringVar(&maxHeader, "max-header-bytes", maxHeader, `largest request line and headers ("1MiB")`)
	bodyBudget := formatSize(server.DefaultBodyBudget, "")
	fs.StringVar(&bodyBudget, "body-budget", bodyBudget, `request-body bytes held in memory at once, all requests together ("512MiB")`)
	fs.DurationVar(&cfg.Limits.BodyTimeout, "body-timeout", server.DefaultBodyTimeout, "time every request body gets before --body-min-rate applies")
	bodyRate := formatSize(server.DefaultBodyMinRate, "/s")
	fs.StringVar(&bodyRate, "body-min-rate", bodyRate, `slowest average rate a request body may arrive at ("64KiB/s")`)
	fs.DurationVar(&cfg.Limits.WriteTimeout, "write-timeout", server.DefaultWriteTimeout, "time to write an answer (an invocation's answer gets 900s, the longest function timeout, on top)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lambada server: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	for _, r := range strings.Split(natsCluster, ",") {
		if r = strings.TrimSpace(r); r != "" {
			cfg.NATSCluster = append(cfg.NATSCluster, r)
		}
	}
	if natsCluster != "" && len(cfg.NATSCluster) == 0 {
		fmt.Fprintln(stderr, "lambada server: --nats-cluster needs the cluster's route URLs")
		return errUsage
	}
	if len(cfg.NATSCluster) == 0 {
		for _, name := range []string{"nats-cluster-listen", "nats-listen", "nats-cluster-name", "nats-name"} {
			if flagSet(fs, name) {
				fmt.Fprintf(stderr, "lambada server: --%s needs --nats-cluster\n", name)
				return errUsage
			}
		}
	}
	if v := os.Getenv("LAMBADA_REPLICAS"); v != "" && !flagSet(fs, "replicas") {
		n, err := strconv.Atoi(v)
		if err != nil {
			fmt.Fprintf(stderr, "lambada server: bad LAMBADA_REPLICAS %q\n", v)
			return errUsage
		}
		cfg.Replicas = n
	}
	if cfg.Replicas < 0 {
		fmt.Fprintf(stderr, "lambada server: --replicas must be 0 (automatic) or more, not %d\n", cfg.Replicas)
		return errUsage
	}
	rate, err := parseRate(streamRate)
	if err != nil {
		fmt.Fprintf(stderr, "lambada server: bad --stream-rate %q: %v\n", streamRate, err)
		return errUsage
	}
	cfg.StreamRate = rate
	if cfg.LogMaxBytes, err = parseRate(logMax); err != nil || cfg.LogMaxBytes == 0 {
		fmt.Fprintf(stderr, "lambada server: bad --log-max-bytes %q: want a size such as \"1GiB\"\n", logMax)
		return errUsage
	}
	if cfg.LogRetention == 0 {
		cfg.LogRetention = -1 // no log store
	}
	if cfg.FunctionLogs != server.FunctionLogsStdout && cfg.FunctionLogs != server.FunctionLogsOff {
		fmt.Fprintf(stderr, "lambada server: --function-logs must be stdout or off, not %q\n", cfg.FunctionLogs)
		return errUsage
	}
	for _, f := range []struct {
		name, value string
		dst         *int64
		parse       func(string) (int64, error)
	}{
		{"max-header-bytes", maxHeader, nil, parseSize},
		{"body-budget", bodyBudget, &cfg.Limits.BodyBudget, parseSize},
		{"body-min-rate", bodyRate, &cfg.Limits.BodyMinRate, parseRate},
	} {
		n, err := f.parse(f.value)
		if err != nil || n <= 0 {
			fmt.Fprintf(stderr, "lambada server: bad --%s %q: want a positive size such as \"64KiB\"\n", f.name, f.value)
			return errUsage
		}
		if f.dst != nil {
			*f.dst = n
		} else if n > math.MaxInt32 {
			fmt.Fprintf(stderr, "lambada server: --%s %q is too large\n", f.name, f.value)
			return errUsage
		} else {
			cfg.MaxHeaderBytes = int(n)
		}
	}
	if cfg.MaxConnections <= 0 || cfg.HeaderTimeout <= 0 || cfg.KeepAliveTimeout <= 0 || cfg.Limits.BodyTimeout <= 0 || cfg.Limits.WriteTimeout <= 0 {
		fmt.Fprintln(stderr, "lambada server: --max-connections and the timeouts must be positive")
		return errUsage
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		fmt.Fprintf(stderr, "lambada server: bad --log-level %q\n", logLevel)
		return errUsage
	}
	if len(cfg.AccountID) != 12 || strings.Trim(cfg.AccountID, "0123456789") != "" {
		fmt.Fprintf(stderr, "lambada server: --account-id must be 12 digits, not %q\n", cfg.AccountID)
		return errUsage
	}
	cfg.AccessKeyID = os.Getenv("LAMBADA_ACCESS_KEY_ID")
	cfg.SecretAccessKey = os.Getenv("LAMBADA_SECRET_ACCESS_KEY")
	cfg.Version = Version
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg.FunctionLogsOutput = stdout

	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	if !srv.CredentialsFromEnv() {
		creds, _ := srv.Credentials()
		fmt.Fprintf(stdout, "# lambada is ready. Point the AWS SDK or CLI at it with:\n")
		fmt.Fprintf(stdout, "export AWS_ACCESS_KEY_ID=%s\n", creds.AccessKeyID)
		fmt.Fprintf(stdout, "export AWS_SECRET_ACCESS_KEY=%s\n", creds.SecretAccessKey)
		fmt.Fprintf(stdout, "export AWS_ENDPOINT_URL_LAMBDA=%s\n", srv.URL())
		fmt.Fprintf(stdout, "export AWS_ENDPOINT_URL_STS=%s\n", srv.URL())
		fmt.Fprintf(stdout, "export AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=%s\n", srv.URL())
		fmt.Fprintf(stdout, "# Web console: %s (sign in with the access key id and secret above)\n", srv.ConsoleURL())
	} else {
		fmt.Fprintf(stdout, "# Web console: %s (sign in with LAMBADA_ACCESS_KEY_ID and LAMBADA_SECRET_ACCESS_KEY)\n", srv.ConsoleURL())
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-srv.Wait():
	}
	cctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout+5*time.Second)
	defer cancel()
	return errors.Join(serveErr, srv.Close(cctx))
}

// formatRate writes a bandwidth the way parseRate reads it: "2MB/s" for
// 2,000,000 bytes per second, "off" for 0.
func formatRate(r int64) string {
	switch {
	case r == 0:
		return "off"
	case r%1_000_000 == 0:
		return strconv.FormatInt(r/1_000_000, 10) + "MB/s"
	case r%1_000 == 0:
		return strconv.FormatInt(r/1_000, 10) + "KB/s"
	}
	return strconv.FormatInt(r, 10)
}

// formatSize writes n bytes as parseSize reads them back ("512MiB").
func formatSize(n int64, suffix string) string {
	switch {
	case n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MiB" + suffix
	case n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "KiB" + suffix
	}
	return strconv.FormatInt(n, 10) + suffix
}

// parseSize reads a byte count such as "512MiB", "1MB" or "1048576".
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "/s") {
		return 0, errors.New("a size, not a rate")
	}
	return parseRate(s)
}

// parseRate reads a bandwidth such as "2MB/s", "2MB", "512KiB/s" or
// "1500000" (bytes per second); "off" and "0" mean no cap (0).
func parseRate(s string) (int64, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "/s")
	if s == "off" || s == "0" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || v*mult < 1 {
		return 0, errors.New(`want a positive bandwidth such as "2MB/s", or "off"`)
	}
	return int64(v * mult), nil
}

// flagSet reports whether name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
