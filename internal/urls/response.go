package urls

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// reply is an HTTP answer built from a function's result.
type reply struct {
	status  int
	headers [][2]string // in order; names as the function wrote them
	cookies []string
	body    []byte
}

var errBadResponse = errors.New("the function's response is not a valid function URL response")

// mapResult turns a buffered result payload into the HTTP answer
// (docs/behaviour/function-urls.md §7): an object with statusCode is the
// response format, anything else is inferred as a 200 JSON answer.
func mapResult(payload []byte) (reply, error) {
	// A streaming handler behind a BUFFERED URL: its whole body, prelude
	// included, arrives at once (JSON never holds a raw NUL byte).
	if i := bytes.Index(payload, delimiter); i > 0 && payload[0] == '{' {
		return framedResult(payload[:i], payload[i+len(delimiter):])
	}
	trimmed := bytes.TrimSpace(payload)
	// Most objects are plain results: look for the member before paying
	// for a decode.
	if len(trimmed) > 0 && trimmed[0] == '{' && bytes.Contains(trimmed, []byte(`"statusCode"`)) {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &obj); err == nil {
			if sc, ok := obj["statusCode"]; ok {
				return responseFormat(obj, sc)
			}
		}
	}
	return inferred(trimmed)
}

func inferred(payload []byte) (reply, error) {
	rp := reply{status: 200, headers: [][2]string{{"Content-Type", "application/json"}}}
	if len(payload) == 0 {
		return rp, nil
	}
	if payload[0] == '"' {
		var s string
		if err := json.Unmarshal(payload, &s); err != nil {
			return reply{}, errBadResponse
		}
		rp.body = []byte(s)
		return rp, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, payload); err != nil {
		return reply{}, errBadResponse
	}
	rp.body = b.Bytes()
	return rp, nil
}

func responseFormat(obj map[string]json.RawMessage, sc json.RawMessage) (reply, error) {
	var rp reply
	status, err := statusCode(sc)
	if err != nil {
		return reply{}, err
	}
	rp.status = status
	if raw, ok := obj["headers"]; ok && !isNull(raw) {
		var hs map[string]json.RawMessage
		if err := json.Unmarshal(raw, &hs); err != nil {
			return reply{}, errBadResponse
		}
		for _, k := range sortedKeys(hs) {
			if !validHeaderName(k) {
				return reply{}, errBadResponse
			}
			rp.headers = append(rp.headers, [2]string{k, scalar(hs[k])})
		}
	}
	if !hasHeader(rp.headers, "Content-Type") {
		rp.headers = append(rp.headers, [2]string{"Content-Type", "application/json"})
	}
	if raw, ok := obj["cookies"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &rp.cookies); err != nil {
			return reply{}, errBadResponse
		}
	}
	var b64 bool
	if raw, ok := obj["isBase64Encoded"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &b64); err != nil {
			return reply{}, errBadResponse
		}
	}
	if raw, ok := obj["body"]; ok && !isNull(raw) {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			rp.body = []byte(s)
		} else {
			// A non-string body is sent as its JSON text.
			var c bytes.Buffer
			if err := json.Compact(&c, raw); err != nil {
				return reply{}, errBadResponse
			}
			rp.body = c.Bytes()
		}
		if b64 {
			d, err := base64.StdEncoding.DecodeString(string(rp.body))
			if err != nil {
				return reply{}, errBadResponse
			}
			rp.body = d
		}
	}
	return rp, nil
}

// statusCode reads statusCode: a number or a numeric string, 100–599.
func statusCode(raw json.RawMessage) (int, error) {
	var n json.Number
	s := string(bytes.TrimSpace(raw))
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, errBadResponse
		}
	}
	n = json.Number(s)
	v, err := n.Int64()
	if err != nil {
		f, ferr := n.Float64()
		if ferr != nil || f != float64(int64(f)) {
			return 0, errBadResponse
		}
		v = int64(f)
	}
	if v < 100 || v > 599 {
		return 0, errBadResponse
	}
	return int(v), nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// scalar renders a header value: a string as is, anything else as its
// JSON text.
func scalar(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

func hasHeader(hs [][2]string, name string) bool {
	for _, h := range hs {
		if strings.EqualFold(h[0], name) {
			return true
		}
	}
	return false
}

// validHeaderName: an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// itoa is strconv.Itoa (kept short for header code).
func itoa(n int) string { return strconv.Itoa(n) }

// framedResult is a buffered HTTP-integration body: prelude, then body.
func framedResult(prelude, body []byte) (reply, error) {
	var p preludeDoc
	if err := json.Unmarshal(prelude, &p); err != nil {
		return reply{}, errBadResponse
	}
	rp := reply{status: 200, cookies: p.Cookies, body: body}
	if len(p.StatusCode) > 0 && !isNull(p.StatusCode) {
		n, err := statusCode(p.StatusCode)
		if err != nil {
			return reply{}, err
		}
		rp.status = n
	}
	for _, k := range sortedKeys(p.Headers) {
		if !validHeaderName(k) {
			return reply{}, errBadResponse
		}
		rp.headers = append(rp.headers, [2]string{k, scalar(p.Headers[k])})
	}
	if !hasHeader(rp.headers, "Content-Type") {
		rp.headers = append(rp.headers, [2]string{"Content-Type", "application/octet-stream"})
	}
	return rp, nil
}
