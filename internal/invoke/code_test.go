package invoke

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// A kept tree with a matching marker is reused by the next process; a tree
// without marker (a crash before it was sealed), one that no longer matches
// its marker, and a crash's temporary folder are unpacked again or removed.
func TestCodeCacheSurvivesRestarts(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"bootstrap", "lib/a.txt", "lib/b.txt"} {
		w, _ := zw.Create(name)
		w.Write(bytes.Repeat([]byte(name), 100))
	}
	zw.Close()
	zipBytes := buf.Bytes()
	h := sha256.Sum256(zipBytes)
	sum := hex.EncodeToString(h[:])
	dir := t.TempDir()
	tree, marker := filepath.Join(dir, sum), filepath.Join(dir, sum+markerSuffix)
	open := func(context.Context, string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(zipBytes)), nil
	}
	ready := make(chan struct{})
	close(ready)

	// run starts a cache on dir as a new process would, asks for the code
	// and reports how many times it was unpacked.
	run := func(inUse bool) int {
		t.Helper()
		c := newCodeCache(dir, open, nil)
		c.log = discardLogger()
		var n atomic.Int32
		c.extracted = func(string) { n.Add(1) }
		if err := c.start(ready, func(string) bool { return inUse }); err != nil {
			t.Fatal(err)
		}
		if inUse {
			p, err := c.path(context.Background(), sum)
			if err != nil || p != tree {
				t.Fatalf("path: %q %v", p, err)
			}
		}
		waitFor(t, func() bool { // leftovers (and unused code) removed, marker written
			_, err := os.Stat(tree)
			_, merr := os.Stat(marker)
			return onlyEntries(dir) && (inUse && merr == nil || !inUse && os.IsNotExist(err))
		})
		c.close()
		return int(n.Load())
	}
	inode := func() uint64 { return inodeOf(t, tree) }

	if n := run(true); n != 1 {
		t.Fatalf("first use unpacked %d times", n)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("no marker after close: %v", err)
	}
	first := inode()
	if n := run(true); n != 0 || inode() != first {
		t.Fatalf("restart unpacked valid code again (%d times)", n)
	}

	// A crash before the marker: the tree is not trusted.
	os.Remove(marker)
	if n := run(true); n != 1 {
		t.Fatalf("a tree without marker was reused (%d extractions)", n)
	}
	// A tree that no longer matches its marker.
	os.Chmod(filepath.Join(tree, "lib"), 0o700)
	if err := os.Remove(filepath.Join(tree, "lib", "b.txt")); err != nil {
		t.Fatal(err)
	}
	if n := run(true); n != 1 {
		t.Fatalf("a damaged tree was reused (%d extractions)", n)
	}
	if n := run(true); n != 0 {
		t.Fatalf("restart unpacked valid code again (%d times)", n)
	}
	// A crash's temporary folder and a stray marker are removed.
	if err := os.Mkdir(filepath.Join(dir, "."+sum+".tmp-123"), 0o500); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "ab"+markerSuffix), nil, 0o600)
	if n := run(true); n != 0 {
		t.Fatalf("restart unpacked valid code again (%d times)", n)
	}
	// Code no function uses any more is removed once the registry is read.
	run(false)
	if _, err := os.Stat(tree); !os.IsNotExist(err) {
		t.Fatalf("unused code kept: %v", err)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("unused code's marker kept: %v", err)
	}
}

// onlyEntries reports whether dir holds nothing but trees and markers.
func onlyEntries(dir string) bool {
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		n := e.Name()
		if n[0] == '.' || (!isHex(n) && !(len(n) == 64+len(markerSuffix) && isHex(n[:64]))) {
			return false
		}
	}
	return true
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
