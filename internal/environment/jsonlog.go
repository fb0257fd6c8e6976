package environment

import (
	"encoding/json"
	"time"
)

// Log formats and levels of Spec (docs/behaviour/logs.md §3).
const (
	LogFormatJSON = "JSON"
)

// levelRank orders log levels; 0 is unknown.
func levelRank(l string) int {
	switch l {
	case "TRACE":
		return 1
	case "DEBUG":
		return 2
	case "INFO":
		return 3
	case "WARN", "WARNING":
		return 4
	case "ERROR":
		return 5
	case "FATAL", "CRITICAL":
		return 6
	}
	return 0
}

func (e *Env) jsonFormat() bool { return e.spec.LogFormat == LogFormatJSON }

// systemRecords says whether platform records are written: JSON with
// SystemLogLevel WARN has none (its only WARN records are not produced).
func (s Spec) systemRecords() bool {
	return s.LogFormat != LogFormatJSON || levelRank(s.SystemLogLevel) <= levelRank("INFO")
}

// platformRecord renders one JSON platform record and its newline.
func platformRecord(typ string, record any) string {
	b, _ := json.Marshal(struct {
		Time   string `json:"time"`
		Type   string `json:"type"`
		Record any    `json:"record"`
	}{time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), typ, record})
	return string(b) + "\n"
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// appLevelDrops says whether a line of a runtime without its own level
// filter is below ApplicationLogLevel: a JSON line's "level", INFO for
// anything else.
func (s Spec) appLevelDrops(line []byte) bool {
	min := levelRank(s.AppLogLevel)
	if min <= levelRank("INFO") && (len(line) == 0 || line[0] != '{') {
		return false
	}
	lvl := levelRank("INFO")
	if len(line) > 0 && line[0] == '{' {
		var v struct {
			Level string `json:"level"`
		}
		if json.Unmarshal(line, &v) == nil && levelRank(v.Level) > 0 {
			lvl = levelRank(v.Level)
		}
	}
	return lvl < min
}
