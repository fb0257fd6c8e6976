package codezip

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/lambada-dev/lambada/internal/awserr"
)

// entry describes one zip entry for buildZip.
type entry struct {
	name string
	body string
	// mode, when non-zero, is recorded as Unix mode (type and permission
	// bits); zero leaves the entry as a Windows tool writes it.
	mode     fs.FileMode
	method   uint16    // zip.Store (0) or zip.Deflate
	modified time.Time // zero: none

	// raw entries are written as given: data is the stored (compressed)
	// bytes and crc/size are what the headers claim.
	raw   bool
	data  []byte
	crc   uint32
	usize uint64
	flags uint16
}

func buildZip(tb testing.TB, entries ...entry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name, Method: e.method, Modified: e.modified, Flags: e.flags}
		if e.mode != 0 {
			fh.SetMode(e.mode)
		}
		if e.raw {
			fh.CRC32 = e.crc
			fh.CompressedSize64 = uint64(len(e.data))
			fh.UncompressedSize64 = e.usize
			w, err := zw.CreateRaw(fh)
			if err != nil {
				tb.Fatal(err)
			}
			if _, err := w.Write(e.data); err != nil {
				tb.Fatal(err)
			}
			continue
		}
		w, err := zw.CreateHeader(fh)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// stored is a raw Store entry whose headers claim usize bytes.
func stored(name string, data []byte, usize uint64) entry {
	return entry{name: name, raw: true, data: data, crc: crc32.ChecksumIEEE(data), usize: usize, mode: 0o644}
}

// deflated is a raw Deflate entry of body whose headers claim usize bytes.
func deflated(tb testing.TB, name string, body []byte, usize uint64) entry {
	tb.Helper()
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		tb.Fatal(err)
	}
	fw.Write(body)
	fw.Close()
	return entry{name: name, raw: true, method: zip.Deflate, data: buf.Bytes(), crc: crc32.ChecksumIEEE(body), usize: usize, mode: 0o644}
}

func file(name, body string, mode fs.FileMode) entry {
	return entry{name: name, body: body, mode: mode}
}
func link(name, target string) entry {
	return entry{name: name, body: target, mode: fs.ModeSymlink | 0o777}
}

type wantErr int

const (
	ok wantErr = iota
	notZip
	zippedTooBig
	unzippedTooBig
)

func (w wantErr) check(tb testing.TB, err error) {
	tb.Helper()
	want := map[wantErr]struct {
		code   string
		status int
		msg    string
	}{
		notZip:         {awserr.InvalidParameterValue, 400, msgNotZip},
		zippedTooBig:   {awserr.RequestEntityTooLarge, 413, msgZipped},
		unzippedTooBig: {awserr.InvalidParameterValue, 400, msgUnzipped},
	}
	if w == ok {
		if err != nil {
			tb.Fatalf("err = %v, want none", err)
		}
		return
	}
	var ae *awserr.Error
	if !errors.As(err, &ae) {
		tb.Fatalf("err = %v, want an *awserr.Error", err)
	}
	x := want[w]
	if ae.Code != x.code || ae.Status != x.status || ae.Message != x.msg {
		tb.Fatalf("err = %d %s %q, want %d %s %q", ae.Status, ae.Code, ae.Message, x.status, x.code, x.msg)
	}
}

type zipCase struct {
	name string
	zip  []byte
	lim  limits // zero: the real limits
	want wantErr
	// what Inspect must report when want == ok (Size and digests are checked apart)
	files, unzipped int
	bootstrap       bool
}

func (c zipCase) limits() limits {
	if c.lim == (limits{}) {
		return defaultLimits
	}
	return c.lim
}

// zipCases is the table Inspect and Extract share and the fuzzer's seed.
func zipCases(tb testing.TB) []zipCase {
	empty := buildZip(tb)
	small := buildZip(tb, file("bootstrap", "#!/bin/sh\n", 0o755))
	zeros := make([]byte, 4096)
	bomb := make([]byte, 1<<20)
	encrypted := file("a", "x", 0o644)
	encrypted.flags = 0x1
	badCRC := stored("a", []byte("hello"), 5)
	badCRC.crc++
	badMethod := stored("a", []byte("hello"), 5)
	badMethod.method = 99
	return []zipCase{
		{name: "empty zip", zip: empty},
		{name: "empty input", zip: []byte{}, want: notZip},
		{name: "nil input", zip: nil, want: notZip},
		{name: "not a zip", zip: []byte("this is not a zip file at all"), want: notZip},
		{name: "truncated", zip: small[:len(small)-5], want: notZip},
		{name: "cut in the middle", zip: append(append([]byte{}, small[:20]...), small[40:]...), want: notZip},
		{name: "bootstrap with mode", zip: small, files: 1, unzipped: 10, bootstrap: true},
		{name: "bootstrap without mode", zip: buildZip(tb, file("bootstrap", "x", 0)), files: 1, unzipped: 1, bootstrap: true},
		{name: "bootstrap as dot path", zip: buildZip(tb, file("./bootstrap", "x", 0o644)), files: 1, unzipped: 1, bootstrap: true},
		{name: "bootstrap in a subdirectory", zip: buildZip(tb, file("bin/bootstrap", "x", 0o755)), files: 1, unzipped: 1},
		{name: "bootstrap directory", zip: buildZip(tb, entry{name: "bootstrap/"}, file("bootstrap/x", "y", 0)), files: 1, unzipped: 1},
		{name: "bootstrap symlink", zip: buildZip(tb, file("bin/app", "x", 0o755), link("bootstrap", "bin/app")), files: 2, unzipped: 8},
		{name: "nested, modes set and unset", zip: buildZip(tb,
			entry{name: "lib/", mode: fs.ModeDir | 0o755},
			file("lib/a.py", "aa", 0o644),
			file("lib/deep/er/b.py", "bbb", 0),
			entry{name: "empty/"},
			file("run.sh", "#!/bin/sh", 0o700)),
			files: 3, unzipped: 2 + 3 + 9},
		{name: "root dir entry", zip: buildZip(tb, entry{name: "./"}, file("a", "x", 0)), files: 1, unzipped: 1},
		{name: "double slashes and dots", zip: buildZip(tb, file("a//./b", "x", 0)), files: 1, unzipped: 1},
		{name: "setuid bit", zip: buildZip(tb, file("a", "x", fs.ModeSetuid|0o755)), files: 1, unzipped: 1},

		// traversal and names that cannot be written
		{name: "parent", zip: buildZip(tb, file("../x", "x", 0o644)), want: notZip},
		{name: "absolute", zip: buildZip(tb, file("/etc/x", "x", 0o644)), want: notZip},
		{name: "climb out after descending", zip: buildZip(tb, file("a/../../x", "x", 0o644)), want: notZip},
		{name: "dot-dot that stays inside", zip: buildZip(tb, file("a/../b", "x", 0o644)), want: notZip},
		{name: "dot-dot alone", zip: buildZip(tb, entry{name: "../"}), want: notZip},
		{name: "backslash parent", zip: buildZip(tb, file("..\\x", "x", 0)), want: notZip},
		{name: "backslash in name", zip: buildZip(tb, file("a\\b", "x", 0)), want: notZip},
		{name: "drive letter", zip: buildZip(tb, file("C:\\Windows\\x", "x", 0)), want: notZip},
		{name: "NUL in name", zip: buildZip(tb, file("a\x00b", "x", 0)), want: notZip},
		{name: "dot as a file", zip: buildZip(tb, file(".", "x", 0o644)), want: notZip},
		{name: "element over 255 bytes", zip: buildZip(tb, file(strings.Repeat("n", 256), "x", 0)), want: notZip},
		{name: "element of 255 bytes", zip: buildZip(tb, file(strings.Repeat("n", 255), "x", 0)), files: 1, unzipped: 1},
		{name: "path over 4095 bytes", zip: buildZip(tb, file(strings.Repeat(strings.Repeat("n", 255)+"/", 15)+strings.Repeat("n", 256), "x", 0)), want: notZip},
		{name: "path of 4095 bytes", zip: buildZip(tb, file(strings.Repeat(strings.Repeat("n", 255)+"/", 15)+strings.Repeat("n", 255), "x", 0)), files: 1, unzipped: 1},
		{name: "128 elements", zip: buildZip(tb, file(strings.Repeat("d/", maxDepth-1)+"f", "x", 0), link(strings.Repeat("d/", maxDepth-1)+"l", strings.Repeat("../", maxDepth-1)+"d")), files: 2, unzipped: 1 + 3*(maxDepth-1) + 1},
		{name: "129 elements", zip: buildZip(tb, file(strings.Repeat("d/", maxDepth)+"f", "x", 0)), want: notZip},
		{name: "129 elements spelled with dots", zip: buildZip(tb, file(strings.Repeat("./", 300)+strings.Repeat("d/", maxDepth-1)+"f", "x", 0)), files: 1, unzipped: 1},

		// duplicates
		{name: "file twice", zip: buildZip(tb, file("a", "x", 0), file("a", "y", 0)), want: notZip},
		{name: "file twice, spelled apart", zip: buildZip(tb, file("a/b", "x", 0), file("./a//b", "y", 0)), want: notZip},
		{name: "file then directory", zip: buildZip(tb, file("a", "x", 0), entry{name: "a/"}), want: notZip},
		{name: "directory then file", zip: buildZip(tb, entry{name: "a/"}, file("a", "x", 0)), want: notZip},
		{name: "file used as a parent", zip: buildZip(tb, file("a", "x", 0), file("a/b", "y", 0)), want: notZip},
		{name: "parent then file", zip: buildZip(tb, file("a/b", "y", 0), file("a", "x", 0)), want: notZip},
		{name: "directory twice", zip: buildZip(tb, entry{name: "a/"}, entry{name: "a/"}, file("a/b", "x", 0)), files: 1, unzipped: 1},
		{name: "implied then named directory", zip: buildZip(tb, file("a/b", "x", 0), entry{name: "a/", mode: fs.ModeDir | 0o700}), files: 1, unzipped: 1},

		// symlinks
		{name: "symlink to a sibling", zip: buildZip(tb, file("lib/libfoo.so.1", "elf", 0o755), link("lib/libfoo.so", "libfoo.so.1")), files: 2, unzipped: 3 + 11},
		{name: "symlink up then down", zip: buildZip(tb, file("node_modules/x/cli.js", "js", 0o755), link("node_modules/.bin/x", "../x/cli.js")), files: 2, unzipped: 2 + 11},
		{name: "symlink to the root", zip: buildZip(tb, link("a/b/root", "../..")), files: 1, unzipped: 5},
		{name: "symlink to itself", zip: buildZip(tb, link("loop", "loop")), files: 1, unzipped: 4},
		{name: "dangling symlink inside", zip: buildZip(tb, link("l", "missing/file")), files: 1, unzipped: 12},
		{name: "symlink escape", zip: buildZip(tb, link("l", "../x")), want: notZip},
		{name: "symlink escape from depth", zip: buildZip(tb, link("a/l", "../../etc/passwd")), want: notZip},
		{name: "symlink absolute", zip: buildZip(tb, link("l", "/etc/passwd")), want: notZip},
		{name: "symlink dot-dot after a name", zip: buildZip(tb, link("l", "a/../b")), want: notZip},
		// "a/b/up" is the root; "t" -> "a/b/up/../x" cleans to "a/b/x" but
		// resolves to the root's parent.
		{name: "symlink chain escape", zip: buildZip(tb, link("a/b/up", "../.."), link("t", "a/b/up/../x")), want: notZip},
		// The same below the root, where counting ".." alone would pass it:
		// one ".." from c, but after c/a/b/up it climbs from the root.
		{name: "symlink chain escape in a subdirectory", zip: buildZip(tb, link("c/a/b/up", "../../.."), link("c/t", "a/b/up/../x")), want: notZip},
		{name: "symlink empty target", zip: buildZip(tb, link("l", "")), want: notZip},
		{name: "symlink backslash target", zip: buildZip(tb, link("l", "..\\x")), want: notZip},
		{name: "symlink NUL target", zip: buildZip(tb, link("l", "a\x00")), want: notZip},
		{name: "symlink used as a parent", zip: buildZip(tb, entry{name: "d/"}, link("l", "d"), file("l/x", "y", 0)), want: notZip},
		{name: "symlink over a directory", zip: buildZip(tb, file("l/x", "y", 0), link("l", "d")), want: notZip},
		{name: "symlink named as a directory", zip: buildZip(tb, entry{name: "l/", mode: fs.ModeSymlink | 0o777}), want: notZip},
		{name: "symlink target too long", zip: buildZip(tb, link("l", strings.Repeat("a", 4096))), want: notZip},

		// other entry kinds and broken data
		{name: "fifo", zip: buildZip(tb, entry{name: "p", mode: fs.ModeNamedPipe | 0o644}), want: notZip},
		{name: "device", zip: buildZip(tb, entry{name: "d", mode: fs.ModeDevice | 0o644}), want: notZip},
		{name: "socket", zip: buildZip(tb, entry{name: "s", mode: fs.ModeSocket | 0o644}), want: notZip},
		{name: "encrypted", zip: buildZip(tb, encrypted), want: notZip},
		{name: "bad checksum", zip: buildZip(tb, badCRC), want: notZip},
		{name: "unknown method", zip: buildZip(tb, badMethod), want: notZip},

		// sizes
		{name: "zipped exactly at limit", zip: small, lim: limits{zipped: int64(len(small)), unzipped: 100}, files: 1, unzipped: 10, bootstrap: true},
		{name: "zipped one over limit", zip: small, lim: limits{zipped: int64(len(small)) - 1, unzipped: 100}, want: zippedTooBig},
		{name: "unzipped exactly at limit", zip: buildZip(tb, file("a", "12345", 0), file("b/c", "67890", 0)), lim: limits{zipped: 1000, unzipped: 10}, files: 2, unzipped: 10},
		{name: "unzipped one over limit", zip: buildZip(tb, file("a", "12345", 0), file("b/c", "678901", 0)), lim: limits{zipped: 1000, unzipped: 10}, want: unzippedTooBig},
		{name: "symlinks count to unzipped", zip: buildZip(tb, file("a", "12345", 0), link("b", "a")), lim: limits{zipped: 1000, unzipped: 5}, want: unzippedTooBig},
		{name: "header claims too much", zip: buildZip(tb, stored("a", zeros, MaxUnzipped+1)), want: unzippedTooBig},
		{name: "headers overflow", zip: buildZip(tb, stored("a", zeros, 1<<63), stored("b", zeros, 1<<63)), want: unzippedTooBig},
		// headers that claim less than the data holds: the lie is caught on reading
		{name: "header claims too little", zip: buildZip(tb, stored("a", zeros, 10)), want: notZip},
		{name: "header claims exactly the limit", zip: buildZip(tb, stored("a", zeros, MaxUnzipped)), want: notZip},
		{name: "deflate bomb under a small header", zip: buildZip(tb, deflated(tb, "a", bomb, 1000)), lim: limits{zipped: MaxZipped, unzipped: 1 << 19}, want: notZip},
		{name: "header claims more than the data", zip: buildZip(tb, stored("a", zeros, 5000)), want: notZip},
		{name: "honest bomb over the limit", zip: buildZip(tb, deflated(tb, "a", bomb, 1<<20)), lim: limits{zipped: MaxZipped, unzipped: 1 << 19}, want: unzippedTooBig},
		{name: "malformed name wins over size", zip: buildZip(tb, stored("a", zeros, MaxUnzipped+1), file("../x", "", 0)), want: notZip},
	}
}
