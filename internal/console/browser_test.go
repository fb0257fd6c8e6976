package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/lambada-dev/lambada/internal/console/consoletest"
	"github.com/lambada-dev/lambada/internal/servertest"
)

// TestBrowserSignIn: a wrong secret is refused on the page; the right one
// opens the console, whose navigation lists every page; each page renders
// (screenshots at 1280×800, narrow and dark).
func TestBrowserSignIn(t *testing.T) {
	c := consoletest.Start(t, servertest.Options{})
	c.Run(c.SignInActions(c.Server.Creds.AccessKeyID, c.Server.Creds.SecretAccessKey+"x"))
	if got := c.Text("#signin-error"); !strings.Contains(got, "wrong") {
		t.Fatalf("sign-in error = %q", got)
	}
	c.Screenshot("signin-refused")
	c.SignIn()
	nav := c.Text(`nav[aria-label="Console pages"]`)
	for _, p := range []string{"Functions", "Logs", "Monitoring", "Async", "Cluster", "Settings"} {
		if !strings.Contains(nav, p) {
			t.Errorf("navigation %q lacks %s", nav, p)
		}
	}
	c.Screenshot("functions-empty")
	// The keyboard: the first Tab reaches the skip link, the next ones the
	// navigation in order.
	c.Run(chromedp.KeyEvent("\t"))
	if got := consoletest.Eval[string](c, `document.activeElement.textContent`); got != "Skip to content" {
		t.Errorf("first Tab focuses %q", got)
	}
	c.Run(chromedp.KeyEvent("\t"), chromedp.KeyEvent("\t"))
	if got := consoletest.Eval[string](c, `document.activeElement.textContent`); got != "Functions" {
		t.Errorf("third Tab focuses %q", got)
	}
	c.Open("/console/settings", "#protections")
	if got := c.Text("#isolation-mode"); got == "" {
		t.Error("settings: no isolation mode")
	}
	c.Screenshot("settings")
	c.Dark(true)
	c.Screenshot("settings-dark")
	c.Dark(false)
	c.Narrow()
	c.Open("/console/functions", "#functions")
	c.Screenshot("functions-narrow")
	c.Wide()
}
