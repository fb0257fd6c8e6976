package urls

import (
	"net"
	"strings"
)

// DefaultHost is the domain function URLs live under (--url-host): every
// <id>.lambda-url.<region>.localhost resolves to loopback in curl and
// browsers with no DNS setup (docs/behaviour/function-urls.md §11).
const DefaultHost = "localhost"

// PathPrefix starts the path-style address of a URL, for clients that
// cannot resolve wildcard names or set Host: /_lambda-url/<id>/<path>.
const PathPrefix = "/_lambda-url/"

// Address renders and recognises function URL addresses.
type Address struct {
	Region string
	Host   string // DefaultHost when ""
	Port   string // the API's port; "" omits it
}

func (a Address) host() string {
	if a.Host == "" {
		return DefaultHost
	}
	return a.Host
}

// Domain is the URL's host name without the port.
func (a Address) Domain(id string) string {
	return id + ".lambda-url." + a.Region + "." + a.host()
}

// URL is the FunctionUrl Create/Get return: usable with curl as printed.
func (a Address) URL(id string) string {
	h := a.Domain(id)
	if a.Port != "" {
		h = net.JoinHostPort(h, a.Port)
	}
	return "http://" + h + "/"
}

// idFromHost returns the URL id of a Host header
// "<id>.lambda-url.<anything>[:port]" (case-insensitive), or "".
func idFromHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	id, rest, ok := strings.Cut(host, ".")
	if !ok || id == "" {
		return ""
	}
	label, _, _ := strings.Cut(rest, ".")
	if !strings.EqualFold(label, "lambda-url") {
		return ""
	}
	return strings.ToLower(id)
}
