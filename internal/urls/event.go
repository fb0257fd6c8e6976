package urls

import (
	"encoding/base64"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is the payload format 2.0 event a function URL request becomes
// (docs/behaviour/function-urls.md §6). Member order follows AWS's.
type Event struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	RequestContext        RequestContext    `json:"requestContext"`
	Body                  string            `json:"body,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

// RequestContext is the event's requestContext.
type RequestContext struct {
	AccountID    string      `json:"accountId"`
	APIID        string      `json:"apiId"`
	Authorizer   *Authorizer `json:"authorizer,omitempty"`
	DomainName   string      `json:"domainName"`
	DomainPrefix string      `json:"domainPrefix"`
	HTTP         HTTPContext `json:"http"`
	RequestID    string      `json:"requestId"`
	RouteKey     string      `json:"routeKey"`
	Stage        string      `json:"stage"`
	Time         string      `json:"time"`
	TimeEpoch    int64       `json:"timeEpoch"`
}

// Authorizer carries the caller of an AWS_IAM URL.
type Authorizer struct {
	IAM *IAMAuthorizer `json:"iam"`
}

// IAMAuthorizer is requestContext.authorizer.iam.
type IAMAuthorizer struct {
	AccessKey       string  `json:"accessKey"`
	AccountID       string  `json:"accountId"`
	CallerID        string  `json:"callerId"`
	CognitoIdentity *string `json:"cognitoIdentity"`
	PrincipalOrgID  *string `json:"principalOrgId"`
	UserARN         string  `json:"userArn"`
	UserID          string  `json:"userId"`
}

// HTTPContext is requestContext.http.
type HTTPContext struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// clfLayout is requestContext.time (common log format, UTC).
const clfLayout = "02/Jan/2006:15:04:05 -0700"

// incoming is what the event is built from besides the request itself.
type incoming struct {
	id        string // the URL id
	rawPath   string // as sent, still percent-encoded; "/" at least
	domain    string // requestContext.domainName
	requestID string
	trace     string // the X-Amzn-Trace-Id the function is called with
	port      string // the server's port (x-forwarded-port)
	account   string // requestContext.accountId
	iam       *IAMAuthorizer
	now       time.Time
}

// newEvent maps a request and its body to the event.
func newEvent(r *http.Request, body []byte, in incoming) *Event {
	ev := &Event{
		Version: "2.0", RouteKey: "$default",
		RawPath: in.rawPath, RawQueryString: r.URL.RawQuery,
		Headers: map[string]string{},
		RequestContext: RequestContext{
			AccountID: in.account, APIID: in.id, DomainName: in.domain, DomainPrefix: in.id,
			HTTP: HTTPContext{
				Method: r.Method, Path: in.rawPath, Protocol: r.Proto,
				SourceIP: sourceIP(r), UserAgent: r.UserAgent(),
			},
			RequestID: in.requestID, RouteKey: "$default", Stage: "$default",
			Time: in.now.UTC().Format(clfLayout), TimeEpoch: in.now.UnixMilli(),
		},
	}
	if in.iam != nil {
		ev.RequestContext.Authorizer = &Authorizer{IAM: in.iam}
	}
	// Header names lower-cased, repeated headers joined with ","; the
	// cookies travel in their own member.
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			continue
		}
		v := strings.Join(r.Header[k], ",")
		if old, ok := ev.Headers[lk]; ok {
			v = old + "," + v
		}
		ev.Headers[lk] = v
	}
	ev.Headers["host"] = r.Host
	ev.Headers["x-amzn-trace-id"] = in.trace
	ev.Headers["x-forwarded-for"] = sourceIP(r)
	ev.Headers["x-forwarded-port"] = in.port
	ev.Headers["x-forwarded-proto"] = "http"
	for _, line := range r.Header.Values("Cookie") {
		for _, c := range strings.Split(line, ";") {
			if c = strings.TrimSpace(c); c != "" {
				ev.Cookies = append(ev.Cookies, c)
			}
		}
	}
	if r.URL.RawQuery != "" {
		ev.QueryStringParameters = queryParameters(r.URL.RawQuery)
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type")) && utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// queryParameters decodes a raw query; repeated keys are joined with ","
// in the order sent. A part that does not decode is kept as sent.
func queryParameters(raw string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, v = unescape(k), unescape(v)
		if old, ok := out[k]; ok {
			v = old + "," + v
		}
		out[k] = v
	}
	return out
}

func unescape(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// isText reports whether a body of this Content-Type travels as text:
// text/*, JSON, XML and JavaScript (with +json/+xml suffixes); everything
// else, a missing type included, is base64 (§6).
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	}
	switch {
	case mt == "":
		return false
	case strings.HasPrefix(mt, "text/"):
		return true
	case mt == "application/json", mt == "application/xml", mt == "application/javascript":
		return true
	case strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	return false
}

func sourceIP(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}
