// Package consoletest drives the web console (docs/console.md §4) in a real
// browser: it starts a lambada test server and a headless chromium through
// chromedp, signs in, saves screenshots of the pages under the test's
// temporary folder and records every request the browser makes, so a test
// can assert that no page reaches outside the server.
//
// A package's tests share one chromium (each test gets its own browser
// context: cookies do not leak between tests); the package's TestMain must
// call Main so the browser is closed at the end.
package consoletest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
)

// StepTimeout bounds one Run of browser actions (a loaded two-core machine
// is slow; nothing here should take long).
const StepTimeout = 30 * time.Second

// Viewport sizes the screenshots use.
const (
	Width, Height             = 1280, 800
	NarrowWidth, NarrowHeight = 390, 844
)

var shared struct {
	sync.Mutex
	main    bool
	alloc   context.Context
	browser context.Context
	cancel  func()
	err     error
}

// Main runs the package's tests with one shared browser and closes it
// afterwards; call it from TestMain.
func Main(m *testing.M) {
	shared.Lock()
	shared.main = true
	shared.Unlock()
	code := m.Run()
	shared.Lock()
	if shared.cancel != nil {
		shared.cancel()
	}
	shared.Unlock()
	os.Exit(code)
}

// Chromium finds the browser: $CHROMIUM, then chromium, chromium-browser,
// google-chrome on PATH; "" when there is none.
func Chromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// need skips the test when there is no chromium, but fails it under CI,
// where .ci/run installs one.
func need(t testing.TB) string {
	t.Helper()
	p := Chromium()
	if p == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("consoletest: no chromium on PATH, and CI=true: .ci/run installs it")
		}
		t.Skip("consoletest: no chromium on PATH (apt-get install chromium)")
	}
	return p
}

func allocOptions(path string) []chromedp.ExecAllocatorOption {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.WindowSize(Width, Height),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// No background requests of the browser's own (updates, safe
		// browsing …) in the network log.
		chromedp.Flag("disable-component-update", true),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // chromium refuses to run as root with its sandbox
	}
	return opts
}

// browser returns the shared browser (started on first use), or a private
// one closed at the test's end when the package has no Main.
func browser(t testing.TB, path string) context.Context {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if !shared.main {
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocOptions(path)...)
		b, cancel := chromedp.NewContext(alloc)
		t.Cleanup(func() { cancel(); cancelAlloc() })
		if err := chromedp.Do(b); err != nil {
			t.Fatalf("consoletest: starting chromium: %v", err)
		}
		return b
	}
	if shared.browser == nil && shared.err == nil {
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocOptions(path)...)
		var opts []chromedp.ContextOption
		if os.Getenv("CONSOLETEST_DEBUG") != "" {
			opts = append(opts, chromedp.WithDebugf(func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }))
		}
		b, cancel := chromedp.NewContext(alloc, opts...)
		shared.alloc, shared.browser, shared.cancel = alloc, b, func() { cancel(); cancelAlloc() }
		shared.err = chromedp.Do(b)
	}
	if shared.err != nil {
		t.Fatalf("consoletest: starting chromium: %v", shared.err)
	}
	return shared.browser
}

// Console is a signed-out browser tab on a running test server.
type Console struct {
	T      testing.TB
	Server *servertest.Server
	// Tab is the chromedp context of the tab; Run bounds each step.
	Tab context.Context
	// Shots is the folder of the screenshots: the test's temporary folder,
	// or a folder under $CONSOLETEST_SHOTS when that is set.
	Shots string

	mu       sync.Mutex
	requests []string
	shot     int
}

// Start boots a test server (opt as servertest.Start takes it) and opens a
// tab in a fresh browser context. At the test's end it fails the test if
// the browser requested anything outside the server.
func Start(t testing.TB, opt servertest.Options) *Console {
	t.Helper()
	path := need(t)
	srv := servertest.Start(t, opt)
	b := browser(t, path)
	c := &Console{T: t, Server: srv, Shots: shotsDir(t)}
	// The listener sees the tab's events from its first command on.
	tab, cancel := chromedp.NewContext(b, chromedp.WithNewBrowserContext(), chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			c.mu.Lock()
			c.requests = append(c.requests, e.Request.URL)
			c.mu.Unlock()
		}
	}))
	c.Tab = tab
	// The first action on a context opens its tab, which lives as long as
	// that action's context: it must be the tab's own, not a Run's with a
	// timeout.
	if err := chromedp.Do(tab); err != nil {
		cancel()
		t.Fatalf("consoletest: opening a tab: %v", err)
	}
	c.Run(chromedp.EmulateViewport(Width, Height))
	t.Cleanup(func() {
		cancel()
		c.AssertLocal()
	})
	return c
}

// URL is the server's address of path ("/console/functions").
func (c *Console) URL(path string) string { return c.Server.URL() + path }

// Run performs actions in the tab, failing the test on error or after
// StepTimeout.
func (c *Console) Run(actions ...chromedp.Action[chromedp.Void]) {
	c.T.Helper()
	ctx, cancel := context.WithTimeout(c.Tab, StepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		c.Screenshot("failure")
		c.T.Fatalf("consoletest: %v", err)
	}
}

// SignInActions fill and send the sign-in form; the page that answers is
// left loaded.
func (c *Console) SignInActions(accessKeyID, secret string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(c.URL("/console/")),
		chromedp.WaitVisible(chromedp.ID("akid")),
		chromedp.SetValue(chromedp.ID("akid"), accessKeyID),
		chromedp.SetValue(chromedp.ID("secret"), secret),
		chromedp.Submit(chromedp.ID("secret")),
	)
}

// SignIn signs in with the server's key pair and waits for the console's
// navigation.
func (c *Console) SignIn() {
	c.T.Helper()
	c.SignInAs(c.Server.Creds)
}

// SignInAs signs in with creds, which must work.
func (c *Console) SignInAs(creds server.Credentials) {
	c.T.Helper()
	c.Run(c.SignInActions(creds.AccessKeyID, creds.SecretAccessKey), chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Console pages"]`)))
}

// Open navigates to path and waits for sel to be visible.
func (c *Console) Open(path, sel string) {
	c.T.Helper()
	c.Run(chromedp.Navigate(c.URL(path)), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// Text is the text content of the first element matching sel, once visible.
func (c *Console) Text(sel string) string {
	c.T.Helper()
	c.Run(chromedp.WaitVisible(chromedp.CSS(sel)))
	return run(c, chromedp.Text(chromedp.CSS(sel)))
}

// run performs one action that returns a value, as Run does.
func run[T any](c *Console, a chromedp.Action[T]) T {
	c.T.Helper()
	ctx, cancel := context.WithTimeout(c.Tab, StepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		c.Screenshot("failure")
		c.T.Fatalf("consoletest: %v", err)
	}
	return v
}

// Eval evaluates a JavaScript expression in the page.
func Eval[T any](c *Console, expr string) T {
	c.T.Helper()
	return run(c, chromedp.Evaluate[T](expr))
}

// WaitText waits until the element sel's text contains want.
func (c *Console) WaitText(sel, want string) string {
	c.T.Helper()
	return run(c, chromedp.Poll[string](fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e && e.textContent.includes(%q) ? e.textContent : null })()`, sel, want),
		chromedp.WithPollingTimeout(StepTimeout-time.Second)))
}

// shotsDir is the test's temporary folder, or $CONSOLETEST_SHOTS/<test>
// when set, which outlives the test for a reviewer to look at.
func shotsDir(t testing.TB) string {
	root := os.Getenv("CONSOLETEST_SHOTS")
	if root == "" {
		return t.TempDir()
	}
	dir := filepath.Join(root, unsafeName.ReplaceAllString(t.Name(), "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// SetValue sets the value of the element sel once it exists, from the
// page's own JavaScript: chromedp's node queries can race a DOM that htmx
// just swapped ("No node with given id found").
func (c *Console) SetValue(sel, value string) {
	c.T.Helper()
	c.WaitFor(fmt.Sprintf(`document.querySelector(%s) !== null`, jsString(sel)))
	run(c, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).value = %s`, jsString(sel), jsString(value))))
}

// Click clicks the element sel once it exists (as SetValue, from the
// page: the element's own click(), which a keyboard's Enter also runs).
func (c *Console) Click(sel string) {
	c.T.Helper()
	c.WaitFor(fmt.Sprintf(`document.querySelector(%s) !== null`, jsString(sel)))
	run(c, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).click()`, jsString(sel))))
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// WaitFor waits until the JavaScript expression is true in the page.
func (c *Console) WaitFor(expr string) {
	c.T.Helper()
	run(c, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(StepTimeout-time.Second)))
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// Screenshot saves the whole page as a PNG under Shots and prints its path.
func (c *Console) Screenshot(name string) string {
	c.T.Helper()
	ctx, cancel := context.WithTimeout(c.Tab, StepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.T.Logf("consoletest: screenshot %s: %v", name, err)
		return ""
	}
	c.mu.Lock()
	c.shot++
	n := c.shot
	c.mu.Unlock()
	p := filepath.Join(c.Shots, fmt.Sprintf("%02d-%s.png", n, unsafeName.ReplaceAllString(name, "_")))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		c.T.Fatal(err)
	}
	c.T.Logf("screenshot: %s", p)
	return p
}

// Narrow switches the viewport to a phone's width (Wide switches back).
func (c *Console) Narrow() {
	c.T.Helper()
	c.Run(chromedp.EmulateViewport(NarrowWidth, NarrowHeight, chromedp.EmulateMobile))
}

// Wide is the default 1280×800 viewport.
func (c *Console) Wide() {
	c.T.Helper()
	c.Run(chromedp.EmulateViewport(Width, Height))
}

// Dark makes the page see prefers-color-scheme: dark (or light again).
func (c *Console) Dark(on bool) {
	c.T.Helper()
	scheme := "light"
	if on {
		scheme = "dark"
	}
	c.Run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	}))
}

// Requests lists every URL the browser requested so far.
func (c *Console) Requests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.requests...)
}

// AssertLocal fails the test if the browser requested anything but the
// server (data: URLs and about:blank aside).
func (c *Console) AssertLocal() {
	c.T.Helper()
	base := c.Server.URL() + "/"
	for _, u := range c.Requests() {
		if strings.HasPrefix(u, base) || strings.HasPrefix(u, "data:") || u == "about:blank" {
			continue
		}
		c.T.Errorf("consoletest: the browser requested %s, outside the server %s", u, base)
	}
}
