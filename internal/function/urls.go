package function

import (
	"encoding/json"
	"time"
)

// Function URL settings (docs/behaviour/function-urls.md §3).
const (
	AuthNone   = "NONE"
	AuthIAM    = "AWS_IAM"
	ModeBuffer = "BUFFERED"
	ModeStream = "RESPONSE_STREAM"
)

// URLConfig is one function URL: of the unqualified function ($LATEST) or
// of one alias. The id is random, kept across updates and never reused.
type URLConfig struct {
	ID       string `json:"id"`
	AuthType string `json:"authType"`
	Cors     *Cors  `json:"cors,omitempty"`
	// InvokeMode is "" until set explicitly (reads then say BUFFERED).
	InvokeMode string    `json:"invokeMode,omitempty"`
	Created    time.Time `json:"created"`
	Modified   time.Time `json:"modified"`
}

// Mode is the effective invoke mode.
func (u *URLConfig) Mode() string {
	if u.InvokeMode == "" {
		return ModeBuffer
	}
	return u.InvokeMode
}

// Cors is a URL's CORS configuration with AWS's member names; members
// absent on input stay absent.
type Cors struct {
	AllowCredentials *bool    `json:"AllowCredentials,omitempty"`
	AllowHeaders     []string `json:"AllowHeaders,omitempty"`
	AllowMethods     []string `json:"AllowMethods,omitempty"`
	AllowOrigins     []string `json:"AllowOrigins,omitempty"`
	ExposeHeaders    []string `json:"ExposeHeaders,omitempty"`
	MaxAge           *int     `json:"MaxAge,omitempty"`
}

// Policy is the resource-based policy of one qualifier: its statements as
// rendered by AddPermission, in the order they were added.
type Policy struct {
	Statements []json.RawMessage `json:"statements"`
}
