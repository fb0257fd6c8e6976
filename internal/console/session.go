package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lambada-dev/lambada/internal/logkey"
)

// Cookie names (docs/console.md §2).
const (
	// SessionCookie holds the signed session.
	SessionCookie = "lambada_console"
	// SignInCookie pairs the sign-in form with its CSRF token.
	SignInCookie = "lambada_console_signin"
	// CSRFHeader carries the CSRF token of htmx and fetch requests; plain
	// forms send the field CSRFField instead.
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "csrf"
)

// maxFormBody bounds a state-changing form body, test events included:
// the largest synchronous payload plus room for the other fields.
const maxFormBody = 6<<20 + formLimit

// Session is a signed-in visitor. The cookie holds these fields and their
// HMAC; nothing of the secret.
type Session struct {
	AccessKeyID string    `json:"k"`
	ID          string    `json:"n"`
	Expires     time.Time `json:"e"`
}

func (c *Console) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, c.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// encodeSession is base64url(JSON) "." base64url(HMAC(JSON)).
func (c *Console) encodeSession(s Session) string {
	b, _ := json.Marshal(s)
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(c.mac("session", string(b)))
}

// decodeSession checks the cookie's signature, its expiry, that it was not
// signed out and that its access key still signs in.
func (c *Console) decodeSession(v string) (*Session, bool) {
	p, sig, ok := strings.Cut(v, ".")
	if !ok {
		return nil, false
	}
	b, err1 := base64.RawURLEncoding.DecodeString(p)
	got, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(got, c.mac("session", string(b))) {
		return nil, false
	}
	var s Session
	if json.Unmarshal(b, &s) != nil || s.ID == "" || !c.cfg.Now().Before(s.Expires) {
		return nil, false
	}
	c.mu.Lock()
	_, revoked := c.revoked[s.ID]
	c.mu.Unlock()
	if revoked {
		return nil, false
	}
	if _, _, ok := c.cfg.Creds.Lookup(s.AccessKeyID, ""); !ok {
		return nil, false // the server's key pair changed
	}
	return &s, true
}

// csrfToken is the session's CSRF token: an HMAC of its id, so a page can
// only know it by being served to the session.
func (c *Console) csrfToken(s *Session) string {
	return base64.RawURLEncoding.EncodeToString(c.mac("csrf", s.ID))
}

func (c *Console) validToken(want, got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

type sessionKey struct{}

// session guards h: without a valid session a page answers 303 to the
// sign-in page and the JSON API 401; a request that may change state
// (anything but GET and HEAD) without the session's CSRF token answers
// 403. A form's token is read from its body, which is then in r.PostForm.
func (c *Console) session(h func(w http.ResponseWriter, r *http.Request, s *Session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var s *Session
		if ck, err := r.Cookie(SessionCookie); err == nil {
			s, _ = c.decodeSession(ck.Value)
		}
		if s == nil {
			c.unauthenticated(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			want := c.csrfToken(s)
			if tok := r.Header.Get(CSRFHeader); tok != "" {
				if !c.validToken(want, tok) {
					c.forbidden(w, r)
					return
				}
			} else if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
				c.forbidden(w, r) // neither the header nor a form that could carry the field
				return
			} else {
				form, err := c.readForm(w, r, maxFormBody, true)
				if err != nil {
					http.Error(w, err.Error(), bodyStatus(err))
					return
				}
				if !c.validToken(want, form.Get(CSRFField)) {
					c.forbidden(w, r)
					return
				}
				r.PostForm, r.Form = form, form
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)), s)
	})
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, Prefix+"api/") }

func (c *Console) unauthenticated(w http.ResponseWriter, r *http.Request) {
	if isAPI(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Sign in first: no valid console session."})
		return
	}
	target := Prefix + "signin"
	if r.Method == http.MethodGet && r.URL.Path != Prefix {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", target) // htmx reloads the whole page
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (c *Console) forbidden(w http.ResponseWriter, r *http.Request) {
	if isAPI(r) {
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "Missing or wrong CSRF token."})
		return
	}
	http.Error(w, "Missing or wrong CSRF token.", http.StatusForbidden)
}

// signInData is the sign-in page's model.
type signInData struct {
	Token, Next, Error, AccessKeyID string
}

// signInPage shows the form. A fresh random cookie pairs with the form's
// token, so another site cannot sign a browser in (login CSRF).
func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	c.showSignIn(w, r, http.StatusOK, signInData{Next: safeNext(r.URL.Query().Get("next"))})
}

func (c *Console) showSignIn(w http.ResponseWriter, r *http.Request, status int, d signInData) {
	v := randomID()
	http.SetCookie(w, &http.Cookie{
		Name: SignInCookie, Value: v, Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: int(time.Hour / time.Second),
	})
	d.Token = base64.RawURLEncoding.EncodeToString(c.mac("signin", v))
	c.render(w, r, nil, "signin.html", "", status, d)
}

// safeNext keeps a redirect target inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return ""
	}
	return next
}

// signIn checks the key pair as the API's SigV4 verifier resolves it: the
// access key id must map to a long-term secret (function credentials
// carry a session token and never do), and the secret must match. The
// secret is compared and forgotten: the session holds only the key id.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	form, err := c.readForm(w, r, formLimit, false)
	if err != nil {
		http.Error(w, err.Error(), bodyStatus(err))
		return
	}
	ck, err := r.Cookie(SignInCookie)
	if err != nil || !c.validToken(base64.RawURLEncoding.EncodeToString(c.mac("signin", ck.Value)), form.Get(CSRFField)) {
		http.Error(w, "Missing or wrong CSRF token: reload the sign-in page.", http.StatusForbidden)
		return
	}
	akid, secret := strings.TrimSpace(form.Get("access_key_id")), form.Get("secret_access_key")
	next := safeNext(form.Get("next"))
	// Guessing is bounded server-wide: past the failure budget nothing is
	// checked until it refills (docs/console.md §2).
	if c.failures.Tokens() < 1 {
		w.Header().Set("Retry-After", "1")
		c.showSignIn(w, r, http.StatusTooManyRequests, signInData{Next: next, AccessKeyID: akid,
			Error: "Too many failed sign-ins: wait a moment and try again."})
		return
	}
	want, principal, ok := c.cfg.Creds.Lookup(akid, "")
	if !ok || strings.HasPrefix(principal, "function:") || subtle.ConstantTimeCompare([]byte(want), []byte(secret)) != 1 {
		c.failures.Allow()
		c.log.Warn("console: sign-in refused", logkey.Remote, r.RemoteAddr)
		c.showSignIn(w, r, http.StatusUnauthorized, signInData{Next: next, AccessKeyID: akid,
			Error: "The access key id or the secret access key is wrong."})
		return
	}
	s := Session{AccessKeyID: akid, ID: randomID(), Expires: c.cfg.Now().Add(c.cfg.SessionTTL).Truncate(time.Second)}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: c.encodeSession(s), Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, Expires: s.Expires, MaxAge: int(c.cfg.SessionTTL / time.Second),
	})
	http.SetCookie(w, &http.Cookie{Name: SignInCookie, Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	if next == "" {
		next = Prefix
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signOut ends the session here and now: its id is refused until it
// would have expired anyway.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request, s *Session) {
	now := c.cfg.Now()
	c.mu.Lock()
	for id, exp := range c.revoked {
		if !now.Before(exp) {
			delete(c.revoked, id)
		}
	}
	c.revoked[s.ID] = s.Expires
	c.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", Prefix+"signin")
	}
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}
