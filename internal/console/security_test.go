package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lambada-dev/lambada/internal/console"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// visitor is a browser without JavaScript: a cookie jar, no redirects
// followed.
type visitor struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newVisitor(t *testing.T, s *servertest.Server) *visitor {
	jar, _ := cookiejar.New(nil)
	return &visitor{t: t, base: s.URL(), c: &http.Client{
		Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (v *visitor) do(method, path string, form url.Values, header http.Header) (*http.Response, string) {
	v.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, v.base+path, body)
	if err != nil {
		v.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := v.c.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)"`)

// signIn posts the sign-in form as a browser would, after loading it.
func (v *visitor) signIn(akid, secret string) *http.Response {
	v.t.Helper()
	_, page := v.do("GET", "/console/signin", nil, nil)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		v.t.Fatalf("no CSRF field on the sign-in page:\n%s", page)
	}
	resp, _ := v.do("POST", "/console/signin", url.Values{"csrf": {m[1]}, "access_key_id": {akid}, "secret_access_key": {secret}}, nil)
	return resp
}

// token is the CSRF token of a signed-in page.
func (v *visitor) token() string {
	v.t.Helper()
	_, page := v.do("GET", "/console/settings", nil, nil)
	m := csrfMeta.FindStringSubmatch(page)
	if m == nil {
		v.t.Fatalf("no CSRF meta on a page:\n%s", page)
	}
	return m[1]
}

// TestSecurity: the console's guards, without a browser (docs/console.md §2).
func TestSecurity(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	creds := s.Creds

	t.Run("no session", func(t *testing.T) {
		v := newVisitor(t, s)
		for _, p := range []string{"/console/", "/console/functions", "/console/settings", "/console/logs", "/console/nowhere"} {
			resp, _ := v.do("GET", p, nil, nil)
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/signin") {
				t.Errorf("GET %s: %d Location %q, want 303 to the sign-in page", p, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		resp, _ := v.do("GET", "/console", nil, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
			t.Errorf("GET /console: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		for _, p := range []string{"/console/api/functions", "/console/api/nothing"} {
			resp, body := v.do("GET", p, nil, nil)
			var msg map[string]string
			if resp.StatusCode != http.StatusUnauthorized || json.Unmarshal([]byte(body), &msg) != nil || msg["message"] == "" {
				t.Errorf("GET %s: %d %s, want 401 with a JSON message", p, resp.StatusCode, body)
			}
		}
		// A forged cookie is no session either.
		v.c.Jar.SetCookies(mustURL(t, s.URL()+"/console/"), []*http.Cookie{{Name: console.SessionCookie, Value: "eyJrIjoiTEtJQSJ9.AAAA"}})
		if resp, _ := v.do("GET", "/console/functions", nil, nil); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("forged cookie: %d", resp.StatusCode)
		}
	})

	t.Run("sign-in and cookie flags", func(t *testing.T) {
		v := newVisitor(t, s)
		if resp := v.signIn(creds.AccessKeyID, "wrong"+creds.SecretAccessKey); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("wrong secret: %d, want 401", resp.StatusCode)
		}
		if resp := v.signIn("LKIAUNKNOWN", creds.SecretAccessKey); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("unknown key: %d, want 401", resp.StatusCode)
		}
		// The sign-in form is CSRF-protected too.
		resp, _ := v.do("POST", "/console/signin", url.Values{"access_key_id": {creds.AccessKeyID}, "secret_access_key": {creds.SecretAccessKey}}, nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("sign-in without its token: %d, want 403", resp.StatusCode)
		}
		resp = v.signIn(creds.AccessKeyID, creds.SecretAccessKey)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", resp.StatusCode)
		}
		var set string
		for _, h := range resp.Header.Values("Set-Cookie") {
			if strings.HasPrefix(h, console.SessionCookie+"=") {
				set = h
			}
		}
		for _, flag := range []string{"HttpOnly", "SameSite=Strict", "Path=/console/", "Max-Age=43200", "Expires="} {
			if !strings.Contains(set, flag) {
				t.Errorf("session cookie %q lacks %s", set, flag)
			}
		}
		if strings.Contains(set, creds.SecretAccessKey) || strings.Contains(set, url.QueryEscape(creds.SecretAccessKey)) {
			t.Error("the session cookie holds the secret")
		}
		_, page := v.do("GET", "/console/settings", nil, nil)
		if strings.Contains(page, creds.SecretAccessKey) {
			t.Error("a page shows the secret")
		}
		if resp, _ := v.do("GET", "/console/api/functions", nil, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("API with a session: %d", resp.StatusCode)
		}
	})

	t.Run("csrf", func(t *testing.T) {
		v := newVisitor(t, s)
		v.signIn(creds.AccessKeyID, creds.SecretAccessKey)
		tok := v.token()
		if resp, _ := v.do("POST", "/console/signout", url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("sign-out without a token: %d, want 403", resp.StatusCode)
		}
		if resp, _ := v.do("POST", "/console/signout", url.Values{"csrf": {tok + "x"}}, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("sign-out with a wrong token: %d, want 403", resp.StatusCode)
		}
		if resp, _ := v.do("POST", "/console/signout", nil, http.Header{console.CSRFHeader: {"nope"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("sign-out with a wrong header: %d, want 403", resp.StatusCode)
		}
		if resp, _ := v.do("POST", "/console/api/functions", nil, http.Header{"Content-Type": {"application/json"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("API POST without a token: %d, want 403", resp.StatusCode)
		}
		// Still signed in: none of those did anything.
		if resp, _ := v.do("GET", "/console/functions", nil, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("after refused sign-outs: %d", resp.StatusCode)
		}
		// The cookie of the session, kept to replay after sign-out.
		old := v.c.Jar.Cookies(mustURL(t, s.URL()+"/console/"))
		if resp, _ := v.do("POST", "/console/signout", nil, http.Header{console.CSRFHeader: {tok}}); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("sign-out: %d", resp.StatusCode)
		}
		if resp, _ := v.do("GET", "/console/functions", nil, nil); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("after sign-out: %d, want 303", resp.StatusCode)
		}
		v.c.Jar.SetCookies(mustURL(t, s.URL()+"/console/"), old)
		if resp, _ := v.do("GET", "/console/functions", nil, nil); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("replayed cookie after sign-out: %d, want 303", resp.StatusCode)
		}
	})

	t.Run("function credentials cannot sign in", func(t *testing.T) {
		ctx := context.Background()
		if _, err := s.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String("creds"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Runtime: types.RuntimeProvidedal2023,
			Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: servertest.GoFunction(t, "echo")},
		}); err != nil {
			t.Fatal(err)
		}
		inv, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("creds"), Payload: []byte(`{"op":"env"}`)})
		if err != nil || inv.FunctionError != nil {
			t.Fatalf("%v %s", err, inv.Payload)
		}
		var env map[string]string
		if err := json.Unmarshal(inv.Payload, &env); err != nil {
			t.Fatal(err)
		}
		akid, secret := env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
		if !strings.HasPrefix(akid, "ASIA") || secret == "" || env["AWS_SESSION_TOKEN"] == "" {
			t.Fatalf("the function's credentials: %q %q", akid, env["AWS_SESSION_TOKEN"])
		}
		// They do work with the API…
		fc := servertest.NewClient(s.URL(), creds)
		fc = lambda.New(fc.Options(), func(o *lambda.Options) {
			o.Credentials = aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: env["AWS_SESSION_TOKEN"]}, nil
			}))
		})
		if _, err := fc.ListFunctions(ctx, &lambda.ListFunctionsInput{}); err != nil {
			t.Fatalf("the function's credentials with the API: %v", err)
		}
		// …but not with the console.
		v := newVisitor(t, s)
		if resp := v.signIn(akid, secret); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("function credentials: %d, want 401", resp.StatusCode)
		}
		if resp, _ := v.do("GET", "/console/functions", nil, nil); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("after a refused sign-in: %d", resp.StatusCode)
		}
	})

	t.Run("front door", func(t *testing.T) {
		// Console bodies are read through the API's front door: bounded,
		// with the connection closed after an oversized one.
		v := newVisitor(t, s)
		resp, _ := v.do("POST", "/console/signin", url.Values{"access_key_id": {strings.Repeat("A", 100<<10)}}, nil)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("a 100 KiB sign-in: %d, want 413", resp.StatusCode)
		}
	})

	t.Run("headers", func(t *testing.T) {
		v := newVisitor(t, s)
		resp, _ := v.do("GET", "/console/signin", nil, nil)
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("CSP %q", csp)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("headers %v", resp.Header)
		}
	})

	// Last: it spends the server's budget of failed sign-ins.
	t.Run("failed sign-ins are bounded", func(t *testing.T) {
		v := newVisitor(t, s)
		refused := 0
		for i := 0; refused == 0 && i < 200; i++ {
			switch resp := v.signIn(creds.AccessKeyID, "guess"); resp.StatusCode {
			case http.StatusUnauthorized:
			case http.StatusTooManyRequests:
				refused++
			default:
				t.Fatalf("a guess: %d", resp.StatusCode)
			}
		}
		if refused == 0 {
			t.Fatal("200 wrong secrets in a row were all checked")
		}
		// The budget refills: the right secret gets in again soon.
		waitfor.True(t, 10*time.Second, "the right secret to sign in again", func() bool {
			return v.signIn(creds.AccessKeyID, creds.SecretAccessKey).StatusCode == http.StatusSeeOther
		})
	})
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
