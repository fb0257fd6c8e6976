package invoke

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/lambada-dev/lambada/internal/codezip"
)

// codeCache unpacks each stored zip once per SHA-256 into the data folder,
// read-only, and shares the tree between every environment of that code.
type codeCache struct {
	dir  string
	open func(ctx context.Context, hex string) (io.ReadCloser, error)

	mu      sync.Mutex
	pending map[string]*unpack
}

type unpack struct {
	done chan struct{}
	err  error
}

func newCodeCache(dir string, open func(context.Context, string) (io.ReadCloser, error)) *codeCache {
	return &codeCache{dir: dir, open: open, pending: map[string]*unpack{}}
}

// reset empties the cache: a tree left by a crash may be incomplete
// (Extract does not fsync), and every tree can be unpacked again.
func (c *codeCache) reset() error {
	entries, err := os.ReadDir(c.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(c.dir, 0o700)
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := codezip.Remove(filepath.Join(c.dir, e.Name())); err != nil {
			return fmt.Errorf("clearing code cache: %w", err)
		}
	}
	return nil
}

// path returns the unpacked tree of code hex, unpacking it first if needed.
func (c *codeCache) path(ctx context.Context, hex string) (string, error) {
	return c.once(ctx, hex, func(dir string) error { return c.extract(ctx, hex, dir) })
}

// optPath returns the merged tree of a function's layers (hexes of their
// zips in order) for its /opt, built once per ordered set from the
// unpacked layers in code (docs/behaviour/layers.md §6); "" when none.
func (c *codeCache) optPath(ctx context.Context, code *codeCache, hexes []string) (string, error) {
	if len(hexes) == 0 {
		return "", nil
	}
	sum := sha256.Sum256([]byte(strings.Join(hexes, ",")))
	return c.once(ctx, hex.EncodeToString(sum[:]), func(dir string) error {
		srcs := make([]string, len(hexes))
		for i, h := range hexes {
			p, err := code.path(ctx, h)
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

// once returns c.dir/key, running build to make it the first time; one
// build per key runs at a time and the others wait for it.
func (c *codeCache) once(ctx context.Context, key string, build func(dir string) error) (string, error) {
	dir := filepath.Join(c.dir, key)
	hex := key
	for {
		if _, err := os.Stat(dir); err == nil {
			return dir, nil
		}
		c.mu.Lock()
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
		u.err = build(dir)
		c.mu.Lock()
		delete(c.pending, hex)
		c.mu.Unlock()
		close(u.done)
		if u.err != nil {
			return "", u.err
		}
		return dir, nil
	}
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
