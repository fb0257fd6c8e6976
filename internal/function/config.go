package function

import (
	"runtime"
	"slices"
	"time"
)

// Service limits (docs/behaviour/api-common.md §8).
const (
	MaxSyncPayload        = 6_291_456
	MaxEventPayload       = 1_048_576
	MaxInvokeAsyncPayload = 262_144
	MaxCodeRequestBody    = 70_167_211
	MaxEnvironmentBytes   = 4096
	MaxClientContext      = 3583

	DefaultTimeout       = 3
	MinTimeout           = 1
	MaxTimeout           = 900
	DefaultMemory        = 128
	MinMemory            = 128
	MaxMemory            = 10_240
	DefaultEphemeral     = 512
	MinEphemeral         = 512
	MaxEphemeral         = 10_240
	MaxDescription       = 256
	MaxHandler           = 128
	MaxListPage          = 50
	MaxListItems         = 10_000
	MinUnreservedAccount = 100
	DefaultAccountLimit  = 1000
)

// HostArchitecture is the Lambda name of the machine's architecture.
func HostArchitecture() string {
	if runtime.GOARCH == "arm64" {
		return "arm64"
	}
	return "x86_64"
}

// Config is one version's immutable snapshot of code and configuration
// ($LATEST is the one mutable version). It is what the registry stores and
// the invoke path reads; the api renders it as FunctionConfiguration.
type Config struct {
	Name             string            `json:"name"`
	Version          string            `json:"version"`
	Runtime          string            `json:"runtime"`
	Role             string            `json:"role"`
	Handler          string            `json:"handler,omitempty"`
	Description      string            `json:"description,omitempty"`
	Timeout          int               `json:"timeout"`
	MemorySize       int               `json:"memorySize"`
	EphemeralStorage int               `json:"ephemeralStorage"`
	Architecture     string            `json:"architecture"`
	Environment      map[string]string `json:"environment,omitempty"`
	TracingMode      string            `json:"tracingMode"`
	LogGroup         string            `json:"logGroup,omitempty"`
	// LogFormat is "JSON" or "" (Text); the levels are set only with JSON
	// (docs/behaviour/logs.md §3).
	LogFormat        string `json:"logFormat,omitempty"`
	AppLogLevel      string `json:"appLogLevel,omitempty"`
	SystemLogLevel   string `json:"systemLogLevel,omitempty"`
	DeadLetterTarget string `json:"deadLetterTarget,omitempty"`

	// CodeSha256 is base64 of the zip's SHA-256 (what clients see); CodeHex
	// is the same digest in hex, the blob's name in the store.
	CodeSha256 string `json:"codeSha256"`
	CodeHex    string `json:"codeHex"`
	CodeSize   int64  `json:"codeSize"`
	// CodeDir, when set, is a host folder that is the code itself (hot
	// reload, docs/behaviour/dev-loop.md §1); CodeHex is then empty.
	CodeDir string `json:"codeDir,omitempty"`
	// UnzippedSize is the unpacked size of the code, for the limit on code
	// and layers together (0 in documents written before it was kept).
	UnzippedSize int64 `json:"unzippedSize,omitempty"`

	// Layers are the layer versions the function runs with, in order
	// (docs/behaviour/layers.md §5). A version keeps them even after
	// DeleteLayerVersion: each reference carries the zip's digest.
	Layers []LayerRef `json:"layers,omitempty"`

	LastModified time.Time `json:"lastModified"`
	RevisionID   string    `json:"revisionId"`
}

// LayerRef is one layer version a function uses.
type LayerRef struct {
	Arn          string `json:"arn"`
	CodeHex      string `json:"codeHex"`
	CodeSize     int64  `json:"codeSize"`
	UnzippedSize int64  `json:"unzippedSize"`
	// CodeDir is the layer version's host folder (hot reload); CodeHex
	// is "" then.
	CodeDir string `json:"codeDir,omitempty"`
}

// Folders lists the host folders c runs from: its code's (hot reload)
// and its layers', in order, without repeats.
func (c *Config) Folders() []string {
	var out []string
	add := func(d string) {
		if d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	add(c.CodeDir)
	for _, l := range c.Layers {
		add(l.CodeDir)
	}
	return out
}

// LayerHexes lists the zips of c's layers in order.
func (c *Config) LayerHexes() []string {
	out := make([]string, len(c.Layers))
	for i, l := range c.Layers {
		out[i] = l.CodeHex
	}
	return out
}

// SameContent reports whether two snapshots have the same code and
// configuration, ignoring identity, time, description and revision: what
// PublishVersion compares to decide whether a new version is due.
func (c *Config) SameContent(o *Config) bool {
	if c.Runtime != o.Runtime || c.Role != o.Role || c.Handler != o.Handler ||
		c.Timeout != o.Timeout || c.MemorySize != o.MemorySize ||
		c.EphemeralStorage != o.EphemeralStorage || c.Architecture != o.Architecture ||
		c.TracingMode != o.TracingMode || c.LogGroup != o.LogGroup ||
		c.LogFormat != o.LogFormat || c.AppLogLevel != o.AppLogLevel || c.SystemLogLevel != o.SystemLogLevel ||
		c.DeadLetterTarget != o.DeadLetterTarget || c.CodeHex != o.CodeHex || c.CodeDir != o.CodeDir ||
		len(c.Environment) != len(o.Environment) || len(c.Layers) != len(o.Layers) {
		return false
	}
	for i := range c.Layers {
		if c.Layers[i].Arn != o.Layers[i].Arn {
			return false
		}
	}
	for k, v := range c.Environment {
		if ov, ok := o.Environment[k]; !ok || ov != v {
			return false
		}
	}
	return true
}

// LogGroupName is the function's CloudWatch-style log group.
func (c *Config) LogGroupName() string {
	if c.LogGroup != "" {
		return c.LogGroup
	}
	return "/aws/lambda/" + c.Name
}

// Alias points a name at a version, optionally with one weighted extra.
type Alias struct {
	Name            string             `json:"name"`
	FunctionVersion string             `json:"functionVersion"`
	Description     string             `json:"description,omitempty"`
	Weights         map[string]float64 `json:"weights,omitempty"`
	RevisionID      string             `json:"revisionId"`
}

// References reports whether the alias routes to version v.
func (a *Alias) References(v string) bool {
	if a.FunctionVersion == v {
		return true
	}
	_, ok := a.Weights[v]
	return ok
}

// Function is everything lambada keeps about one function: its $LATEST,
// its published versions, aliases and function-wide settings. It is stored
// as one document so every change is a single compare-and-set.
type Function struct {
	Name        string            `json:"name"`
	Latest      Config            `json:"latest"`
	Versions    []Config          `json:"versions,omitempty"` // ascending
	LastVersion int               `json:"lastVersion"`        // numbers are never reused
	Aliases     map[string]*Alias `json:"aliases,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// ReservedConcurrency is nil when none is set.
	ReservedConcurrency *int      `json:"reservedConcurrency,omitempty"`
	Created             time.Time `json:"created"`
	// EventInvokeConfigs holds the async settings by qualifier: "$LATEST",
	// a version number or an alias name.
	EventInvokeConfigs map[string]*EventInvokeConfig `json:"eventInvokeConfigs,omitempty"`
	// RecursiveLoop is "Allow" or "Terminate"; "" means Terminate
	// (PutFunctionRecursionConfig).
	RecursiveLoop string `json:"recursiveLoop,omitempty"`
	// URLConfigs holds the function URLs by qualifier: "$LATEST" for the
	// unqualified function, or an alias name.
	URLConfigs map[string]*URLConfig `json:"urlConfigs,omitempty"`
	// Policies holds the resource-based policies by qualifier: "$LATEST"
	// (the unqualified function), a version number or an alias name.
	Policies map[string]*Policy `json:"policies,omitempty"`
}

// Version returns the snapshot for "$LATEST" or a version number.
func (f *Function) Version(v string) (*Config, bool) {
	if v == Latest {
		return &f.Latest, true
	}
	for i := range f.Versions {
		if f.Versions[i].Version == v {
			return &f.Versions[i], true
		}
	}
	return nil, false
}

// LatestPublished returns the newest published version, if any.
func (f *Function) LatestPublished() (*Config, bool) {
	if len(f.Versions) == 0 {
		return nil, false
	}
	return &f.Versions[len(f.Versions)-1], true
}

// EventInvokeConfig is the asynchronous-invocation setting of one
// qualifier ($LATEST, a version or an alias). Nil members are unset: the
// defaults apply at run time and are never echoed.
type EventInvokeConfig struct {
	MaximumRetryAttempts     *int      `json:"maximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int      `json:"maximumEventAgeInSeconds,omitempty"`
	OnSuccess                string    `json:"onSuccess,omitempty"`
	OnFailure                string    `json:"onFailure,omitempty"`
	LastModified             time.Time `json:"lastModified"`
}

// Async defaults (docs/behaviour/async.md §2).
const (
	DefaultMaximumRetryAttempts     = 2
	DefaultMaximumEventAgeInSeconds = 21_600
)

// Retries is the effective MaximumRetryAttempts of c (nil-safe).
func (c *EventInvokeConfig) Retries() int {
	if c == nil || c.MaximumRetryAttempts == nil {
		return DefaultMaximumRetryAttempts
	}
	return *c.MaximumRetryAttempts
}

// MaxAge is the effective MaximumEventAgeInSeconds of c (nil-safe).
func (c *EventInvokeConfig) MaxAge() time.Duration {
	if c == nil || c.MaximumEventAgeInSeconds == nil {
		return DefaultMaximumEventAgeInSeconds * time.Second
	}
	return time.Duration(*c.MaximumEventAgeInSeconds) * time.Second
}

// ReservedEnvironment are the variables lambada sets in every environment
// itself (docs/behaviour/runtime-api.md §5, column "reserved"): a function's
// own Environment may not set them.
var ReservedEnvironment = map[string]bool{
	"AWS_LAMBDA_RUNTIME_API": true, "_HANDLER": true, "AWS_LAMBDA_FUNCTION_NAME": true,
	"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_LOG_GROUP_NAME": true, "AWS_LAMBDA_LOG_STREAM_NAME": true,
	"AWS_LAMBDA_INITIALIZATION_TYPE": true, "AWS_REGION": true, "AWS_DEFAULT_REGION": true,
	"AWS_EXECUTION_ENV": true, "AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true,
	"AWS_SESSION_TOKEN": true, "AWS_ACCESS_KEY": true, "LAMBDA_TASK_ROOT": true,
	"LAMBDA_RUNTIME_DIR": true, "TZ": true, "_X_AMZN_TRACE_ID": true,
}
