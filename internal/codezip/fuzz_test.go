package codezip

import (
	"archive/zip"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambada-dev/lambada/internal/awserr"
)

// FuzzInspect feeds arbitrary bytes to Inspect and Extract (checkPackage).
// Neither may panic, and Extract must write nothing outside its directory.
func FuzzInspect(f *testing.F) {
	for _, c := range zipCases(f) {
		if len(c.zip) <= 64<<10 {
			f.Add(c.zip)
		}
	}
	f.Fuzz(checkPackage)
}

// FuzzExtractNames builds well-formed zips from names, link targets and
// modes, past the CRCs that stop most byte mutations in FuzzInspect: the
// path and symlink rules are where an escape would hide. Each line of spec
// is one entry: a kind letter (f file with mode, w file without, d
// directory, l symlink), the name, and for a symlink a tab and its target.
func FuzzExtractNames(f *testing.F) {
	for _, seed := range []string{
		"fbootstrap\nwlib/a\nllib/b\ta",
		"ld/up\t..\nlt\td/up/../x",
		"la/b/up\t../..\nlt\ta/b/up/../x",
		"lc/a/b/up\t../../..\nlc/t\ta/b/up/../x",
		"ll\t.\nfl/x",
		"dnode_modules/.bin/\nfnode_modules/x/cli.js\nlnode_modules/.bin/x\t../x/cli.js",
		"fa\nda/\nla/b\t../..",
		"l./x\t../x\nw./a//b",
		"f../x\nf/etc/x\nfa/../../x\nfa\\..\\x",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		var entries []entry
		for line := range strings.SplitSeq(spec, "\n") {
			if line == "" {
				continue
			}
			name, target, _ := strings.Cut(line[1:], "\t")
			switch line[0] {
			case 'f':
				entries = append(entries, file(name, "x", 0o755))
			case 'w':
				entries = append(entries, file(name, "x", 0))
			case 'd':
				entries = append(entries, entry{name: name + "/", mode: fs.ModeDir | 0o755})
			case 'l':
				entries = append(entries, link(name, target))
			}
		}
		z, ok := tryZip(entries)
		if !ok {
			return
		}
		checkPackage(t, z)
	})
}

// tryZip is buildZip for names archive/zip may refuse to write.
func tryZip(entries []entry) ([]byte, bool) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name}
		if e.mode != 0 {
			fh.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(fh)
		if err != nil {
			return nil, false
		}
		if !strings.HasSuffix(e.name, "/") {
			if _, err := w.Write([]byte(e.body)); err != nil {
				return nil, false
			}
		}
	}
	if zw.Close() != nil {
		return nil, false
	}
	return buf.Bytes(), true
}

// checkPackage runs Inspect and Extract on b and checks that they agree,
// that their errors are the spec's, and that Extract wrote nothing outside
// its directory and no link that leads out of it. The unzipped limit is
// 1 MiB so that an iteration stays fast; the code under test is the same.
func checkPackage(t *testing.T, b []byte) {
	lim := limits{zipped: MaxZipped, unzipped: 1 << 20}
	info, err := inspect(b, lim)
	if err != nil {
		checkPackageError(t, err)
	}

	// base/box/code is the target; base/outside must stay empty and
	// base must hold nothing else.
	base := t.TempDir()
	box, outside := filepath.Join(base, "box"), filepath.Join(base, "outside")
	for _, d := range []string{box, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(box, "code")
	t.Cleanup(func() { Remove(dir) })
	xerr := extract(b, dir, lim)
	switch {
	case err == nil && xerr != nil:
		t.Fatalf("Inspect accepted what Extract refused: %v", xerr)
	case err != nil && xerr == nil:
		t.Fatalf("Extract accepted what Inspect refused: %v", err)
	case err != nil && err.Error() != xerr.Error():
		// Both walk every entry, in different orders; a zip broken in
		// two ways may be reported either way, but only as a package error.
		checkPackageError(t, xerr)
	}
	onlyEntries(t, base, "box", "outside")
	onlyEntries(t, outside)
	if xerr != nil {
		onlyEntries(t, box)
		return
	}
	onlyEntries(t, box, "code")

	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	files, size := 0, int64(0)
	for name, e := range readTree(t, dir) {
		if e.mode.IsDir() {
			if e.mode != fs.ModeDir|0o555 {
				t.Errorf("%s: mode %v", name, e.mode)
			}
			continue
		}
		files++
		size += int64(len(e.body))
		if e.mode.IsRegular() && e.mode&0o222 != 0 {
			t.Errorf("%s: mode %v is writable", name, e.mode)
		}
		if e.mode&fs.ModeSymlink == 0 {
			continue
		}
		// A link must not lead out of the tree. os.Root reports an escape
		// even when the target outside does not exist; EvalSymlinks checks
		// the resolved path where there is one.
		if _, err := root.Stat(name); err != nil && strings.Contains(err.Error(), "escapes") {
			t.Errorf("link %s -> %q: %v", name, e.body, err)
		}
		to, err := filepath.EvalSymlinks(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		if rel, err := filepath.Rel(real, to); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			t.Errorf("link %s -> %q resolves to %s, outside %s", name, e.body, to, real)
		}
	}
	if files != info.Files || size != info.UnzippedSize {
		t.Errorf("wrote %d files of %d bytes, Inspect said %d of %d", files, size, info.Files, info.UnzippedSize)
	}
}

func checkPackageError(t *testing.T, err error) {
	t.Helper()
	var ae *awserr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an *awserr.Error", err)
	}
	switch ae.Message {
	case msgNotZip, msgUnzipped:
		if ae.Code != awserr.InvalidParameterValue || ae.Status != 400 {
			t.Fatalf("err = %d %s %q", ae.Status, ae.Code, ae.Message)
		}
	case msgZipped:
		if ae.Code != awserr.RequestEntityTooLarge || ae.Status != 413 {
			t.Fatalf("err = %d %s %q", ae.Status, ae.Code, ae.Message)
		}
	default:
		t.Fatalf("err = %v, not a package error", err)
	}
}
