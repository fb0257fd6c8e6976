// Package hotreload watches host folders that are functions' code and
// counts their changes: each folder has a generation that goes up once per
// burst of changes, after the burst has been quiet for a debounce interval
// (docs/behaviour/dev-loop.md §4). The invoke service keys environments by
// it, so a change retires the environments of every function using the
// folder.
package hotreload

import (
	"errors"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/lambada-dev/lambada/internal/logkey"
)

// DefaultDebounce is how long a folder must be quiet after a change before
// its generation goes up: an editor's save or a build writes several files
// in a burst, and one retirement should follow it.
const DefaultDebounce = 50 * time.Millisecond

// Watcher watches folders recursively.
type Watcher struct {
	fw       *fsnotify.Watcher
	debounce time.Duration
	onChange func(root string)
	log      *slog.Logger

	// tree serializes changes to the set of watched folders (Watch,
	// Unwatch, a new sub-folder), so a folder being unwatched is not
	// watched again by a walk that started before.
	tree  sync.Mutex
	mu    sync.Mutex
	roots map[string]*root // by folder
	timer map[string]*time.Timer

	wg   sync.WaitGroup
	stop chan struct{}
}

type root struct {
	gen uint64
}

// New starts a watcher; onChange runs (on the watcher's goroutine) after a
// root's generation went up. debounce 0 = DefaultDebounce.
func New(debounce time.Duration, onChange func(root string), log *slog.Logger) (*Watcher, error) {
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w := &Watcher{fw: fw, debounce: debounce, onChange: onChange, log: log,
		roots: map[string]*root{}, timer: map[string]*time.Timer{}, stop: make(chan struct{})}
	w.wg.Add(1)
	go w.run()
	return w, nil
}

// Watch starts watching dir and every folder under it (once; later calls
// for the same dir do nothing).
func (w *Watcher) Watch(dir string) error {
	dir = filepath.Clean(dir)
	w.tree.Lock()
	defer w.tree.Unlock()
	w.mu.Lock()
	_, ok := w.roots[dir]
	if !ok {
		w.roots[dir] = &root{}
	}
	w.mu.Unlock()
	if ok {
		return nil
	}
	if err := w.addTree(dir); err != nil {
		w.mu.Lock()
		delete(w.roots, dir)
		w.mu.Unlock()
		return err
	}
	w.log.Info("hot reload: watching folder", logkey.Path, dir)
	return nil
}

// Unwatch stops watching dir (a root given to Watch) and the folders under
// it that no other root holds; its generation is forgotten. Unknown
// folders are ignored.
func (w *Watcher) Unwatch(dir string) {
	dir = filepath.Clean(dir)
	w.tree.Lock()
	defer w.tree.Unlock()
	w.mu.Lock()
	if _, ok := w.roots[dir]; !ok {
		w.mu.Unlock()
		return
	}
	delete(w.roots, dir)
	if t, ok := w.timer[dir]; ok && t.Stop() {
		w.wg.Done() // the callback will not run
		delete(w.timer, dir)
	}
	var drop []string
	for _, p := range w.fw.WatchList() {
		if under(p, dir) && !w.heldLocked(p) {
			drop = append(drop, p)
		}
	}
	w.mu.Unlock()
	for _, p := range drop {
		_ = w.fw.Remove(p) // a folder deleted meanwhile is no longer watched anyway
	}
	w.log.Info("hot reload: stopped watching folder", logkey.Path, dir)
}

// Roots are the folders being watched (given to Watch and not unwatched).
func (w *Watcher) Roots() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Sorted(maps.Keys(w.roots))
}

// heldLocked reports whether a watched root holds path; w.mu is held.
func (w *Watcher) heldLocked(path string) bool {
	for r := range w.roots {
		if under(path, r) {
			return true
		}
	}
	return false
}

// under reports whether path is dir or inside it.
func under(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+string(filepath.Separator))
}

// Generation is dir's change count (0 before any change or when unwatched).
func (w *Watcher) Generation(dir string) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r, ok := w.roots[filepath.Clean(dir)]; ok {
		return r.gen
	}
	return 0
}

// addTree watches dir and its sub-folders (not following symlinks).
func (w *Watcher) addTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil // a folder gone meanwhile
		}
		if !d.IsDir() {
			return nil
		}
		if p != dir && ignored(p) {
			return filepath.SkipDir
		}
		if err := w.fw.Add(p); err != nil && p == dir {
			return err
		}
		return nil
	})
}

// addSubTree watches a folder created under a root, unless no root holds
// it any more.
func (w *Watcher) addSubTree(dir string) {
	w.tree.Lock()
	defer w.tree.Unlock()
	w.mu.Lock()
	held := w.heldLocked(dir)
	w.mu.Unlock()
	if held {
		_ = w.addTree(dir)
	}
}

func (w *Watcher) run() {
	defer w.wg.Done()
	for {
		select {
		case <-w.stop:
			return
		case err, ok := <-w.fw.Errors:
			if !ok {
				return
			}
			w.log.Warn("hot reload: watcher", logkey.Err, err)
		case ev, ok := <-w.fw.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() {
					w.addSubTree(ev.Name)
				}
			}
			if ev.Op == fsnotify.Chmod || ignored(ev.Name) {
				continue
			}
			w.touch(ev.Name)
		}
	}
}

// touch (re)arms the debounce timer of every root that holds path.
func (w *Watcher) touch(path string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for dir := range w.roots {
		if !under(path, dir) {
			continue
		}
		if t, ok := w.timer[dir]; ok && t.Stop() {
			t.Reset(w.debounce) // still pending: push it back
			continue
		}
		w.wg.Add(1)
		var t *time.Timer
		t = time.AfterFunc(w.debounce, func() {
			defer w.wg.Done()
			w.fire(dir, &t)
		})
		w.timer[dir] = t
	}
}

// fire bumps dir's generation; self is the firing timer (read under mu,
// which touch held while setting it).
func (w *Watcher) fire(dir string, self **time.Timer) {
	w.mu.Lock()
	if w.timer[dir] == *self {
		delete(w.timer, dir)
	}
	r, ok := w.roots[dir]
	if ok {
		r.gen++
	}
	w.mu.Unlock()
	select {
	case <-w.stop:
		return
	default:
	}
	if ok && w.onChange != nil {
		w.log.Info("hot reload: folder changed", logkey.Path, dir)
		w.onChange(dir)
	}
}

// Close stops watching and waits for pending callbacks.
func (w *Watcher) Close() error {
	close(w.stop)
	err := w.fw.Close()
	w.mu.Lock()
	for dir, t := range w.timer {
		if t.Stop() {
			w.wg.Done() // the callback will not run
			delete(w.timer, dir)
		}
	}
	w.mu.Unlock()
	w.wg.Wait()
	if errors.Is(err, fsnotify.ErrClosed) {
		err = nil
	}
	return err
}

// ignored reports whether a change at path is noise: a chmod alone, a
// version-control folder, or Python's bytecode cache, which an unboxed
// Python function writes into its own code folder on its first import
// (docs/behaviour/dev-loop.md §4).
func ignored(path string) bool {
	for _, part := range strings.Split(filepath.ToSlash(path), "/") {
		switch part {
		case ".git", "__pycache__":
			return true
		}
	}
	return false
}
