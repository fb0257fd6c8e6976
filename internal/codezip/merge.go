package codezip

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Merge builds dir, which must not exist yet, from the trees srcs (written
// by Extract) laid over each other in order: a later tree's file, link or
// directory replaces an earlier one's at the same path, and directories of
// the same name merge — how layers make /opt (docs/behaviour/layers.md §6).
// Files are hard links into the source trees (a copy where linking fails),
// so a merge costs one entry per file, not its bytes. Like Extract it
// builds a temporary sibling, seals it read-only and renames it into place;
// an existing dir is an error wrapping fs.ErrExist.
func Merge(srcs []string, dir string) (err error) {
	dir = filepath.Clean(dir)
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("codezip: merging into %s: %w", dir, fs.ErrExist)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+tempPrefix+"*")
	if err != nil {
		return fmt.Errorf("codezip: merging into %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			_ = Remove(tmp)
		}
	}()
	for _, src := range srcs {
		if err := overlay(src, tmp); err != nil {
			return fmt.Errorf("codezip: merging %s into %s: %w", src, dir, err)
		}
	}
	if err := seal(tmp); err != nil {
		return fmt.Errorf("codezip: merging into %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("codezip: merging into %s: %w", dir, fs.ErrExist)
		}
		return fmt.Errorf("codezip: merging into %s: %w", dir, err)
	}
	return nil
}

// overlay lays tree src over dst. Entries of src are never followed.
func overlay(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		target := filepath.Join(dst, rel)
		old, lerr := os.Lstat(target)
		exists := lerr == nil
		if d.IsDir() {
			if exists && old.IsDir() {
				return nil
			}
			if exists {
				if err := os.Remove(target); err != nil {
					return err
				}
			}
			return os.Mkdir(target, 0o755)
		}
		if exists {
			if err := os.RemoveAll(target); err != nil {
				return err
			}
		}
		if d.Type()&fs.ModeSymlink != 0 {
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		if err := os.Link(p, target); err == nil {
			return nil
		}
		return copyFile(p, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(dst, fi.ModTime(), fi.ModTime())
}

// seal makes every directory of tree read-only (0555), deepest first.
func seal(tree string) error {
	var dirs []string
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i], 0o555); err != nil {
			return err
		}
	}
	return nil
}
