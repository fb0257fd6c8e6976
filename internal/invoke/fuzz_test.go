package invoke

import (
	"encoding/base64"
	"encoding/json"
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
	})
}
