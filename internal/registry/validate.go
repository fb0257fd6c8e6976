package registry

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
)

var (
	reHandler   = regexp.MustCompile(`^[^\s]+$`)
	reEnvKey    = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9_])+$`)
	reTargetArn = regexp.MustCompile(`^(?:(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|())$`)
	reLogGroup  = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)
	reSQSorSNS  = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:(sqs|sns):[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$`)
)

const (
	patternHandler   = `[^\s]+`
	patternEnvKey    = `[a-zA-Z]([a-zA-Z0-9_])+`
	patternTargetArn = `(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()`
	patternLogGroup  = `[\.\-_/#A-Za-z0-9]+`
)

// checkModel records the service model's constraints on the configuration
// members (ValidationException material). Semantic checks come after, in
// applyConfig, so that every model violation is reported first as AWS does.
func checkModel(v *function.Violations, in *ConfigInput) {
	if in.Role != nil && !function.ValidRole(*in.Role) {
		v.Pattern("role", *in.Role, function.PatternRole)
	}
	if in.Handler != nil {
		v.MaxLen("handler", *in.Handler, function.MaxHandler)
		if *in.Handler != "" && !reHandler.MatchString(*in.Handler) {
			v.Pattern("handler", *in.Handler, patternHandler)
		}
	}
	if in.Description != nil {
		v.MaxLen("description", *in.Description, function.MaxDescription)
	}
	if in.Timeout != nil {
		v.Min("timeout", *in.Timeout, function.MinTimeout)
	}
	if in.MemorySize != nil {
		v.Min("memorySize", *in.MemorySize, function.MinMemory)
	}
	if in.EphemeralStorage != nil {
		if in.EphemeralStorage.Size == nil {
			v.NotNull("ephemeralStorage.size", false)
		} else {
			v.Max("ephemeralStorage.size", *in.EphemeralStorage.Size, function.MaxEphemeral)
			v.Min("ephemeralStorage.size", *in.EphemeralStorage.Size, function.MinEphemeral)
		}
	}
	if in.Environment != nil && len(in.Environment.Variables) > 0 {
		keys := sortedKeys(in.Environment.Variables)
		for _, k := range keys {
			if !reEnvKey.MatchString(k) {
				v.Add("environment.variables", quoteMap(in.Environment.Variables, keys),
					"Map keys must satisfy constraint: [Member must satisfy regular expression pattern: "+patternEnvKey+"]")
				break
			}
		}
	}
	if in.TracingConfig != nil && in.TracingConfig.Mode != nil {
		v.Enum("tracingConfig.mode", *in.TracingConfig.Mode, "Active", "PassThrough")
	}
	if lc := in.LoggingConfig; lc != nil {
		if lc.LogFormat != nil {
			v.Enum("loggingConfig.logFormat", *lc.LogFormat, "JSON", "Text")
		}
		if lc.ApplicationLogLevel != nil {
			v.Enum("loggingConfig.applicationLogLevel", *lc.ApplicationLogLevel, "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
		}
		if lc.SystemLogLevel != nil {
			v.Enum("loggingConfig.systemLogLevel", *lc.SystemLogLevel, "DEBUG", "INFO", "WARN")
		}
		if lc.LogGroup != nil {
			v.MaxLen("loggingConfig.logGroup", *lc.LogGroup, 512)
			v.MinLen("loggingConfig.logGroup", *lc.LogGroup, 1)
			if *lc.LogGroup != "" && !reLogGroup.MatchString(*lc.LogGroup) {
				v.Pattern("loggingConfig.logGroup", *lc.LogGroup, patternLogGroup)
			}
		}
	}
	if in.DeadLetterConfig != nil && in.DeadLetterConfig.TargetArn != nil &&
		!reTargetArn.MatchString(*in.DeadLetterConfig.TargetArn) {
		v.Pattern("deadLetterConfig.targetArn", *in.DeadLetterConfig.TargetArn, patternTargetArn)
	}
	checkLayersModel(v, in.Layers)
}

func checkArchitectures(v *function.Violations, archs *[]string) {
	if archs == nil {
		return
	}
	a := *archs
	value := "'[" + strings.Join(a, ", ") + "]'"
	if len(a) > 1 {
		v.Add("architectures", value, "Member must have length less than or equal to 1")
	}
	if len(a) < 1 {
		v.Add("architectures", value, "Member must have length greater than or equal to 1")
	}
	for _, x := range a {
		if x != "x86_64" && x != "arm64" {
			// A list element's violation wraps all its rules (docs/behaviour/api-common.md §5.3).
			v.Add("architectures", value, "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]")
			break
		}
	}
}

// checkArchitecture refuses an architecture this host cannot run.
func checkArchitecture(archs *[]string) (string, error) {
	host := function.HostArchitecture()
	if archs == nil {
		return host, nil
	}
	a := (*archs)[0]
	if a != host {
		return "", awserr.Newf(awserr.InvalidParameterValue,
			"Architecture %s is not supported by this server (host architecture: %s).", a, host)
	}
	return a, nil
}

func notSupported(member string) error {
	return awserr.Newf(awserr.InvalidParameterValue, "%s is not supported by this server.", member)
}

// LevelWithTextMessage refuses a log level for a Text-format function.
const LevelWithTextMessage = `LogLevel is not supported when LogFormat is set to "Text". Remove LogLevel from your request or change the LogFormat to "JSON" and try again.`

// applyConfig checks the semantic rules of in and writes the given members
// into c. c holds the current configuration (or the defaults on create).
func applyConfig(c *function.Config, in *ConfigInput) error {
	if vc := in.VpcConfig; vc != nil && (len(vc.SubnetIds) > 0 || len(vc.SecurityGroupIds) > 0 ||
		(vc.Ipv6AllowedForDualStack != nil && *vc.Ipv6AllowedForDualStack)) {
		return notSupported("VpcConfig")
	}
	if len(in.FileSystemConfigs) > 0 {
		return notSupported("FileSystemConfigs")
	}
	if in.KMSKeyArn != nil && *in.KMSKeyArn != "" {
		return notSupported("KMSKeyArn")
	}
	if ic := in.ImageConfig; ic != nil && (len(ic.EntryPoint) > 0 || len(ic.Command) > 0 ||
		(ic.WorkingDirectory != nil && *ic.WorkingDirectory != "")) {
		return notSupported("ImageConfig")
	}
	if in.SnapStart != nil && in.SnapStart.ApplyOn != nil && *in.SnapStart.ApplyOn != "None" {
		return notSupported("SnapStart")
	}
	if len(in.CapacityProviderConf) > 0 {
		return notSupported("CapacityProviderConfig")
	}
	if len(in.DurableConfig) > 0 {
		return notSupported("DurableConfig")
	}
	if in.Timeout != nil {
		if *in.Timeout > function.MaxTimeout {
			return valueError("timeout", strconv.FormatInt(*in.Timeout, 10),
				"Member must have value less than or equal to "+strconv.Itoa(function.MaxTimeout))
		}
		c.Timeout = int(*in.Timeout)
	}
	if in.MemorySize != nil {
		if *in.MemorySize > function.MaxMemory {
			return valueError("memorySize", strconv.FormatInt(*in.MemorySize, 10),
				"Member must have value less than or equal to "+strconv.Itoa(function.MaxMemory))
		}
		c.MemorySize = int(*in.MemorySize)
	}
	if in.Runtime != nil {
		if err := function.CheckRuntime(*in.Runtime); err != nil {
			return err
		}
		c.Runtime = *in.Runtime
	}
	if in.Role != nil {
		c.Role = *in.Role
	}
	if in.Handler != nil {
		c.Handler = *in.Handler
	}
	if in.Description != nil {
		c.Description = *in.Description
	}
	if in.EphemeralStorage != nil {
		c.EphemeralStorage = int(*in.EphemeralStorage.Size)
	}
	if in.TracingConfig != nil && in.TracingConfig.Mode != nil {
		c.TracingMode = *in.TracingConfig.Mode
	}
	if lc := in.LoggingConfig; lc != nil {
		// Partial: members not given keep their value; levels exist only
		// with JSON (docs/behaviour/logs.md §3).
		format := c.LogFormat
		if lc.LogFormat != nil {
			format = *lc.LogFormat
		}
		if format != "JSON" {
			if lc.ApplicationLogLevel != nil || lc.SystemLogLevel != nil {
				return awserr.New(awserr.InvalidParameterValue, LevelWithTextMessage)
			}
			c.LogFormat, c.AppLogLevel, c.SystemLogLevel = "", "", ""
		} else {
			c.LogFormat = "JSON"
			if lc.ApplicationLogLevel != nil {
				c.AppLogLevel = *lc.ApplicationLogLevel
			}
			if lc.SystemLogLevel != nil {
				c.SystemLogLevel = *lc.SystemLogLevel
			}
			if c.AppLogLevel == "" {
				c.AppLogLevel = "INFO"
			}
			if c.SystemLogLevel == "" {
				c.SystemLogLevel = "INFO"
			}
		}
		if lc.LogGroup != nil {
			c.LogGroup = *lc.LogGroup
		}
	}
	if dl := in.DeadLetterConfig; dl != nil && dl.TargetArn != nil {
		t := *dl.TargetArn
		if t != "" && !reSQSorSNS.MatchString(t) {
			return awserr.Newf(awserr.InvalidParameterValue,
				"The provided target ARN %s is not a valid SQS queue or SNS topic ARN.", t)
		}
		c.DeadLetterTarget = t
	}
	if in.Environment != nil {
		if err := checkEnvironment(in.Environment.Variables); err != nil {
			return err
		}
		c.Environment = nil
		if len(in.Environment.Variables) > 0 {
			c.Environment = in.Environment.Variables
		}
	}
	if c.Runtime == "" {
		return awserr.New(awserr.InvalidParameterValue,
			"Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	if c.Handler == "" && function.RuntimeFamily(c.Runtime) != "provided" {
		return awserr.New(awserr.InvalidParameterValue,
			"Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	return nil
}

func checkEnvironment(vars map[string]string) error {
	keys := sortedKeys(vars)
	var reserved []string
	for _, k := range keys {
		if function.ReservedEnvironment[k] {
			reserved = append(reserved, k)
		}
	}
	if len(reserved) > 0 {
		return awserr.New(awserr.InvalidParameterValue,
			"Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: "+strings.Join(reserved, ", "))
	}
	text, _ := json.Marshal(vars)
	if len(text) > function.MaxEnvironmentBytes {
		return awserr.New(awserr.InvalidParameterValue,
			"Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: "+string(text))
	}
	return nil
}

// valueError is the validation-style text AWS sends inside an
// InvalidParameterValueException for a few semantic bounds.
func valueError(path, value, rule string) error {
	return awserr.Newf(awserr.InvalidParameterValue,
		"1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, path, rule)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// quoteMap prints a map as AWS's Java service does: '{k=v, k2=v2}'.
func quoteMap(m map[string]string, keys []string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%s", k, m[k])
	}
	return "'{" + strings.Join(parts, ", ") + "}'"
}
