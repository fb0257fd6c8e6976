package hotreload

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lambada-dev/lambada/internal/waitfor"
)

func TestBurstIsOneGeneration(t *testing.T) {
	dir := t.TempDir()
	changed := make(chan string, 10)
	w, err := New(50*time.Millisecond, func(root string) { changed <- root }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Watch(dir); err != nil {
		t.Fatal(err)
	}
	// Python's bytecode cache is noise.
	if err := os.MkdirAll(filepath.Join(dir, "__pycache__"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := os.WriteFile(filepath.Join(dir, "f.py"), []byte{byte(i)}, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	waitfor.True(t, 5*time.Second, "one change", func() bool { return w.Generation(dir) >= 1 })
	if got := <-changed; got != dir {
		t.Errorf("onChange(%q), want %q", got, dir)
	}
	// A write under __pycache__ does not count.
	gen := w.Generation(dir)
	if err := os.WriteFile(filepath.Join(dir, "__pycache__", "f.pyc"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Then a real change: the count goes up again.
	if err := os.WriteFile(filepath.Join(dir, "g.py"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, 5*time.Second, "the next change", func() bool { return w.Generation(dir) > gen })
	if w.Generation(filepath.Join(dir, "nope")) != 0 {
		t.Error("an unwatched folder has a generation")
	}
}

// Unwatch forgets a root and drops the watches of its folders, except
// those another root still holds.
func TestUnwatch(t *testing.T) {
	outer := t.TempDir()
	inner := filepath.Join(outer, "inner")
	other := t.TempDir()
	for _, d := range []string{filepath.Join(inner, "sub"), filepath.Join(other, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w, err := New(10*time.Millisecond, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, d := range []string{outer, inner, other} {
		if err := w.Watch(d); err != nil {
			t.Fatal(err)
		}
	}
	watched := func() map[string]bool {
		m := map[string]bool{}
		for _, p := range w.fw.WatchList() {
			m[p] = true
		}
		return m
	}
	if got := len(watched()); got != 5 {
		t.Fatalf("%d folders watched, want 5: %v", got, watched())
	}
	w.Unwatch(outer) // inner is a root of its own: its folders stay
	if got := w.Roots(); len(got) != 2 || got[0] > got[1] || !slices.Contains(got, inner) || !slices.Contains(got, other) {
		t.Fatalf("roots %v", got)
	}
	if m := watched(); len(m) != 4 || m[outer] || !m[inner] || !m[filepath.Join(inner, "sub")] {
		t.Fatalf("after unwatching the outer folder: %v", m)
	}
	w.Unwatch(other)
	w.Unwatch(other) // twice: nothing
	if m := watched(); len(m) != 2 || m[other] || m[filepath.Join(other, "sub")] {
		t.Fatalf("after unwatching the other folder: %v", m)
	}
	// A change in an unwatched folder counts nowhere; in a watched one it does.
	if err := os.WriteFile(filepath.Join(other, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(inner, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, 5*time.Second, "the watched folder's change", func() bool { return w.Generation(inner) == 1 })
	if w.Generation(other) != 0 || w.Generation(outer) != 0 {
		t.Error("an unwatched folder counted a change")
	}
}
