package api

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/lambada-dev/lambada/internal/function"
)

// lastModifiedLayout is FunctionConfiguration.LastModified's string form.
const lastModifiedLayout = "2006-01-02T15:04:05.000-0700"

type wireEnvironment struct {
	Variables map[string]string `json:"Variables"`
}

type wireFunctionConfiguration struct {
	FunctionName         string               `json:"FunctionName"`
	FunctionArn          string               `json:"FunctionArn"`
	Runtime              string               `json:"Runtime,omitempty"`
	Role                 string               `json:"Role"`
	Handler              string               `json:"Handler,omitempty"`
	CodeSize             int64                `json:"CodeSize"`
	CodeSha256           string               `json:"CodeSha256"`
	Description          string               `json:"Description"`
	Timeout              int                  `json:"Timeout"`
	MemorySize           int                  `json:"MemorySize"`
	LastModified         string               `json:"LastModified"`
	Version              string               `json:"Version"`
	RevisionID           string               `json:"RevisionId"`
	State                string               `json:"State"`
	StateReason          string               `json:"StateReason,omitempty"`
	StateReasonCode      string               `json:"StateReasonCode,omitempty"`
	LastUpdateStatus     string               `json:"LastUpdateStatus"`
	PackageType          string               `json:"PackageType"`
	Architectures        []string             `json:"Architectures"`
	EphemeralStorage     wireEphemeralStorage `json:"EphemeralStorage"`
	TracingConfig        wireTracingConfig    `json:"TracingConfig"`
	LoggingConfig        wireLoggingConfig    `json:"LoggingConfig"`
	SnapStart            wireSnapStart        `json:"SnapStart"`
	RuntimeVersionConfig wireRuntimeVersion   `json:"RuntimeVersionConfig"`
	Environment          *wireEnvironment     `json:"Environment,omitempty"`
	DeadLetterConfig     *wireDeadLetter      `json:"DeadLetterConfig,omitempty"`
	Layers               []wireLayerRef       `json:"Layers,omitempty"`
}

// wireLayerRef is FunctionConfiguration.Layers' item.
type wireLayerRef struct {
	Arn      string `json:"Arn"`
	CodeSize int64  `json:"CodeSize"`
}

// Small members as structs, not maps: they encode several times faster,
// and GetFunction is the hottest management read.
type (
	wireEphemeralStorage struct {
		Size int `json:"Size"`
	}
	wireTracingConfig struct {
		Mode string `json:"Mode"`
	}
	wireLoggingConfig struct {
		ApplicationLogLevel string `json:"ApplicationLogLevel,omitempty"`
		LogFormat           string `json:"LogFormat"`
		LogGroup            string `json:"LogGroup"`
		SystemLogLevel      string `json:"SystemLogLevel,omitempty"`
	}
	wireSnapStart struct {
		ApplyOn            string `json:"ApplyOn"`
		OptimizationStatus string `json:"OptimizationStatus"`
	}
	wireRuntimeVersion struct {
		RuntimeVersionArn string `json:"RuntimeVersionArn"`
	}
	wireDeadLetter struct {
		TargetArn string `json:"TargetArn"`
	}
)

// configuration renders c as FunctionConfiguration with the ARN qualified
// by qualifier ("" = unqualified).
func (h *Handler) configuration(c *function.Config, qualifier string) *wireFunctionConfiguration {
	w := &wireFunctionConfiguration{
		FunctionName:     c.Name,
		FunctionArn:      function.ARN(h.cfg.Region, h.cfg.AccountID, c.Name, qualifier),
		Runtime:          c.Runtime,
		Role:             c.Role,
		Handler:          c.Handler,
		CodeSize:         c.CodeSize,
		CodeSha256:       c.CodeSha256,
		Description:      c.Description,
		Timeout:          c.Timeout,
		MemorySize:       c.MemorySize,
		LastModified:     c.LastModified.UTC().Format(lastModifiedLayout),
		Version:          c.Version,
		RevisionID:       c.RevisionID,
		State:            "Active",
		LastUpdateStatus: "Successful",
		PackageType:      "Zip",
		Architectures:    []string{c.Architecture},
		EphemeralStorage: wireEphemeralStorage{Size: c.EphemeralStorage},
		TracingConfig:    wireTracingConfig{Mode: c.TracingMode},
		LoggingConfig:    loggingConfig(c),
		SnapStart:        wireSnapStart{ApplyOn: "None", OptimizationStatus: "Off"},
		RuntimeVersionConfig: wireRuntimeVersion{
			RuntimeVersionArn: "arn:aws:lambda:" + h.cfg.Region + "::runtime:" + runtimeVersionHash(c.Runtime),
		},
	}
	if len(c.Environment) > 0 {
		w.Environment = &wireEnvironment{Variables: c.Environment}
	}
	if c.DeadLetterTarget != "" {
		w.DeadLetterConfig = &wireDeadLetter{TargetArn: c.DeadLetterTarget}
	}
	for _, l := range c.Layers {
		w.Layers = append(w.Layers, wireLayerRef{Arn: l.Arn, CodeSize: l.CodeSize})
	}
	return w
}

// runtimeVersionHash is a stable 64-hex id per runtime identifier.
func runtimeVersionHash(rt string) string {
	s := sha256.Sum256([]byte("lambada-runtime:" + rt))
	return hex.EncodeToString(s[:])
}

type wireAlias struct {
	AliasArn        string             `json:"AliasArn"`
	Name            string             `json:"Name"`
	FunctionVersion string             `json:"FunctionVersion"`
	Description     string             `json:"Description"`
	RevisionID      string             `json:"RevisionId"`
	RoutingConfig   *wireRoutingConfig `json:"RoutingConfig,omitempty"`
}

type wireRoutingConfig struct {
	AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights"`
}

func (h *Handler) alias(name string, a *function.Alias) *wireAlias {
	w := &wireAlias{
		AliasArn:        function.ARN(h.cfg.Region, h.cfg.AccountID, name, a.Name),
		Name:            a.Name,
		FunctionVersion: a.FunctionVersion,
		Description:     a.Description,
		RevisionID:      a.RevisionID,
	}
	if len(a.Weights) > 0 {
		w.RoutingConfig = &wireRoutingConfig{AdditionalVersionWeights: a.Weights}
	}
	return w
}

func epochSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// loggingConfig is what Get* answer for c's LoggingConfig: the levels only
// with JSON.
func loggingConfig(c *function.Config) wireLoggingConfig {
	if c.LogFormat == "JSON" {
		return wireLoggingConfig{LogFormat: "JSON", LogGroup: c.LogGroupName(), ApplicationLogLevel: c.AppLogLevel, SystemLogLevel: c.SystemLogLevel}
	}
	return wireLoggingConfig{LogFormat: "Text", LogGroup: c.LogGroupName()}
}
