package codezip

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// tempPrefix starts the name of the temporary sibling Extract writes into:
// ".<base>.tmp-<random>". Only a crash can leave one behind.
const tempPrefix = ".tmp-"

// Extract unpacks zip into dir, which must not exist yet, and leaves the tree
// read-only (files without write bits, directories 0555): callers run code
// from it. It writes into a temporary sibling of dir and renames it into
// place, so dir either does not exist or is complete; a failed Extract leaves
// nothing. A crash can leave the temporary sibling (".<base>.tmp-*") behind.
// The files are not fsynced: the tree is a cache of a stored zip, cheap to
// rebuild, and a sync of every file of a node_modules would slow cold starts.
//
// Package errors are the *awserr.Error values of Inspect; failures of the
// host are plain errors. When dir exists, or appears while Extract runs, the
// error wraps fs.ErrExist. All writes go through an os.Root opened on the
// temporary directory, so even a bug in the checks here cannot write outside it.
func Extract(zip []byte, dir string) error { return extract(zip, dir, defaultLimits) }

func extract(b []byte, dir string, lim limits) (err error) {
	dir = filepath.Clean(dir)
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("codezip: extracting into %s: %w", dir, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("codezip: extracting into %s: %w", dir, err)
	}
	p, err := scan(b, lim)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+tempPrefix+"*")
	if err != nil {
		return fmt.Errorf("codezip: extracting into %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			_ = Remove(tmp)
		}
	}()
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return fmt.Errorf("codezip: extracting into %s: %w", dir, err)
	}
	w := &writer{budget: lim.unzipped}
	err = w.fill(root, p.root)
	if cerr := root.Close(); err == nil && cerr != nil {
		err = errWrite{cerr}
	}
	if err != nil {
		var we errWrite
		if errors.As(err, &we) {
			return fmt.Errorf("codezip: extracting into %s: %w", dir, we.err)
		}
		return err // a package error
	}
	// Renaming within one directory needs no write permission on the moved
	// directory itself, so the tree can be sealed before it becomes visible.
	if err := os.Chmod(tmp, 0o555); err != nil {
		return fmt.Errorf("codezip: extracting into %s: %w", dir, err)
	}
	// rename(2) replaces an empty directory that appeared meanwhile; callers
	// serialise extractions into one dir (the tree is the same either way).
	if err := os.Rename(tmp, dir); err != nil {
		if errors.Is(err, fs.ErrExist) { // EEXIST or ENOTEMPTY
			return fmt.Errorf("codezip: extracting into %s: %w", dir, fs.ErrExist)
		}
		return fmt.Errorf("codezip: extracting into %s: %w", dir, err)
	}
	return nil
}

type writer struct {
	budget int64 // bytes still allowed to be written
}

// fill writes the children of directory n into r, which is opened on it:
// files, then directories, then symlinks last, so that no write can ever
// pass through a link (the tree forbids it already; this is the second lock).
// Each directory is opened once and everything in it is made by its bare
// name, so the work grows with the number of entries, not with their depth;
// the handles held at once are bounded by maxDepth.
func (w *writer) fill(r *os.Root, n *node) error {
	names := make([]string, 0, len(n.children))
	for name := range n.children {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if c := n.children[name]; c.kind == kindFile {
			if err := w.file(r, name, c); err != nil {
				return err
			}
		}
	}
	for _, name := range names {
		if c := n.children[name]; c.kind == kindDir {
			if err := w.dir(r, name, c); err != nil {
				return err
			}
		}
	}
	for _, name := range names {
		if c := n.children[name]; c.kind == kindSymlink {
			target, err := readTarget(c, &w.budget)
			if err != nil {
				return err
			}
			if err := r.Symlink(target, name); err != nil {
				return errWrite{err}
			}
		}
	}
	return nil
}

func (w *writer) file(r *os.Root, name string, n *node) error {
	f, err := r.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return errWrite{err}
	}
	err = copyEntry(f, n.file, &w.budget)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = errWrite{cerr}
	}
	if err != nil {
		return err
	}
	if err := setTimes(r, name, n); err != nil {
		return err
	}
	if err := r.Chmod(name, n.perm&^0o222); err != nil {
		return errWrite{err}
	}
	return nil
}

func (w *writer) dir(r *os.Root, name string, n *node) error {
	if err := r.Mkdir(name, 0o700); err != nil {
		return errWrite{err}
	}
	sub, err := r.OpenRoot(name)
	if err != nil {
		return errWrite{err}
	}
	err = w.fill(sub, n)
	if cerr := sub.Close(); err == nil && cerr != nil {
		err = errWrite{cerr}
	}
	if err != nil {
		return err
	}
	// Only now: adding children changes a directory's mtime, and a 0555
	// directory could not have taken them.
	if err := setTimes(r, name, n); err != nil {
		return err
	}
	if err := r.Chmod(name, 0o555); err != nil {
		return errWrite{err}
	}
	return nil
}

// setTimes gives a file or directory its entry's modification time, as
// Lambda does: Python compares a source's mtime with the one recorded in its
// __pycache__, and a package built with its .pyc files should not recompile
// them (into a read-only tree) on every cold start.
func setTimes(r *os.Root, name string, n *node) error {
	if n.file == nil {
		return nil
	}
	t := n.file.Modified
	if t.IsZero() || t.Before(time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)) {
		return nil // no time recorded (a zero MS-DOS date)
	}
	if err := r.Chtimes(name, t, t); err != nil {
		return errWrite{err}
	}
	return nil
}

// Remove deletes a tree written by Extract, or a temporary one a crash left
// behind. os.RemoveAll alone cannot: the directories are read-only. Links are
// removed, never followed. A missing dir is not an error.
func Remove(dir string) error {
	// Through an os.Root: names in a deep tree can outgrow PATH_MAX once
	// joined to dir, and nothing here may follow a link out of the tree.
	// OpenRoot follows a link: dir itself is checked first.
	if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
		if root, err := os.OpenRoot(dir); err == nil {
			unseal(root, ".")
			root.Close()
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("codezip: removing %s: %w", dir, err)
	}
	return nil
}

// unseal makes directory p of root and the directories below it writable
// again, as far as it can; RemoveAll reports what remains.
func unseal(root *os.Root, p string) {
	_ = root.Chmod(p, 0o700)
	d, err := root.Open(p)
	if err != nil {
		return
	}
	des, _ := d.ReadDir(-1)
	d.Close()
	for _, de := range des {
		if de.IsDir() { // a link to a directory is not one
			unseal(root, p+"/"+de.Name())
		}
	}
}

// IsTemp reports whether name (a base name) is a temporary directory of
// Extract, for a sweep of leftovers at start-up.
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tempPrefix)
}
