// Package console is lambada's web console (docs/console.md): server-rendered
// html/template pages under /console/ on the API's address, with htmx for
// the interactive parts, every asset embedded in the binary. A visitor signs
// in with the server's access key pair once and then holds a signed session
// cookie; every state-changing request also carries a CSRF token. Pages
// call the server's own services (registry, invoke) directly: the Lambda
// API is not involved.
package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/lambada-dev/lambada/internal/api/sigv4"
	"github.com/lambada-dev/lambada/internal/async"
	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/frontdoor"
	"github.com/lambada-dev/lambada/internal/invoke"
	"github.com/lambada-dev/lambada/internal/logkey"
	"github.com/lambada-dev/lambada/internal/metricseries"
	"github.com/lambada-dev/lambada/internal/registry"
	"github.com/lambada-dev/lambada/internal/store"
)

// Prefix is where the console is served on the API's address.
const Prefix = "/console/"

// DefaultSessionTTL is how long a sign-in lasts.
const DefaultSessionTTL = 12 * time.Hour

// Failed sign-ins: a server-wide budget of signInBurst failures, refilled
// at signInRate per second (docs/console.md §2).
const (
	signInRate  = 1
	signInBurst = 10
)

// formLimit bounds a console request body that is not a test event
// (sign-in, sign-out, saved events' names).
const formLimit = 64 << 10

//go:embed assets
var assetFS embed.FS

//go:embed templates
var templateFS embed.FS

// Status is what the Settings page shows about the server.
type Status struct {
	Version, Region, Account, Storage string
	Replicas                          int
	Runtimes                          map[string]string
	Isolation                         Isolation
}

// Isolation is the sandbox's report: the mode, each protection and
// whether it is active, and why the missing ones are missing.
type Isolation struct {
	Mode    string
	Active  map[string]bool
	Missing map[string]string
	Cgroups string
}

// Config is what the console needs from the server.
type Config struct {
	// Creds resolves access keys as the API's SigV4 verifier does; only
	// long-term keys (no session token) can sign in.
	Creds    sigv4.Credentials
	Registry *registry.Registry
	Invoker  *invoke.Service
	// Async queues the test page's Event invocations.
	Async *async.Service
	// Events keeps the saved test events (its own bucket).
	Events store.KV
	// Door reads request bodies under the API's limits.
	Door *frontdoor.Door
	// FunctionURL renders the address of a function URL id.
	FunctionURL func(id string) string
	// Series is the server's last hour of metrics (the Functions table's
	// figures).
	Series *metricseries.Store
	// Status describes the server for the Settings page.
	Status func() Status
	// SessionTTL is how long a sign-in lasts; 0 = DefaultSessionTTL.
	SessionTTL time.Duration
	Logger     *slog.Logger
	Now        func() time.Time
	// Live feeds the live pages (live.go).
	Live Live
}

// Console serves /console/. Safe for concurrent use.
type Console struct {
	cfg   Config
	log   *slog.Logger
	key   []byte // signs session cookies and CSRF tokens; random per server
	mux   *http.ServeMux
	pages map[string]*template.Template
	nav   []Page

	failures *rate.Limiter // failed sign-ins

	mu      sync.Mutex
	revoked map[string]time.Time // signed-out session ids → their expiry

	// The live pages' long answers end with streamCtx (live.go).
	liveOnce   sync.Once
	streamCtx  context.Context
	streamStop context.CancelFunc
}

// New builds the console.
func New(cfg Config) (*Console, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.Door == nil {
		cfg.Door = frontdoor.New(frontdoor.Limits{})
	}
	c := &Console{cfg: cfg, log: cfg.Logger, key: make([]byte, 32), mux: http.NewServeMux(), revoked: map[string]time.Time{},
		failures: rate.NewLimiter(signInRate, signInBurst)}
	if _, err := rand.Read(c.key); err != nil {
		return nil, err
	}
	var err error
	if c.pages, err = parseTemplates(); err != nil {
		return nil, err
	}
	assets, _ := fs.Sub(assetFS, "assets")
	c.mux.Handle("GET "+Prefix+"assets/", http.StripPrefix(Prefix+"assets/", cacheAssets(http.FileServerFS(assets))))
	c.mux.HandleFunc("GET "+Prefix+"signin", c.signInPage)
	c.mux.HandleFunc("POST "+Prefix+"signin", c.signIn)
	c.mux.Handle("POST "+Prefix+"signout", c.session(c.signOut))
	c.mux.Handle("GET "+Prefix+"{$}", c.session(func(w http.ResponseWriter, r *http.Request, s *Session) {
		http.Redirect(w, r, Prefix+pages[0].Path, http.StatusSeeOther)
	}))
	c.nav = pages
	for _, p := range pages {
		p.mount(c, pageMux{c: c})
	}
	// Anything else is a 404, but only for a signed-in visitor: without a
	// session every path answers as the pages do (303 or 401).
	c.mux.Handle(Prefix, c.session(func(w http.ResponseWriter, r *http.Request, s *Session) {
		if isAPI(r) {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "No such console API."})
			return
		}
		c.render(w, r, s, "notfound.html", "", http.StatusNotFound, nil)
	}))
	return c, nil
}

// parseTemplates builds one template set per page file: the layout and
// the shared partials, then the page, which defines "title" and "content".
func parseTemplates() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimPrefix(f, "templates/")
		if name == "layout.html" {
			continue
		}
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if out[name], err = t.ParseFS(templateFS, f); err != nil {
			return nil, err
		}
	}
	return out, nil
}

var funcs = template.FuncMap{
	"since": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"ms": func(d time.Duration) string {
		if d <= 0 {
			return "–"
		}
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
	},
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}

// cacheAssets lets the browser keep the embedded assets for a while: they
// change only with the binary.
func cacheAssets(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// ServeHTTP serves everything under Prefix (and Prefix without its slash).
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Everything the pages load comes from this server (docs/console.md §3).
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	if r.URL.Path == strings.TrimSuffix(Prefix, "/") {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	c.mux.ServeHTTP(w, r)
}

// Page is one entry of the navigation (pages.go).
type Page struct {
	// Path is below Prefix, without a slash: "functions".
	Path, Title string
	// mount registers the page's routes.
	mount func(c *Console, m pageMux)
}

// pageMux registers a page's routes, each behind the session (and the CSRF
// check for methods that change state).
type pageMux struct{ c *Console }

// Handle serves pattern ("GET /console/functions/{name}") for signed-in
// visitors.
func (m pageMux) Handle(pattern string, h func(w http.ResponseWriter, r *http.Request, s *Session)) {
	m.c.mux.Handle(pattern, m.c.session(h))
}

// view is what every page template gets.
type view struct {
	Title  string
	Active string
	Nav    []Page
	Prefix string
	CSRF   string
	User   string
	Data   any
}

// render writes page (a file in templates/) with data inside the layout;
// an htmx request for a fragment (block) gets that template alone.
func (c *Console) render(w http.ResponseWriter, r *http.Request, s *Session, page, block string, status int, data any) {
	t, ok := c.pages[page]
	if !ok {
		c.fail(w, r, fmt.Errorf("console: no template %s", page))
		return
	}
	v := view{Active: strings.SplitN(strings.TrimPrefix(r.URL.Path, Prefix), "/", 2)[0], Nav: c.nav, Prefix: Prefix, Data: data}
	if s != nil {
		v.CSRF, v.User = c.csrfToken(s), s.AccessKeyID
	}
	name := "layout.html"
	if block != "" {
		name = block
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		c.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail answers an unexpected error: logged, and a plain 500 to the visitor.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	c.log.Error("console: request failed", logkey.Path, r.URL.Path, logkey.Err, err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// writeJSON answers the JSON API under /console/api/.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// readForm reads a form body through the front door (docs/security.md,
// "HTTP front door") and parses it: the console's bodies share the API's
// budget and deadlines.
func (c *Console) readForm(w http.ResponseWriter, r *http.Request, limit int64, invokes bool) (url.Values, error) {
	body, release, err := c.cfg.Door.Read(w, r, limit)
	defer release()
	if err != nil {
		return nil, err
	}
	c.cfg.Door.Answer(w, invokes, true)
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return nil, errBadForm
	}
	return url.ParseQuery(string(body))
}

var errBadForm = errors.New("the body must be application/x-www-form-urlencoded")

// bodyStatus maps a body read error to its status.
func bodyStatus(err error) int {
	switch {
	case errors.Is(err, frontdoor.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errBadForm):
		return http.StatusUnsupportedMediaType
	}
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return ae.Status
	}
	return http.StatusBadRequest
}
