package invoke

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/lambada-dev/lambada/internal/function"
)

// FuzzClientContext feeds outside bytes to the two decoders of an Invoke's
// input: neither may panic, an accepted client context is a JSON object of
// a header within the limit, and an accepted payload is one JSON value.
func FuzzClientContext(f *testing.F) {
	for _, s := range []string{
		"", `{}`, `{"custom":{"tenant":"t-42"}}`, `[1,2]`, `"x"`, `{"a":`, " {} ", "null", "\xff\xfe",
	} {
		f.Add(base64.StdEncoding.EncodeToString([]byte(s)), []byte(s))
	}
	f.Add("eyJjdXN0b20iOnsidGVuYW50IjoidC00MiJ9fQ==", []byte(`{"op":"echo"}`))
	f.Add("!!!", []byte("  \n"))
	f.Fuzz(func(t *testing.T, header string, payload []byte) {
		cc, err := DecodeClientContext(header)
		if err == nil && header != "" {
			if len(header) > function.MaxClientContext {
				t.Fatalf("accepted a %d-byte header", len(header))
			}
			var obj map[string]any
			if json.Unmarshal([]byte(cc), &obj) != nil || obj == nil {
				t.Fatalf("accepted %q → %q, not a JSON object", header, cc)
			}
		}
		if err == nil && header == "" && cc != "" {
			t.Fatalf("empty header gave %q", cc)
		}
		p, err := CheckPayload(payload)
		if err == nil && !json.Valid(p) {
			t.Fatalf("accepted payload %q → %q, not JSON", payload, p)
		}
		agree(t, payload)
	})
}

// agree fails t unless CheckPayload and the encoding/json reference give
// the same payload or the same error for p.
func agree(t *testing.T, p []byte) {
	t.Helper()
	got, gerr := CheckPayload(p)
	want, werr := checkPayloadSlow(p)
	if !bytes.Equal(got, want) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
		t.Fatalf("CheckPayload(%.80q) = %.40q, %v; the reference gives %.40q, %v", p, got, gerr, want, werr)
	}
}

// TestCheckPayloadAgrees: the fast validator and the encoding/json
// reference accept and refuse the same payloads, with the same words, on
// the edges where JSON parsers differ (escapes, surrogates, UTF-8, numbers,
// nesting depth, duplicate names, trailing data, whitespace).
func TestCheckPayloadAgrees(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	deepObj := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	for _, s := range []string{
		"", " ", "\t\r\n ", "{}", " {} ", "[]", "null", "true", "false", "0", "-0", "1e5", "1E+5", "-1.5e-3",
		"01", "1.", ".5", "+1", "-", "1e", "0x10", "NaN", "Infinity", "1 2", "{} {}", "{}x", "[1,]", "{,}",
		`{"a":1,}`, `{"a" 1}`, `{'a':1}`, `{"a":1,"a":2}`, `"\u00e9"`, `"\ud83d\ude00"`, `"\ud800"`, `"\udc00x"`,
		`"\ud800\u0041"`, `"\u12"`, `"\x41"`, `"\/"`, "\"a\x00b\"", "\"a\tb\"", "\"a\x7fb\"",
		"\"\xff\"", "\"\xc3\xa9\"", "\"\xc3\"", "\"\xed\xa0\x80\"", "\"\xef\xbf\xbf\"", "\xef\xbb\xbf{}",
		"{\"\xff\":1}", "[\"ok\"]\xff", "{\"a\":\"b\"}\x00", "\x00", "\u00a0{}", "\v{}", "\f{}",
		deep(9999), deep(10000), deep(10001), deepObj(10000), deepObj(10001),
		`{"op":"echo","data":"` + strings.Repeat("x", 100<<10) + `"}`,
	} {
		agree(t, []byte(s))
	}
}

// BenchmarkCheckPayload: CheckPayload against its encoding/json reference
// on 1 MB events, a string padded event (bench/invoke_test.go's) and an
// array of small records, with SHA-256 of the same bytes (what SigV4's
// check of the body costs) for scale. bench/README.md has the figures.
func BenchmarkCheckPayload(b *testing.B) {
	padded := []byte(`{"op":"echo","data":"` + strings.Repeat("x", 1<<20) + `"}`)
	var rec strings.Builder
	rec.WriteString(`{"records":[`)
	for i := 0; rec.Len() < 1<<20; i++ {
		if i > 0 {
			rec.WriteByte(',')
		}
		rec.WriteString(`{"id":12345,"name":"a name","tags":["a","bb"],"score":3.14159,"ok":true,"n":{"k":null,"s":"caf\u00e9 \"q\""}}`)
	}
	rec.WriteString(`]}`)
	for _, ev := range []struct {
		name string
		p    []byte
	}{{"padded", padded}, {"records", []byte(rec.String())}} {
		for _, f := range []struct {
			name string
			f    func([]byte) ([]byte, error)
		}{{"encoding-json", checkPayloadSlow}, {"CheckPayload", CheckPayload}, {"sha256", func(p []byte) ([]byte, error) {
			s := sha256.Sum256(p)
			return s[:], nil
		}}} {
			b.Run(ev.name+"/"+f.name, func(b *testing.B) {
				b.SetBytes(int64(len(ev.p)))
				for b.Loop() {
					if _, err := f.f(ev.p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
