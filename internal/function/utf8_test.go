package function

import "testing"

func TestInvalidUTF8(t *testing.T) {
	for _, tc := range []struct {
		in, detail string
		bad        bool
	}{
		{`{"a":"café €"}`, "", false},
		{"{\"a\":\"\xff\"}", "Invalid UTF-8 start byte 0xff", true},
		{"{\"a\":\"\x80\"}", "Invalid UTF-8 start byte 0x80", true},
		{"{\"a\":\"\xc3\x28\"}", "Invalid UTF-8 middle byte 0x28", true},
		{"{\"a\":\"\xe2\x82\x28\"}", "Invalid UTF-8 middle byte 0x28", true},
		{"{\"a\":\"\xed\xa0\x80\"}", "Invalid UTF-8 start byte 0xed", true}, // an encoded UTF-16 surrogate
	} {
		detail, bad := InvalidUTF8([]byte(tc.in))
		if bad != tc.bad || detail != tc.detail {
			t.Errorf("InvalidUTF8(%q) = %q, %v; want %q, %v", tc.in, detail, bad, tc.detail, tc.bad)
		}
	}
}
