package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go/encoding/httpbinding"
)

// The fast path: the canonical request of the common request shape (no
// query string or one already canonical — such as ?Qualifier=prod —,
// signed headers sorted and present once, no runs of spaces in their
// values) hashed as it is written, and the signing key derived
// once per secret and day, without building an http.Request for the SDK's
// signer. It only ever says "match": a request it cannot take, or whose
// signature it does not reproduce, goes to the SDK's signer
// (signatureMatches), which decides. A fast-path bug can therefore refuse
// nothing; fast_test.go checks that it agrees with the SDK's signer.

// keyCacheMax bounds the derived keys kept (one per secret and day).
const keyCacheMax = 64

type keyID struct{ secret, date string }

// signingKey is one derived key with a pool of HMACs keyed by it.
type signingKey struct {
	macs sync.Pool // hash.Hash: HMAC-SHA256 with the key
}

// scratch is the per-request state of the fast path.
type scratch struct {
	h   hash.Hash // SHA-256 of the canonical request
	buf []byte
}

var scratchPool = sync.Pool{New: func() any { return &scratch{h: sha256.New(), buf: make([]byte, 0, 512)} }}

// signingKeyFor returns the key of secret for date (yyyymmdd), derived on
// first use (docs/behaviour/api-common.md §7.3).
func (v *Verifier) signingKeyFor(secret, date string) *signingKey {
	id := keyID{secret, date}
	v.keysMu.Lock()
	k, ok := v.keys[id]
	v.keysMu.Unlock()
	if ok {
		return k
	}
	key := hmacSHA256([]byte("AWS4"+secret), date)
	key = hmacSHA256(key, v.Region)
	key = hmacSHA256(key, v.service())
	key = hmacSHA256(key, terminator)
	k = &signingKey{}
	k.macs.New = func() any { return hmac.New(sha256.New, key) }
	v.keysMu.Lock()
	if v.keys == nil || len(v.keys) >= keyCacheMax {
		v.keys = map[keyID]*signingKey{}
	}
	if old, ok := v.keys[id]; ok {
		k = old
	} else {
		v.keys[id] = k
	}
	v.keysMu.Unlock()
	return k
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// fastMatch reports whether the fast path reproduces the request's
// signature. false means "not decided here".
func (v *Verifier) fastMatch(r *http.Request, payloadHash string, auth authorization, secret, token string, signingTime time.Time) bool {
	rawPath, rawQuery := requestTarget(r)
	if !canonicalQuery(rawQuery) || strings.IndexByte(r.Host, ' ') >= 0 || len(auth.signature) != 2*sha256.Size {
		return false
	}
	// The signer's set of signed headers: host and x-amz-date always,
	// x-amz-security-token with a token, content-length when positive.
	// The client's list must be exactly that set plus its other headers,
	// sorted: the signer sorts what it signs.
	var hasHost, hasDate, hasToken bool
	for i, name := range auth.signedHeaders {
		if i > 0 && auth.signedHeaders[i-1] >= name {
			return false
		}
		switch name {
		case "host":
			hasHost = true
		case "x-amz-date":
			hasDate = true
		case "x-amz-security-token":
			hasToken = true
		case "content-length":
			vals := r.Header.Values(name)
			if len(vals) != 1 || vals[0] == "0" || !canonicalInt(vals[0]) {
				return false
			}
		}
	}
	if !hasHost || !hasDate || hasToken != (token != "") {
		return false
	}

	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	b := s.buf[:0]
	b = append(b, r.Method...)
	b = append(b, '\n')
	if plainPath(rawPath) {
		b = append(b, rawPath...)
	} else {
		b = append(b, httpbinding.EscapePath(rawPath, false)...)
	}
	b = append(b, '\n')
	b = append(b, rawQuery...) // canonical as sent
	b = append(b, '\n')
	for _, name := range auth.signedHeaders {
		b = append(b, name...)
		b = append(b, ':')
		switch name {
		case "host":
			b = append(b, r.Host...)
		case "x-amz-date":
			b = signingTime.AppendFormat(b, TimeFormat)
		case "x-amz-security-token":
			b = append(b, strings.TrimSpace(token)...)
		default:
			vals, ok := headerValues(r.Header, name)
			if !ok {
				s.buf = b
				return false
			}
			for j, val := range vals {
				if strings.Contains(val, "  ") {
					s.buf = b
					return false // the signer collapses runs of spaces: its call
				}
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, strings.TrimSpace(val)...)
			}
		}
		b = append(b, '\n')
	}
	b = append(b, '\n')
	for i, name := range auth.signedHeaders {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, name...)
	}
	b = append(b, '\n')
	b = append(b, payloadHash...)

	s.h.Reset()
	s.h.Write(b)
	var sum [sha256.Size]byte
	s.h.Sum(sum[:0])

	// The string to sign, in the same buffer.
	b = append(b[:0], Algorithm...)
	b = append(b, '\n')
	b = signingTime.AppendFormat(b, TimeFormat)
	b = append(b, '\n')
	b = append(b, auth.date...)
	b = append(b, '/')
	b = append(b, v.Region...)
	b = append(b, '/')
	b = append(b, v.service()...)
	b = append(b, '/')
	b = append(b, terminator...)
	b = append(b, '\n')
	b = hex.AppendEncode(b, sum[:])

	k := v.signingKeyFor(secret, auth.date)
	mac := k.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write(b)
	var sig [sha256.Size]byte
	mac.Sum(sig[:0])
	k.macs.Put(mac)
	s.buf = b[:0]

	var want [2 * sha256.Size]byte
	hex.Encode(want[:], sig[:])
	// Constant time over the whole signature.
	var diff byte
	for i := range want {
		diff |= want[i] ^ auth.signature[i]
	}
	return diff == 0
}

// headerValues returns the values of the lower-case name, whatever the
// case of the key it arrived under; false when absent.
func headerValues(h http.Header, name string) ([]string, bool) {
	if vals, ok := h[http.CanonicalHeaderKey(name)]; ok {
		// Another key of the same name in another case (possible for
		// keys net/http does not canonicalise) is left to the signer.
		return vals, true
	}
	return nil, false
}

// canonicalQuery reports whether the raw query is its own canonical form
// as the SDK's signer builds it (pairs sorted by name, then value, each
// name=value percent-encoded): empty, or pairs of unreserved characters
// joined by '&', each with its '=', already in that order.
func canonicalQuery(q string) bool {
	var prevName, prevValue string
	for i := 0; q != ""; i++ {
		pair, rest, _ := strings.Cut(q, "&")
		name, value, ok := strings.Cut(pair, "=")
		if !ok || name == "" || !unreserved(name) || !unreserved(value) {
			return false
		}
		if i > 0 && (name < prevName || name == prevName && value < prevValue) {
			return false
		}
		prevName, prevValue = name, value
		if rest == "" && len(pair) < len(q) {
			return false // a trailing '&': an empty pair the signer drops
		}
		q = rest
	}
	return true
}

// unreserved reports whether s holds only characters SigV4 leaves
// unescaped (RFC 3986's unreserved set).
func unreserved(s string) bool {
	for i := 0; i < len(s); i++ {
		if !unreservedByte(s[i]) {
			return false
		}
	}
	return true
}

func unreservedByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

// plainPath reports whether escaping would leave p unchanged.
func plainPath(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] != '/' && !unreservedByte(p[i]) {
			return false
		}
	}
	return true
}

// canonicalInt reports whether s is a decimal integer without sign or
// leading zeros.
func canonicalInt(s string) bool {
	if s == "" || len(s) > 18 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
