package urls

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/lambada-dev/lambada/internal/function"
)

// CORS as lambada applies a URL's Cors config
// (docs/behaviour/function-urls.md §9): only for requests with an Origin,
// preflights answered without invoking the function, configured headers
// replacing the function's own.

// isPreflight: OPTIONS with Origin and Access-Control-Request-Method.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// allowOrigin is the Access-Control-Allow-Origin value for origin, or ""
// when the config does not allow it.
func allowOrigin(c *function.Cors, origin string) string {
	if c == nil || origin == "" {
		return ""
	}
	wildcard := false
	for _, o := range c.AllowOrigins {
		if o == "*" {
			wildcard = true
		} else if strings.EqualFold(o, origin) {
			return origin
		}
	}
	if !wildcard {
		return ""
	}
	if c.AllowCredentials != nil && *c.AllowCredentials {
		return origin // never "*" with credentials
	}
	return "*"
}

// preflight writes the answer to a preflight request.
func preflight(h http.Header, c *function.Cors, origin string) {
	ao := allowOrigin(c, origin)
	if ao == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", ao)
	if len(c.AllowMethods) > 0 {
		h.Set("Access-Control-Allow-Methods", strings.Join(c.AllowMethods, ","))
	}
	if len(c.AllowHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ","))
	}
	if c.MaxAge != nil && *c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(*c.MaxAge))
	}
	if c.AllowCredentials != nil && *c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if ao != "*" {
		h.Add("Vary", "Origin")
	}
}

// corsHeaders adds the CORS headers of an actual (non-preflight) answer,
// replacing same-named ones the function set.
func corsHeaders(h http.Header, c *function.Cors, origin string) {
	ao := allowOrigin(c, origin)
	if ao == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", ao)
	if len(c.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ","))
	}
	if c.AllowCredentials != nil && *c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if ao != "*" {
		h.Add("Vary", "Origin")
	}
}
