package codezip

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash/crc32"
	"testing"
)

func TestInspect(t *testing.T) {
	for _, c := range zipCases(t) {
		t.Run(c.name, func(t *testing.T) {
			info, err := inspect(c.zip, c.limits())
			c.want.check(t, err)
			if c.want != ok {
				if info != (Info{}) {
					t.Errorf("info = %+v with an error, want the zero Info", info)
				}
				return
			}
			sum := sha256.Sum256(c.zip)
			want := Info{
				Size:         int64(len(c.zip)),
				Sha256Hex:    hex.EncodeToString(sum[:]),
				Sha256Base64: base64.StdEncoding.EncodeToString(sum[:]),
				UnzippedSize: int64(c.unzipped),
				Files:        c.files,
				HasBootstrap: c.bootstrap,
			}
			if info != want {
				t.Errorf("info = %+v\nwant   %+v", info, want)
			}
		})
	}
}

func TestInspectSha256Base64(t *testing.T) {
	info, err := Inspect(buildZip(t, file("bootstrap", "x", 0o755)))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Sha256Base64) != 44 || len(info.Sha256Hex) != 64 {
		t.Errorf("digests %q %q: want 44 base64 and 64 hex characters", info.Sha256Base64, info.Sha256Hex)
	}
	raw, _ := hex.DecodeString(info.Sha256Hex)
	if base64.StdEncoding.EncodeToString(raw) != info.Sha256Base64 {
		t.Errorf("Sha256Base64 %q is not the base64 of Sha256Hex %q", info.Sha256Base64, info.Sha256Hex)
	}
}

// The real limits, at and just past them.
func TestInspectRealLimits(t *testing.T) {
	t.Run("zipped one over", func(t *testing.T) {
		_, err := Inspect(make([]byte, MaxZipped+1))
		zippedTooBig.check(t, err)
	})
	t.Run("zipped exactly at", func(t *testing.T) {
		overhead := len(buildZip(t, file("pad", "", 0)))
		z := buildZip(t, file("pad", string(make([]byte, MaxZipped-overhead)), 0))
		if len(z) != MaxZipped {
			t.Fatalf("built %d bytes, want %d", len(z), MaxZipped)
		}
		info, err := Inspect(z)
		ok.check(t, err)
		if info.Size != MaxZipped {
			t.Errorf("Size = %d", info.Size)
		}
	})
	t.Run("unzipped exactly at", func(t *testing.T) {
		if testing.Short() {
			t.Skip("inflates 250 MiB")
		}
		z := buildZip(t, zeroBomb(t, "zeros", MaxUnzipped>>20))
		info, err := Inspect(z)
		ok.check(t, err)
		if info.UnzippedSize != MaxUnzipped {
			t.Errorf("UnzippedSize = %d", info.UnzippedSize)
		}
	})
}

// zeroBomb is a Deflate entry of mib MiB of zeros, built without running
// the compressor over all of them: once past the first MiB, a flushed block
// that encodes one MiB of zeros decodes the same after any run of zeros, so
// it is repeated.
func zeroBomb(tb testing.TB, name string, mib int) entry {
	tb.Helper()
	chunk := make([]byte, 1<<20)
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	fw.Write(chunk)
	fw.Flush()
	first := buf.Len()
	fw.Write(chunk)
	fw.Flush()
	second := buf.Len()
	fw.Close()
	all := buf.Bytes()
	stream := append([]byte{}, all[:first]...)
	var crc uint32
	crc = crc32.Update(crc, crc32.IEEETable, chunk)
	for range mib - 1 {
		stream = append(stream, all[first:second]...)
		crc = crc32.Update(crc, crc32.IEEETable, chunk)
	}
	stream = append(stream, all[second:]...)
	return entry{name: name, raw: true, method: zip.Deflate, data: stream, crc: crc, usize: uint64(mib) << 20, mode: 0o644}
}

// copyEntry's own count stops a copy that outgrows the budget, whatever the
// headers said: archive/zip checks each entry against its header, this checks
// the total.
func TestCopyEntryBudget(t *testing.T) {
	z := buildZip(t, file("a", "0123456789", 0))
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		budget, left int64
		want         wantErr
	}{
		{budget: 10, left: 0, want: ok},
		{budget: 11, left: 1, want: ok},
		{budget: 9, left: -1, want: unzippedTooBig},
		{budget: 0, left: -1, want: unzippedTooBig},
	} {
		var buf bytes.Buffer
		budget := c.budget
		err := copyEntry(&buf, zr.File[0], &budget)
		c.want.check(t, err)
		if budget != c.left {
			t.Errorf("budget %d: left %d, want %d", c.budget, budget, c.left)
		}
		if buf.Len() > int(c.budget) {
			t.Errorf("budget %d: wrote %d bytes", c.budget, buf.Len())
		}
	}
}

func TestTargetInside(t *testing.T) {
	for _, c := range []struct {
		target string
		depth  int
		want   bool
	}{
		{"a", 0, true},
		{".", 0, true},
		{"./a/./b/", 0, true},
		{"..", 1, true},
		{"../..", 2, true},
		{"../../x/y", 2, true},
		{"..", 0, false},
		{"../../x", 1, false},
		{"./../x", 0, false},
		{"a/..", 5, false},
		{"a/../../x", 5, false},
		{"/a", 3, false},
		{"", 0, false},
		{"a\\b", 0, false},
		{"a\x00", 0, false},
	} {
		if got := targetInside(c.target, c.depth); got != c.want {
			t.Errorf("targetInside(%q, %d) = %v, want %v", c.target, c.depth, got, c.want)
		}
	}
}

func TestSplitName(t *testing.T) {
	for _, c := range []struct {
		name string
		want []string
		ok   bool
	}{
		{"a/b/c", []string{"a", "b", "c"}, true},
		{"a/b/", []string{"a", "b"}, true},
		{"./a//b/.", []string{"a", "b"}, true},
		{"./", nil, true},
		{"", nil, false},
		{"/a", nil, false},
		{"a/../b", nil, false},
		{"..", nil, false},
		{"a\\b", nil, false},
	} {
		got, gotOK := splitName(c.name)
		if gotOK != c.ok || len(got) != len(c.want) {
			t.Errorf("splitName(%q) = %q, %v; want %q, %v", c.name, got, gotOK, c.want, c.ok)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("splitName(%q) = %q, want %q", c.name, got, c.want)
			}
		}
	}
}
