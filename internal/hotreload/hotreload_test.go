package hotreload

import (
	"os"
	"path/filepath"
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
