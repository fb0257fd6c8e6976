package function

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Layer limits and patterns (docs/behaviour/layers.md §2, §3, §5).
const (
	MaxLayers             = 5
	MaxLayerNameLen       = 140
	MaxLayerVersionArnLen = 2048
	MaxLicenseInfo        = 512
	MaxLayerListPage      = 50
	MaxCompatibleRuntimes = 15
	MaxUnzippedTotal      = 262_144_000

	PatternLayerName       = `(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+`
	PatternLayerVersionArn = `(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)`
)

var (
	reLayerName       = whole(PatternLayerName)
	reLayerVersionArn = whole(PatternLayerVersionArn)
	reLayerArnParts   = regexp.MustCompile(`^arn:(?:aws[a-zA-Z-]*)?:lambda:((?:eusc-)?[a-z]{2}(?:(?:-gov)|(?:-iso(?:[a-z]?)))?-[a-z]+-\d{1}):(\d{12}):layer:([a-zA-Z0-9-_]+)(?::([0-9]+))?$`)
)

// ValidLayerName reports whether s matches the LayerName shape (a name or
// a layer ARN).
func ValidLayerName(s string) bool { return reLayerName.MatchString(s) }

// ValidLayerVersionArn reports whether s matches the LayerVersionArn shape.
func ValidLayerVersionArn(s string) bool { return reLayerVersionArn.MatchString(s) }

// LayerARN is a layer's ARN; with version > 0 the version's.
func LayerARN(region, account, name string, version int64) string {
	a := "arn:aws:lambda:" + region + ":" + account + ":layer:" + name
	if version > 0 {
		a += ":" + strconv.FormatInt(version, 10)
	}
	return a
}

// LayerRefParts splits a layer or layer version ARN; ok is false for any
// other form (a bare name, the historical awslayer form).
func LayerRefParts(arn string) (region, account, name string, version int64, ok bool) {
	m := reLayerArnParts.FindStringSubmatch(arn)
	if m == nil {
		return "", "", "", 0, false
	}
	if m[4] != "" {
		v, err := strconv.ParseInt(m[4], 10, 64)
		if err != nil {
			return "", "", "", 0, false
		}
		version = v
	}
	return m[1], m[2], m[3], version, true
}

// LayerNameOf returns the layer name of a LayerName value (a name or a
// layer ARN).
func LayerNameOf(s string) string {
	if strings.HasPrefix(s, "arn:") {
		return s[strings.LastIndex(s, ":")+1:]
	}
	return s
}

// Layer is one layer: its versions (ascending) and the version counter,
// which survives deleting every version (numbers are never reused).
type Layer struct {
	Name        string         `json:"name"`
	LastVersion int64          `json:"lastVersion"`
	Versions    []LayerVersion `json:"versions,omitempty"`
}

// Version returns version n of l.
func (l *Layer) Version(n int64) (*LayerVersion, bool) {
	for i := range l.Versions {
		if l.Versions[i].Version == n {
			return &l.Versions[i], true
		}
	}
	return nil, false
}

// LayerVersion is one published version of a layer.
type LayerVersion struct {
	Version     int64  `json:"version"`
	Description string `json:"description,omitempty"`
	LicenseInfo string `json:"licenseInfo,omitempty"`
	// CompatibleRuntimes and CompatibleArchitectures are nil when not
	// given and empty when given empty (both are echoed differently).
	CompatibleRuntimes      []string  `json:"compatibleRuntimes"`
	CompatibleArchitectures []string  `json:"compatibleArchitectures"`
	CodeHex                 string    `json:"codeHex"`
	CodeSha256              string    `json:"codeSha256"`
	CodeSize                int64     `json:"codeSize"`
	UnzippedSize            int64     `json:"unzippedSize"`
	Created                 time.Time `json:"created"`
	// CodeDir, when set, is a host folder that is the layer's content
	// itself (hot reload, docs/behaviour/dev-loop.md §1); CodeHex is "".
	CodeDir string `json:"codeDir,omitempty"`
	// Policy is the version's permission statements; PolicyRevision
	// changes with every add or remove.
	Policy         []LayerStatement `json:"policy,omitempty"`
	PolicyRevision string           `json:"policyRevision,omitempty"`
}

// LayerStatement is one AddLayerVersionPermission grant.
type LayerStatement struct {
	Sid            string `json:"sid"`
	Action         string `json:"action"`
	Principal      string `json:"principal"`
	OrganizationID string `json:"organizationId,omitempty"`
}
