package invoke

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lambada-dev/lambada/internal/codezip"
	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/logkey"
)

// codeCache unpacks each stored zip once per SHA-256 into the data folder,
// read-only, and shares the tree between every environment of that code.
// The trees outlive the process (docs/behaviour/async-storage.md §6): a tree
// counts as complete only when its marker "<hex>.ok" exists, and the marker
// is written only after the tree's bytes are on disk, with a summary of the
// tree (entries and bytes) that the first use after a restart checks.
// Anything else found at start-up (a tree without marker, a crash's
// temporary folder) is renamed aside and deleted in the background, so
// start-up costs a rename per leftover, not the removal of every file.
//
// The cache of merged layer trees (/opt) is not kept: it has open == nil,
// and start renames everything in it aside for background removal.
type codeCache struct {
	dir  string
	open func(ctx context.Context, hex string) (io.ReadCloser, error)
	log  *slog.Logger
	// keep: trees are kept across restarts (the code cache, not /opt).
	keep bool
	// extracted is called after each extraction (tests count them).
	extracted func(hex string)

	mu      sync.Mutex
	pending map[string]*unpack
	ready   map[string]bool // checked or extracted by this process
	trash   int             // names handed out by discard
	kick    chan struct{}   // something was discarded
	// closed: close has begun; no goroutine is added to wg after it (a
	// late extraction, e.g. by an async attempt that outlived its
	// service's Close bound, must not race close's Wait).
	closed bool

	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
}

type unpack struct {
	done chan struct{}
	err  error
}

const (
	markerSuffix = ".ok"
	// trashPrefix names what waits for background removal.
	trashPrefix = ".trash-"
)

// treeSummary is the marker's content: what Extract wrote.
type treeSummary struct {
	Files int   `json:"files"`
	Dirs  int   `json:"dirs"`
	Links int   `json:"links"`
	Bytes int64 `json:"bytes"`
}

func newCodeCache(dir string, open func(context.Context, string) (io.ReadCloser, error), log *slog.Logger) *codeCache {
	ctx, stop := context.WithCancel(context.Background())
	return &codeCache{dir: dir, open: open, log: log, keep: open != nil, pending: map[string]*unpack{}, ready: map[string]bool{}, kick: make(chan struct{}, 1), ctx: ctx, stop: stop}
}

// start keeps every tree with a marker and renames everything else aside;
// the renamed leftovers are deleted by a background goroutine, which then
// (once inUse can answer, i.e. after ready is closed) also removes trees no
// function uses any more.
func (c *codeCache) start(ready <-chan struct{}, inUse func(hex string) bool) error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("code cache: %w", err)
	}
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return fmt.Errorf("code cache: %w", err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, trashPrefix):
		case strings.HasSuffix(name, markerSuffix):
			if hex := strings.TrimSuffix(name, markerSuffix); !isHex(hex) || !names[hex] {
				_ = os.Remove(filepath.Join(c.dir, name))
			}
		case c.keep && isHex(name) && names[name+markerSuffix] && e.IsDir():
			// Kept; checked against its marker on first use.
		default:
			if err := c.discard(name); err != nil {
				return err
			}
		}
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.empty()
		for {
			select {
			case <-ready:
				ready = nil // once
				c.collect(inUse)
			case <-c.kick:
			case <-c.ctx.Done():
				return
			}
			c.empty()
		}
	}()
	return nil
}

// close stops the background removal (between two trees) and waits for it.
func (c *codeCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.stop()
	c.wg.Wait()
}

// discard renames c.dir/name aside for background removal (its marker
// first, so that a crash in between leaves no marker on a tree it does not
// describe).
func (c *codeCache) discard(name string) error {
	if err := os.Remove(filepath.Join(c.dir, name+markerSuffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("code cache: %w", err)
	}
	c.mu.Lock()
	c.trash++
	to := fmt.Sprintf("%s%d-%d-%s", trashPrefix, time.Now().UnixNano(), c.trash, strings.TrimPrefix(name, "."))
	c.mu.Unlock()
	if err := os.Rename(filepath.Join(c.dir, name), filepath.Join(c.dir, to)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("code cache: %w", err)
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return nil
}

// empty deletes everything renamed aside, one tree at a time, until the
// cache is closed.
func (c *codeCache) empty() {
	entries, _ := os.ReadDir(c.dir)
	for _, e := range entries {
		if c.ctx.Err() != nil {
			return
		}
		if strings.HasPrefix(e.Name(), trashPrefix) {
			if err := codezip.Remove(filepath.Join(c.dir, e.Name())); err != nil {
				c.log.Warn("code cache: removing a stale tree", logkey.Err, err)
			}
		}
	}
}

// collect renames aside the trees no function uses and this process has
// not used: their zips are gone from the store or were replaced.
func (c *codeCache) collect(inUse func(string) bool) {
	entries, _ := os.ReadDir(c.dir)
	for _, e := range entries {
		hex := e.Name()
		if !isHex(hex) || inUse(hex) {
			continue
		}
		c.mu.Lock()
		busy := c.ready[hex] || c.pending[hex] != nil
		c.mu.Unlock()
		if busy {
			continue
		}
		// A function created with this code since inUse answered may race
		// with this: its first start then finds no tree and unpacks again.
		if err := c.discard(hex); err != nil {
			c.log.Warn("code cache: discarding unused code", logkey.CodeSHA256, hex, logkey.Err, err)
		}
	}
}

// path returns the unpacked tree of code hex, checking a tree kept from an
// earlier run or unpacking it first if needed.
func (c *codeCache) path(ctx context.Context, hex string) (string, error) {
	return c.once(ctx, hex, func(dir string) error { return c.extract(ctx, hex, dir) })
}

// optPath returns the merged tree of a function's layers (in order) for
// its /opt, built once per ordered set from the unpacked layers in code
// (docs/behaviour/layers.md §6); "" when none. A layer from a host folder
// (hot reload, docs/behaviour/dev-loop.md §1) is merged from the folder as
// it is; gen is the folder's change count, part of the tree's key, so a
// change makes a new tree. A lone folder layer is used as it is.
func (c *codeCache) optPath(ctx context.Context, code *codeCache, layers []function.LayerRef, gen func(dir string) uint64) (string, error) {
	if len(layers) == 0 {
		return "", nil
	}
	if len(layers) == 1 && layers[0].CodeDir != "" {
		return layers[0].CodeDir, nil
	}
	keys := make([]string, len(layers))
	for i, l := range layers {
		keys[i] = l.CodeHex
		if l.CodeDir != "" {
			keys[i] = "dir:" + l.CodeDir + "#" + strconv.FormatUint(gen(l.CodeDir), 10)
		}
	}
	sum := sha256.Sum256([]byte(strings.Join(keys, ",")))
	return c.once(ctx, hex.EncodeToString(sum[:]), func(dir string) error {
		srcs := make([]string, len(layers))
		for i, l := range layers {
			if l.CodeDir != "" {
				srcs[i] = l.CodeDir
				continue
			}
			p, err := code.path(ctx, l.CodeHex)
			if err != nil {
				return err
			}
			srcs[i] = p
		}
		if err := codezip.Merge(srcs, dir); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		return nil
	})
}

// once returns c.dir/hex, checking a tree kept from an earlier run or
// running build to make it the first time; one build per key runs at a
// time and the others wait for it.
func (c *codeCache) once(ctx context.Context, hex string, build func(dir string) error) (string, error) {
	dir := filepath.Join(c.dir, hex)
	for {
		c.mu.Lock()
		if c.ready[hex] {
			c.mu.Unlock()
			return dir, nil
		}
		u, running := c.pending[hex]
		if !running {
			u = &unpack{done: make(chan struct{})}
			c.pending[hex] = u
		}
		c.mu.Unlock()
		if running {
			select {
			case <-u.done:
				if u.err != nil {
					return "", u.err
				}
				continue
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		u.err = c.prepare(hex, dir, build)
		c.mu.Lock()
		delete(c.pending, hex)
		if u.err == nil {
			c.ready[hex] = true
		}
		c.mu.Unlock()
		close(u.done)
		if u.err != nil {
			return "", u.err
		}
		return dir, nil
	}
}

// prepare makes dir a complete tree of hex: a kept tree that matches its
// marker is used as it is; anything else is discarded and built again.
func (c *codeCache) prepare(hex, dir string, build func(dir string) error) error {
	if c.keep && c.intact(hex, dir) {
		return nil
	}
	if err := c.discard(hex); err != nil {
		return err
	}
	if err := build(dir); err != nil {
		return err
	}
	if c.extracted != nil {
		c.extracted(hex)
	}
	if !c.keep {
		return nil
	}
	// The marker follows once the tree is durable; until then the tree is
	// used already, and a crash only costs one more extraction.
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := c.seal(c.ctx, hex, dir); err != nil && c.ctx.Err() == nil {
			c.log.Warn("code cache: marking unpacked code complete", logkey.CodeSHA256, hex, logkey.Err, err)
		}
	}()
	return nil
}

// intact reports whether dir exists with a marker that matches it.
func (c *codeCache) intact(hex, dir string) bool {
	b, err := os.ReadFile(filepath.Join(c.dir, hex+markerSuffix))
	if err != nil {
		return false
	}
	var want treeSummary
	if json.Unmarshal(b, &want) != nil {
		return false
	}
	got, err := summarize(dir)
	if err != nil || got != want {
		if err == nil {
			c.log.Warn("code cache: unpacked code does not match its marker; unpacking again", logkey.CodeSHA256, hex)
		}
		return false
	}
	return true
}

// seal flushes the tree to disk, then writes its marker durably; closing
// the cache stops it between two files (the tree then stays unmarked).
func (c *codeCache) seal(ctx context.Context, hex, dir string) error {
	sum, err := summarize(dir)
	if err != nil {
		return err
	}
	if err := syncTree(ctx, dir); err != nil {
		return err
	}
	b, _ := json.Marshal(sum)
	marker := filepath.Join(c.dir, hex+markerSuffix)
	tmp := marker + ".tmp-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o400)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, marker)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	d, err := os.Open(c.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// syncTree makes an unpacked tree durable, one fsync per file and folder
// (only this tree's data: syncfs would flush every other writer's too).
func syncTree(ctx context.Context, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

// summarize counts what a tree holds, without following links.
func summarize(dir string) (treeSummary, error) {
	var s treeSummary
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch t := d.Type(); {
		case t.IsDir():
			s.Dirs++
		case t&fs.ModeSymlink != 0:
			s.Links++
		case t.IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			s.Files++
			s.Bytes += fi.Size()
		}
		return nil
	})
	return s, err
}

func isHex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (c *codeCache) extract(ctx context.Context, hex, dir string) error {
	rc, err := c.open(ctx, hex)
	if err != nil {
		return err
	}
	defer rc.Close()
	zip, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("reading code %s: %w", hex, err)
	}
	if err := codezip.Extract(zip, dir); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("unpacking code %s: %w", hex, err)
	}
	return nil
}
