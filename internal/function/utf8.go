package function

import (
	"fmt"
	"unicode/utf8"
)

// InvalidUTF8 reports whether p holds bytes that are not UTF-8 and, if so,
// the parser detail AWS's service gives for the first of them ("Invalid
// UTF-8 start byte 0xff", "Invalid UTF-8 middle byte 0x41"): JSON text must
// be UTF-8, and encoding/json would silently turn such bytes into U+FFFD.
func InvalidUTF8(p []byte) (detail string, bad bool) {
	if utf8.Valid(p) {
		return "", false
	}
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRune(p[i:])
		if r != utf8.RuneError || n > 1 {
			i += n
			continue
		}
		c := p[i]
		// A valid lead byte followed by a bad continuation byte.
		if c >= 0xC2 && c <= 0xF4 {
			need := 1 // continuation bytes the lead byte announces
			if c >= 0xF0 {
				need = 3
			} else if c >= 0xE0 {
				need = 2
			}
			for _, d := range p[i+1 : min(len(p), i+1+need)] {
				if d < 0x80 || d > 0xBF {
					return fmt.Sprintf("Invalid UTF-8 middle byte 0x%02x", d), true
				}
			}
		}
		return fmt.Sprintf("Invalid UTF-8 start byte 0x%02x", c), true
	}
	return "Invalid UTF-8", true
}
