package server

import (
	"net"
	"strings"

	"github.com/lambada-dev/lambada/internal/api/sigv4"
	"github.com/lambada-dev/lambada/internal/fncreds"
	"github.com/lambada-dev/lambada/internal/registry"
	"github.com/lambada-dev/lambada/internal/sts"
)

// apiCredentials accepts the server's key pair and the credentials minted
// for functions. A function's credentials stop working when the function
// is deleted (a new function of the same name has a new generation).
type apiCredentials struct {
	static sigv4.StaticCredentials
	minter *fncreds.Minter
	reg    *registry.Registry
}

// Lookup implements sigv4.Credentials.
func (c apiCredentials) Lookup(accessKeyID, sessionToken string) (string, string, bool) {
	if sessionToken == "" {
		return c.static.Lookup(accessKeyID, "")
	}
	h, secret, ok := c.minter.Open(accessKeyID, sessionToken)
	if !ok {
		return "", "", false
	}
	f, ok := c.reg.Function(h.Function)
	if !ok || f.Created.UnixNano() != h.Generation {
		return "", "", false
	}
	return secret, "function:" + h.Function, true
}

// identify tells STS who a principal of apiCredentials is: the server's
// key pair is the IAM user "lambada"; a function's credentials are its
// execution role assumed in a session named after the function
// (docs/behaviour/tags-and-iac.md §4).
func (s *Server) identify(principal string) (sts.Identity, bool) {
	acct := s.cfg.AccountID
	name, ok := strings.CutPrefix(principal, "function:")
	if !ok {
		return sts.Identity{Account: acct, Arn: sts.UserArn(acct), UserID: sts.UniqueID("AIDA", principal)}, true
	}
	f, ok := s.reg.Function(name)
	if !ok {
		return sts.Identity{}, false
	}
	role := f.Latest.Role
	return sts.Identity{
		Account: acct,
		Arn:     sts.AssumedRoleArn(acct, role, name),
		UserID:  sts.UniqueID("AROA", role) + ":" + name,
	}, true
}

// callbackEnv is what an environment of function needs to call lambada
// back (docs/behaviour/recursion.md §6): the API endpoint as the function
// reaches it and credentials minted for the function — never the server's.
func (s *Server) callbackEnv(function string) map[string]string {
	env := map[string]string{"AWS_ENDPOINT_URL_LAMBDA": s.callbackURL(), "AWS_ENDPOINT_URL_STS": s.callbackURL()}
	if f, ok := s.reg.Function(function); ok {
		for k, v := range s.minter.Mint(function, f.Created.UnixNano()).Env() {
			env[k] = v
		}
	}
	return env
}

// callbackURL is the API URL with an unspecified listen address (0.0.0.0,
// ::) replaced by loopback, which is how a local function reaches it.
func (s *Server) callbackURL() string {
	host, port, err := net.SplitHostPort(s.Addr())
	if err != nil {
		return s.URL()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return "http://" + host + ":" + port
}
