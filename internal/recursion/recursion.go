// Package recursion follows chains of invocations through the X-Ray trace
// header's Lineage field and says when a function has been invoked too
// often in one chain (docs/behaviour/recursion.md).
package recursion

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxDepth is how many times one chain may invoke the same function; the
// next invocation is stopped unless the function's RecursiveLoop is Allow.
const MaxDepth = 16

// maxEntries bounds the Lineage field (AWS keeps up to 16 functions).
const maxEntries = 16

// Config values of RecursiveLoop.
const (
	Terminate = "Terminate"
	Allow     = "Allow"
)

// Entry is one function's count in a chain.
type Entry struct {
	Hash  string // first 8 hex of SHA-256 of the unqualified function ARN
	Count int
}

// Trace is a parsed X-Amzn-Trace-Id.
type Trace struct {
	Root, Parent, Sampled string
	Lineage               []Entry
}

// Parse reads a header, percent-decoded first (aws-sdk-go-v2 and botocore
// encode "|"). Keys match case-insensitively; unknown fields are dropped;
// a malformed Lineage counts as empty.
func Parse(header string) Trace {
	if dec, err := url.PathUnescape(header); err == nil {
		header = dec
	}
	var t Trace
	for _, part := range strings.Split(header, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch strings.ToLower(k) {
		case "root":
			if validRoot(v) {
				t.Root = v
			}
		case "parent":
			t.Parent = v
		case "sampled":
			t.Sampled = v
		case "lineage":
			t.Lineage = parseLineage(v)
		}
	}
	return t
}

// validRoot: 1-<8 hex>-<24 hex>.
func validRoot(v string) bool {
	p := strings.Split(v, "-")
	return len(p) == 3 && p[0] == "1" && len(p[1]) == 8 && len(p[2]) == 24 && isHex(p[1]) && isHex(p[2])
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

func parseLineage(v string) []Entry {
	parts := strings.Split(v, "|")
	if len(parts) > maxEntries {
		return nil
	}
	out := make([]Entry, 0, len(parts))
	for _, p := range parts {
		h, n, ok := strings.Cut(p, ":")
		c, err := strconv.Atoi(n)
		if !ok || err != nil || c < 1 || len(h) != 8 || !isHex(h) {
			return nil // an unparsable Lineage is treated as empty
		}
		out = append(out, Entry{Hash: h, Count: c})
	}
	return out
}

// Count is how many times the function hashed h ran in this chain.
func (t Trace) Count(h string) int {
	for _, e := range t.Lineage {
		if e.Hash == h {
			return e.Count
		}
	}
	return 0
}

// String renders the header lambada sends on.
func (t Trace) String() string {
	n := len("Root=;Parent=;Sampled=;Lineage=") + len(t.Root) + len(t.Parent) + len(t.Sampled)
	for _, e := range t.Lineage {
		n += len(e.Hash) + 5
	}
	var b strings.Builder
	b.Grow(n) // the one allocation
	b.WriteString("Root=")
	b.WriteString(t.Root)
	b.WriteString(";Parent=")
	b.WriteString(t.Parent)
	b.WriteString(";Sampled=")
	b.WriteString(t.Sampled)
	if len(t.Lineage) > 0 {
		b.WriteString(";Lineage=")
		var num [20]byte
		for i, e := range t.Lineage {
			if i > 0 {
				b.WriteByte('|')
			}
			b.WriteString(e.Hash)
			b.WriteByte(':')
			b.Write(strconv.AppendInt(num[:0], int64(e.Count), 10))
		}
	}
	return b.String()
}

// Hash is a function's Lineage key: the first 8 hex characters of the
// SHA-256 of its unqualified ARN.
func Hash(unqualifiedARN string) string {
	s := sha256.Sum256([]byte(unqualifiedARN))
	return hex.EncodeToString(s[:4])
}

// Next is the header an invocation of the function with ARN fnARN carries
// when called with header incoming, and its count in the chain (this
// invocation included). A missing or malformed Root starts a new chain;
// Parent is always new; Sampled is kept, else from sampled.
func Next(incoming, fnARN string, sampled bool) (Trace, int) {
	return NextHashed(incoming, Hash(fnARN), sampled)
}

// NextHashed is Next for the function whose Hash is h (a caller that
// keeps it need not hash the ARN on every call).
func NextHashed(incoming, h string, sampled bool) (Trace, int) {
	t := Parse(incoming)
	if t.Root == "" {
		// A new chain: its Root and Parent from one random read, in one
		// string.
		var rnd [20]byte
		_, _ = rand.Read(rnd[:]) // crypto/rand.Read never fails
		var b [2 + 8 + 1 + 24 + 16]byte
		buf := strconv.AppendInt(append(b[:0], "1-"...), time.Now().Unix(), 16)
		if len(buf) != 10 { // not before 1970 nor after 2106
			t = Trace{Root: newRoot(), Parent: randomHex(8)}
		} else {
			buf = append(buf, '-')
			buf = hex.AppendEncode(buf, rnd[:12])
			buf = hex.AppendEncode(buf, rnd[12:])
			both := string(buf)
			t = Trace{Root: both[:35], Parent: both[35:]}
		}
	} else {
		t.Parent = randomHex(8)
	}
	if t.Sampled != "0" && t.Sampled != "1" {
		t.Sampled = "0"
		if sampled {
			t.Sampled = "1"
		}
	}
	n := t.Count(h) + 1
	t.Lineage = slices.Clone(t.Lineage)
	found := false
	for i := range t.Lineage {
		if t.Lineage[i].Hash == h {
			t.Lineage[i].Count, found = n, true
		}
	}
	if !found {
		if len(t.Lineage) == maxEntries {
			// Drop the entry with the smallest count.
			min := 0
			for i, e := range t.Lineage {
				if e.Count < t.Lineage[min].Count {
					min = i
				}
			}
			t.Lineage = slices.Delete(t.Lineage, min, min+1)
		}
		t.Lineage = append(t.Lineage, Entry{Hash: h, Count: n})
	}
	return t, n
}

// Stopped reports whether an invocation counted n in its chain must be
// stopped under the function's RecursiveLoop setting ("" = Terminate).
func Stopped(n int, setting string) bool {
	return n > MaxDepth && setting != Allow
}

func newRoot() string {
	return "1-" + strconv.FormatInt(time.Now().Unix(), 16) + "-" + randomHex(12)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
