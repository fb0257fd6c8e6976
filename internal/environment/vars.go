package environment

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lambada-dev/lambada/internal/function"
)

// Defaults of the process environment (docs/behaviour/runtime-api.md §5).
const (
	defaultPath       = "/usr/local/bin:/usr/bin/:/bin:/opt/bin"
	defaultLang       = "en_US.UTF-8"
	defaultRuntimeDir = "/var/runtime"
)

// reserved reports whether a function's own variable may not be set:
// lambada's own variables, and those that switch aws-lambda-go's protocol.
func reserved(k string) bool {
	return function.ReservedEnvironment[k] || slices.Contains(never, k)
}

// never are keys no source may set (docs/behaviour/runtime-api.md §5 "Never set").
var never = []string{"_LAMBDA_SERVER_PORT", "AWS_LAMBDA_MAX_CONCURRENCY", "_LAMBDA_TELEMETRY_LOG_FD"}

// optRoot is where layers appear in a box with its own root.
const optRoot = "/opt"

// optSearchPaths are the variables whose /opt entries lead runtimes to
// layers.
var optSearchPaths = []string{"PATH", "LD_LIBRARY_PATH", "NODE_PATH", "PYTHONPATH"}

// rebaseOpt replaces the /opt prefix of each entry of a colon-separated
// list with dir.
func rebaseOpt(list, dir string) string {
	parts := strings.Split(list, ":")
	for i, p := range parts {
		if p == optRoot || strings.HasPrefix(p, optRoot+"/") {
			parts[i] = dir + p[len(optRoot):]
		}
	}
	return strings.Join(parts, ":")
}

// LogStreamName returns YYYY/MM/DD/[<version>]<32 lower-case hex>: a new
// environment's log stream (docs/behaviour/logs.md §2).
func LogStreamName(now time.Time, version string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return now.UTC().Format("2006/01/02") + "/[" + version + "]" + hex.EncodeToString(b[:])
}

// buildEnv builds the runtime process environment from scratch: nothing of
// the server's own environment is inherited.
func buildEnv(s Spec, runtimeAPI, logStream string) []string {
	runtimeDir := s.RuntimeDir
	if runtimeDir == "" {
		runtimeDir = defaultRuntimeDir
	}
	logGroup := s.LogGroup
	if logGroup == "" {
		logGroup = "/aws/lambda/" + s.FunctionName
	}
	m := map[string]string{
		"LANG":            defaultLang,
		"PATH":            defaultPath,
		"LD_LIBRARY_PATH": "/lib64:/usr/lib64:" + runtimeDir + ":" + runtimeDir + "/lib:" + s.TaskRoot + ":" + s.TaskRoot + "/lib:/opt/lib",
	}
	if s.TmpDir != "" {
		m["TMPDIR"] = s.TmpDir
	}
	for k, v := range s.ExtraEnv {
		m[k] = v
	}
	for k, v := range s.Env {
		if !reserved(k) {
			m[k] = v
		}
	}
	// Reserved values last: they win over anything above.
	m["AWS_LAMBDA_RUNTIME_API"] = runtimeAPI
	m["_HANDLER"] = s.Handler
	m["AWS_LAMBDA_FUNCTION_NAME"] = s.FunctionName
	m["AWS_LAMBDA_FUNCTION_VERSION"] = s.Version
	m["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = itoa(s.MemoryMB)
	m["AWS_LAMBDA_LOG_GROUP_NAME"] = logGroup
	m["AWS_LAMBDA_LOG_STREAM_NAME"] = logStream
	if s.LogFormat == LogFormatJSON {
		m["AWS_LAMBDA_LOG_FORMAT"] = LogFormatJSON
		m["AWS_LAMBDA_LOG_LEVEL"] = s.AppLogLevel
	} else {
		delete(m, "AWS_LAMBDA_LOG_FORMAT")
		delete(m, "AWS_LAMBDA_LOG_LEVEL")
	}
	m["AWS_LAMBDA_INITIALIZATION_TYPE"] = "on-demand"
	m["AWS_REGION"] = s.Region
	m["AWS_DEFAULT_REGION"] = s.Region
	m["LAMBDA_TASK_ROOT"] = s.TaskRoot
	m["LAMBDA_RUNTIME_DIR"] = runtimeDir
	m["TZ"] = ":UTC"
	if s.Runtime != "" && !strings.HasPrefix(s.Runtime, "provided") {
		m["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + s.Runtime
	} else {
		delete(m, "AWS_EXECUTION_ENV")
	}
	if s.OptDir != "" && s.OptDir != optRoot {
		// No /opt of its own (no mount namespace): the search paths that
		// name /opt name the merged layers' folder instead (docs/behaviour/layers.md §6).
		for _, k := range optSearchPaths {
			if v, ok := m[k]; ok {
				m[k] = rebaseOpt(v, s.OptDir)
			}
		}
	}
	if id, ok := s.ExtraEnv["AWS_ACCESS_KEY_ID"]; ok {
		m["AWS_ACCESS_KEY"] = id
	}
	delete(m, "_X_AMZN_TRACE_ID")
	for _, k := range never {
		delete(m, k)
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// extensionLines are the lines an environment's log gets for the
// extensions its layers bring: lambada has no Extensions API and starts
// none (docs/behaviour/layers.md §6).
func extensionLines(optDir string) []string {
	if optDir == "" {
		return nil
	}
	entries, err := os.ReadDir(filepath.Join(optDir, "extensions"))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			out = append(out, "Extensions are not supported by this server: /opt/extensions/"+e.Name()+" not started.\n")
		}
	}
	return out
}

// initStartLine is the INIT_START record of an environment (only in the
// log store, not in the invocation's tail; docs/behaviour/logs.md §3).
func initStartLine(s Spec) string {
	if !s.systemRecords() {
		return ""
	}
	sum := sha256.Sum256([]byte(s.Runtime))
	rt := s.Runtime
	if i := strings.IndexAny(rt, "0123456789"); i > 0 && !strings.HasPrefix(rt, "provided") {
		rt = rt[:i] + ":" + rt[i:]
	} else if r, ok := strings.CutPrefix(rt, "provided."); ok {
		rt = "provided:" + r
	}
	arn := "arn:aws:lambda:" + s.Region + "::runtime:" + hex.EncodeToString(sum[:])
	if s.LogFormat == LogFormatJSON {
		return platformRecord("platform.initStart", map[string]any{
			"initializationType": "on-demand", "phase": "init", "runtimeVersion": rt + ".lambada", "runtimeVersionArn": arn,
			"functionName": s.FunctionName, "functionVersion": s.Version, "instanceId": s.LogStream,
			"instanceMaxMemory": int64(s.MemoryMB) << 20,
		})
	}
	return fmt.Sprintf("INIT_START Runtime Version: %s.lambada\tRuntime Version ARN: %s\n", rt, arn)
}

// initReportLine is the INIT_REPORT record of an init that failed.
func initReportLine(s Spec, d time.Duration, errorType string) string {
	if !s.systemRecords() {
		return ""
	}
	if s.LogFormat == LogFormatJSON {
		rec := map[string]any{"initializationType": "on-demand", "phase": "init", "status": "error", "errorType": errorType,
			"metrics": map[string]float64{"durationMs": ms(d)}}
		if errorType == "timeout" {
			rec["status"] = "timeout"
			delete(rec, "errorType")
		}
		return platformRecord("platform.initReport", rec)
	}
	status := "Status: error\tError Type: " + errorType
	if errorType == "timeout" {
		status = "Status: timeout"
	}
	return fmt.Sprintf("INIT_REPORT Init Duration: %.2f ms\tPhase: init\t%s\n", float64(d.Microseconds())/1000, status)
}
