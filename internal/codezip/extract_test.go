package codezip

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// extracted is what one path of an extracted tree looks like.
type extracted struct {
	mode  fs.FileMode // type and permission bits
	body  string      // file content or link target
	mtime time.Time   // checked when not zero
}

// newDir returns a path to extract into, in a fresh parent that is cleaned
// up with Remove (t.TempDir alone cannot delete read-only directories).
func newDir(t testing.TB) (parent, dir string) {
	t.Helper()
	parent = t.TempDir()
	dir = filepath.Join(parent, "code")
	t.Cleanup(func() {
		if err := Remove(dir); err != nil {
			t.Error(err)
		}
	})
	return parent, dir
}

// readTree walks dir without following links, through an os.Root since
// the deepest names of the table outgrow PATH_MAX once joined to dir (and
// not through root.FS, which refuses names that are not UTF-8).
func readTree(t testing.TB, dir string) map[string]extracted {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	got := map[string]extracted{}
	var walk func(p string) error
	walk = func(p string) error {
		fi, err := root.Lstat(p)
		if err != nil {
			return err
		}
		e := extracted{mode: fi.Mode() & (fs.ModeType | fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky), mtime: fi.ModTime()}
		switch {
		case fi.Mode().IsRegular():
			b, err := root.ReadFile(p)
			if err != nil {
				return err
			}
			e.body = string(b)
		case fi.Mode()&fs.ModeSymlink != 0:
			if e.body, err = root.Readlink(p); err != nil {
				return err
			}
		case fi.IsDir():
			d, err := root.Open(p)
			if err != nil {
				return err
			}
			names, err := d.Readdirnames(-1)
			d.Close()
			if err != nil {
				return err
			}
			for _, name := range names {
				if err := walk(path.Join(p, name)); err != nil {
					return err
				}
			}
		}
		got[p] = e
		return nil
	}
	if err := walk("."); err != nil {
		t.Fatal(err)
	}
	return got
}

// onlyEntries fails unless parent holds exactly names.
func onlyEntries(t testing.TB, parent string, names ...string) {
	t.Helper()
	des, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, de := range des {
		got = append(got, de.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("%s holds %q, want %q", parent, got, names)
	}
}

func TestExtract(t *testing.T) {
	when := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	z := buildZip(t,
		entry{name: "bootstrap", body: "#!/bin/sh\necho hi\n"}, // Windows-made: no mode
		entry{name: "lib/", mode: fs.ModeDir | 0o700, modified: when},
		entry{name: "lib/tool", body: "tool", mode: 0o750, modified: when},
		entry{name: "lib/data.txt", body: "data"},
		entry{name: "lib/libfoo.so.1", body: "elf", mode: 0o755},
		link("lib/libfoo.so", "libfoo.so.1"),
		entry{name: "node_modules/x/cli.js", body: "js", mode: 0o644},
		link("node_modules/.bin/x", "../x/cli.js"),
		entry{name: "a/b/c/deep.py", body: "print()", mode: 0o664},
		entry{name: "empty/"},
		entry{name: "suid", body: "s", mode: fs.ModeSetuid | fs.ModeSetgid | 0o4755},
		entry{name: "private", body: "p", mode: 0o600},
	)
	_, dir := newDir(t)
	if err := Extract(z, dir); err != nil {
		t.Fatal(err)
	}
	want := map[string]extracted{
		".":                     {mode: fs.ModeDir | 0o555},
		"bootstrap":             {mode: 0o555, body: "#!/bin/sh\necho hi\n"}, // 0755 fix-up, then read-only
		"lib":                   {mode: fs.ModeDir | 0o555, mtime: when},     // 0700 in the zip: directories are 0555
		"lib/tool":              {mode: 0o550, body: "tool", mtime: when},
		"lib/data.txt":          {mode: 0o444, body: "data"},
		"lib/libfoo.so.1":       {mode: 0o555, body: "elf"},
		"lib/libfoo.so":         {mode: fs.ModeSymlink | 0o777, body: "libfoo.so.1"},
		"node_modules":          {mode: fs.ModeDir | 0o555},
		"node_modules/x":        {mode: fs.ModeDir | 0o555},
		"node_modules/x/cli.js": {mode: 0o444, body: "js"},
		"node_modules/.bin":     {mode: fs.ModeDir | 0o555},
		"node_modules/.bin/x":   {mode: fs.ModeSymlink | 0o777, body: "../x/cli.js"},
		"a":                     {mode: fs.ModeDir | 0o555},
		"a/b":                   {mode: fs.ModeDir | 0o555},
		"a/b/c":                 {mode: fs.ModeDir | 0o555},
		"a/b/c/deep.py":         {mode: 0o444, body: "print()"},
		"empty":                 {mode: fs.ModeDir | 0o555},
		"suid":                  {mode: 0o555, body: "s"}, // setuid and setgid dropped
		"private":               {mode: 0o400, body: "p"},
	}
	got := readTree(t, dir)
	for name, w := range want {
		g, found := got[name]
		if !found {
			t.Errorf("%s: missing", name)
			continue
		}
		if g.mode != w.mode || g.body != w.body {
			t.Errorf("%s: mode %v body %q, want mode %v body %q", name, g.mode, g.body, w.mode, w.body)
		}
		if !w.mtime.IsZero() && !g.mtime.Equal(w.mtime) {
			t.Errorf("%s: mtime %v, want %v", name, g.mtime, w.mtime)
		}
	}
	for name := range got {
		if _, found := want[name]; !found {
			t.Errorf("%s: unexpected", name)
		}
	}
	// The links resolve, inside the tree.
	if b, err := os.ReadFile(filepath.Join(dir, "node_modules/.bin/x")); err != nil || string(b) != "js" {
		t.Errorf("reading through node_modules/.bin/x: %q, %v", b, err)
	}
	// Read-only for real, unless the tests run as root.
	if os.Geteuid() != 0 {
		if err := os.WriteFile(filepath.Join(dir, "lib/data.txt"), []byte("x"), 0o644); err == nil {
			t.Error("wrote into an extracted file")
		}
		if err := os.WriteFile(filepath.Join(dir, "new"), []byte("x"), 0o644); err == nil {
			t.Error("created a file in an extracted directory")
		}
	}
}

// Every case of the shared table: Extract fails exactly when Inspect does,
// with the same error, and writes what Inspect counted.
func TestExtractTable(t *testing.T) {
	for _, c := range zipCases(t) {
		t.Run(c.name, func(t *testing.T) {
			parent, dir := newDir(t)
			err := extract(c.zip, dir, c.limits())
			c.want.check(t, err)
			if c.want != ok {
				onlyEntries(t, parent) // no dir, no temporary sibling
				return
			}
			onlyEntries(t, parent, "code")
			files, size := 0, 0
			for name, e := range readTree(t, dir) {
				switch {
				case e.mode.IsDir():
					if e.mode != fs.ModeDir|0o555 {
						t.Errorf("%s: mode %v", name, e.mode)
					}
				case e.mode.IsRegular():
					if e.mode&0o222 != 0 {
						t.Errorf("%s: mode %v is writable", name, e.mode)
					}
					files, size = files+1, size+len(e.body)
				default:
					files, size = files+1, size+len(e.body)
				}
			}
			if files != c.files || size != c.unzipped {
				t.Errorf("wrote %d files of %d bytes, want %d of %d", files, size, c.files, c.unzipped)
			}
		})
	}
}

// Failures that only show once writing has begun leave nothing behind.
func TestExtractAtomic(t *testing.T) {
	for _, c := range []struct {
		name string
		zip  []byte
		want wantErr
	}{
		{"bad data after good files", buildZip(t,
			file("a/one", "1", 0o644), file("a/two", "2", 0o644), entry{name: "b/"},
			stored("z/last", make([]byte, 100), 10)), notZip},
		{"bad symlink last", buildZip(t,
			file("a/one", "1", 0o644), file("b/two", "2", 0o644), link("z/l", "../../x")), notZip},
	} {
		t.Run(c.name, func(t *testing.T) {
			parent, dir := newDir(t)
			// scan cannot see these; only reading the data can.
			if _, err := scan(c.zip, defaultLimits); err != nil {
				t.Fatalf("scan: %v", err)
			}
			c.want.check(t, Extract(c.zip, dir))
			onlyEntries(t, parent)
		})
	}
}

func TestExtractExistingDir(t *testing.T) {
	z := buildZip(t, file("bootstrap", "x", 0o755))
	for _, c := range []struct {
		name   string
		create func(string) error
	}{
		{"directory", func(p string) error { return os.Mkdir(p, 0o755) }},
		{"empty directory", func(p string) error { return os.Mkdir(p, 0o755) }},
		{"file", func(p string) error { return os.WriteFile(p, []byte("keep"), 0o644) }},
		{"dangling symlink", func(p string) error { return os.Symlink("nowhere", p) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			parent, dir := newDir(t)
			if err := c.create(dir); err != nil {
				t.Fatal(err)
			}
			if err := Extract(z, dir); !errors.Is(err, fs.ErrExist) {
				t.Fatalf("err = %v, want fs.ErrExist", err)
			}
			onlyEntries(t, parent, "code")
		})
	}
}

func TestExtractMissingParent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "no", "code")
	err := Extract(buildZip(t), dir)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}

// A relative dir is extracted next to itself, not into os.TempDir.
func TestExtractRelative(t *testing.T) {
	parent, _ := newDir(t)
	t.Chdir(parent)
	if err := Extract(buildZip(t, file("a", "x", 0)), "code"); err != nil {
		t.Fatal(err)
	}
	onlyEntries(t, parent, "code")
}

func TestRemove(t *testing.T) {
	parent := t.TempDir()
	z := buildZip(t, file("a/b/c", "x", 0o755), entry{name: "e/"})
	// sealed stands for anything a link may point at: Remove must leave it
	// as it is, modes included.
	sealed, dir := filepath.Join(parent, "sealed"), filepath.Join(parent, "code")
	for _, d := range []string{sealed, dir} {
		if err := Extract(z, d); err != nil {
			t.Fatal(err)
		}
	}
	untouched := func() {
		t.Helper()
		if got := readTree(t, sealed); got["."].mode != fs.ModeDir|0o555 || got["a/b"].mode != fs.ModeDir|0o555 || got["a/b/c"].body != "x" {
			t.Errorf("sealed changed: %+v", got)
		}
	}

	// A link inside the tree, written by hand (a package cannot hold it).
	os.Chmod(dir, 0o755)
	if err := os.Symlink(filepath.Join(parent, "sealed/a"), filepath.Join(dir, "up")); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o555)
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	onlyEntries(t, parent, "sealed")
	untouched()
	if err := Remove(dir); err != nil {
		t.Errorf("Remove of a missing dir: %v", err)
	}

	// A link given as dir is removed, not followed.
	if err := os.Symlink("sealed", dir); err != nil {
		t.Fatal(err)
	}
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	onlyEntries(t, parent, "sealed")
	untouched()

	if err := Remove(sealed); err != nil {
		t.Fatal(err)
	}
	onlyEntries(t, parent)
}

func TestIsTemp(t *testing.T) {
	parent := t.TempDir()
	tmp, err := os.MkdirTemp(parent, ".code"+tempPrefix+"*")
	if err != nil {
		t.Fatal(err)
	}
	if !IsTemp(filepath.Base(tmp)) {
		t.Errorf("IsTemp(%q) = false", filepath.Base(tmp))
	}
	for _, name := range []string{"code", "tmp-x", ".hidden"} {
		if IsTemp(name) {
			t.Errorf("IsTemp(%q) = true", name)
		}
	}
}
