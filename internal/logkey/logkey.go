// Package logkey names every attribute key lambada's logs use, so that one
// thing has one key in every package's log lines ("err", never "error")
// and a log query written for one component works for all of them. Add a
// key here, with what it holds, before logging it.
package logkey

// Keys shared across the server.
const (
	Err       = "err"        // an error value
	Function  = "function"   // a function's name
	Version   = "version"    // a function version: $LATEST or N
	Qualifier = "qualifier"  // a qualifier as the caller addressed it
	RequestID = "request_id" // an invocation's or API request's id
	Runtime   = "runtime"    // a Runtime value such as nodejs22.x
	Code      = "code"       // an AWS error code
	Message   = "message"    // an error message sent to a client
	Status    = "status"     // an HTTP status
	Method    = "method"     // an HTTP method
	Path      = "path"       // an HTTP path or a file path
	URL       = "url"        // a URL
	Duration  = "duration"   // how long something took
	Count     = "count"      // how many
	Reason    = "reason"     // why something was refused or changed
	Why       = "why"        // why an environment was closed
)

// API requests.
const (
	Operation = "operation" // the Lambda operation name
	Principal = "principal" // who signed the request
	URLID     = "url_id"    // a function URL's id
)

// Invocations and environments.
const (
	Cold          = "cold"           // the invocation started a new environment
	Broken        = "broken"         // the environment cannot be reused
	FunctionError = "function_error" // the invocation ended in a function error
	ChainRoot     = "chain_root"     // the trace root of a recursion chain
	Line          = "line"           // one line a function wrote
	ErrorType     = "error_type"     // a function error's errorType
	Bytes         = "bytes"          // a body's size in bytes
	HostVersion   = "host_version"   // the interpreter version this host runs
	CodeSHA256    = "code_sha256"    // a deployment package's SHA-256
	Key           = "key"            // a storage key
	Layer         = "layer"          // a layer version ARN or name
)

// Async events and destinations.
const (
	Attempts    = "attempts"    // attempts made for an event
	Condition   = "condition"   // an invocation record's condition
	Destination = "destination" // a destination ARN
	Target      = "target"      // a dead-letter target ARN
	Sequence    = "seq"         // a record's sequence on its stream
)

// Function logs (the CloudWatch Logs surface).
const (
	LogGroup     = "group"         // a log group's name
	LogStream    = "stream"        // a log stream's name
	Events       = "events"        // how many log events
	DroppedTotal = "dropped_total" // log events dropped so far
)

// Server start and storage.
const (
	Listen    = "listen"    // the API's listen address
	Data      = "data"      // the data folder
	Storage   = "storage"   // embedded or external storage
	Region    = "region"    // the region lambada serves
	Account   = "account"   // the account in ARNs
	Mode      = "mode"      // the isolation mode
	Active    = "active"    // the active protections
	Cgroups   = "cgroups"   // the cgroup version in use
	Available = "available" // the runtimes this host can run
	Embedded  = "embedded"  // NATS runs in-process
	Store     = "store"     // the embedded store's folder
	Subject   = "subject"   // a NATS subject
	Component = "component" // the part of NATS a line comes from
	// The HTTP front door (docs/security.md).
	MetricsListen  = "metrics_listen"  // the --metrics-listen address
	MaxConnections = "max_connections" // the --max-connections limit
	Open           = "open"            // connections open now
	Replicas       = "replicas"        // copies of every bucket and stream
	Wanted         = "wanted"          // the copies --replicas asks for
	Was            = "was"             // the copies a stream had before
	// --nats-cluster (docs/behaviour/cluster.md §6).
	Cluster       = "cluster"        // the NATS cluster's name
	ServerName    = "server_name"    // this NATS server's name in its cluster
	Routes        = "routes"         // the NATS cluster's route URLs
	ClusterListen = "cluster_listen" // the NATS cluster (route) listener
	ClientListen  = "client_listen"  // the NATS client listener
	Connected     = "connected"      // how many routes are connected
	Waited        = "waited"         // how long something has been waited for
)

// Cluster membership and concurrency shares.
const (
	Node    = "node"    // a lambada node's id
	Address = "address" // a node's API URL
	Silent  = "silent"  // how long a node has not been heard from
)

// Connections refused at accept (docs/security.md "Runtime API isolation").
const (
	Remote = "remote" // a connection's remote address
	UID    = "uid"    // the host uid owning a connection's peer socket (-1: unknown)
	Limit  = "limit"  // a limit that was reached
)
