// Package codezip checks and unpacks Lambda deployment packages: the zip
// rules of docs/behaviour/management.md §2 and the size limits of
// docs/behaviour/api-common.md §8.
//
// A package is checked twice over. Inspect (CreateFunction, UpdateFunctionCode)
// checks the archive's structure, sums the sizes its headers declare, and then
// reads every entry once, without writing anything, so that a package it
// accepts can later be unpacked: a create that succeeds must never leave a
// function whose code fails to unpack at its first invoke. Extract checks
// again, since the bytes it gets come from storage, and counts the bytes it
// actually writes instead of trusting the headers.
//
// Path rules (Decision, per spec "entries with absolute paths or .. are
// treated the same" as a file that is not a zip). An entry is refused when its
// name is absolute, has a ".." element, holds a backslash or NUL, has an
// element over 255 bytes (NAME_MAX), is over 4095 bytes (PATH_MAX) or has
// over 128 elements (Extract's work bound, see maxDepth); when it
// is a device, FIFO or socket; when it is encrypted; and when two entries name
// the same path unless both are directories. Repeated names are refused rather
// than "last one wins" because a scanner reading the first copy and an
// unpacker writing the last could then disagree about what the code is.
// Empty and "." elements are dropped ("./a//b" is "a/b"), as every unzip does.
//
// Symlinks (Decision): allowed, because real packages carry them
// (node_modules/.bin/x -> ../x/cli.js, lib/libfoo.so -> libfoo.so.1), but only
// when the kernel is bound to resolve them inside the package, whatever else
// the package holds. A target must be relative, and its ".." elements must
// all come first and climb no higher than the root: "../x/cli.js" from
// node_modules/.bin is allowed, "/opt/x", "../../x" from the root's child and
// "a/../b" are not. Checking a target lexically with path.Clean is not enough:
// with "a/up" -> "../.." (the root) a link "t" -> "a/up/../x" cleans to "a/x"
// yet resolves outside. Leading ".." elements only climb real directories
// (no entry can sit below a symlink: that is a file/directory conflict), and
// what follows only descends, through directories or through links held to
// the same rule, so no chain of links can leave the root. Absolute targets
// are refused even though AWS unpacks to /var/task: what /opt or /var/task
// hold on a lambada host is not the package, and server code walking the tree
// must never be led out of it.
//
// Modes (Decision, spec "Unix mode bits in the zip are preserved"): the
// permission bits 0777 of entries made on Unix are kept; setuid, setgid and
// sticky bits are dropped, since the files belong to the server's user and a
// setuid file would hand that user to sandboxed code. Entries without Unix
// modes (made on Windows, or with all permission bits zero) get 0644, and the
// root's "bootstrap" then gets 0755 so that zips made on Windows run. A
// bootstrap zipped on Unix without its x bits keeps them off and fails at
// invoke, as on AWS. The unpacked tree is read-only: files lose their write
// bits and directories become 0555, whatever the zip says.
package codezip

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"strings"

	"github.com/lambada-dev/lambada/internal/awserr"
)

// Size limits of a deployment package (docs/behaviour/api-common.md §8). A package exactly
// at a limit is accepted.
const (
	MaxZipped   = 52_428_800
	MaxUnzipped = 262_144_000
)

// Linux's limits on names, applied to entry names and symlink targets so that
// a package Inspect accepts can be written.
const (
	maxPathLen = 4095 // PATH_MAX less its NUL
	maxElemLen = 255  // NAME_MAX
	// maxDepth bounds the elements of a name. Linux has no such limit, but
	// Extract holds a handle per directory level so that its work stays
	// linear in the entries; without a bound a 50 MB zip of ~2,000-level
	// paths could cost thousands of handles. Real packages stay far below:
	// even npm's old nested node_modules reached a few dozen levels.
	maxDepth = 128
)

// Info is what CreateFunction needs to know about a package.
type Info struct {
	// Size is the zip's length in bytes (CodeSize).
	Size int64
	// Sha256Hex is the SHA-256 of the zip in hex: the package's storage key.
	Sha256Hex string
	// Sha256Base64 is CodeSha256: base64 of the raw 32-byte digest.
	Sha256Base64 string
	// UnzippedSize is the total size of the files and symlinks; Inspect has
	// checked that the entries really hold that many bytes.
	UnzippedSize int64
	// Files counts regular files and symlinks; directories are not counted.
	Files int
	// HasBootstrap is true when the root holds a regular file "bootstrap"
	// (a symlink named bootstrap does not count).
	HasBootstrap bool
}

const (
	msgNotZip   = "Could not unzip uploaded file. Please check your file, then try to upload again."
	msgZipped   = "Zipped size must be smaller than 52428800 bytes"
	msgUnzipped = "Unzipped size must be smaller than 262144000 bytes"
)

// The errors are built on each use: an *awserr.Error is mutable.
func errNotZip() error   { return awserr.New(awserr.InvalidParameterValue, msgNotZip) }
func errZipped() error   { return awserr.New(awserr.RequestEntityTooLarge, msgZipped) }
func errUnzipped() error { return awserr.New(awserr.InvalidParameterValue, msgUnzipped) }

// limits are the two size limits; tests shrink them.
type limits struct{ zipped, unzipped int64 }

var defaultLimits = limits{zipped: MaxZipped, unzipped: MaxUnzipped}

// Inspect validates a zip held in memory without extracting it. Its errors
// are *awserr.Error values ready for the client.
func Inspect(zip []byte) (Info, error) { return inspect(zip, defaultLimits) }

func inspect(b []byte, lim limits) (Info, error) {
	p, err := scan(b, lim)
	if err != nil {
		return Info{}, err
	}
	budget := lim.unzipped
	for _, n := range p.entries {
		switch n.kind {
		case kindFile:
			err = copyEntry(io.Discard, n.file, &budget)
		case kindSymlink:
			_, err = readTarget(n, &budget)
		}
		if err != nil {
			return Info{}, err
		}
	}
	sum := sha256.Sum256(b)
	p.info.Sha256Hex = hex.EncodeToString(sum[:])
	p.info.Sha256Base64 = base64.StdEncoding.EncodeToString(sum[:])
	return p.info, nil
}

type kind uint8

const (
	kindDir kind = iota + 1
	kindFile
	kindSymlink
)

// node is one path of the package: the tree is what Extract writes, and it is
// how conflicting names are found.
type node struct {
	kind kind
	// file is the entry; nil for a directory only implied by deeper names.
	file *zip.File
	// depth is how many directories hold a file or symlink ("a/b/l": 2).
	depth int
	// perm is a file's mode as written, before its write bits are dropped.
	perm     fs.FileMode
	children map[string]*node
}

type pkg struct {
	info    Info
	root    *node
	entries []*node // files and symlinks, in zip order
}

// scan checks everything that needs no entry data: size, structure, names,
// conflicts and the declared unzipped size.
func scan(b []byte, lim limits) (*pkg, error) {
	if int64(len(b)) > lim.zipped {
		return nil, errZipped()
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil { // ErrInsecurePath too: such names are refused below anyway
		return nil, errNotZip()
	}
	p := &pkg{info: Info{Size: int64(len(b))}, root: &node{kind: kindDir}}
	var declared uint64
	tooBig := false
	for _, f := range zr.File {
		n, err := p.add(f)
		if err != nil {
			return nil, err
		}
		if n == nil || n.kind == kindDir {
			continue
		}
		p.info.Files++
		if s := f.UncompressedSize64; s > uint64(lim.unzipped)-declared {
			tooBig = true // keep checking names: a malformed zip is reported as such
		} else {
			declared += s
		}
	}
	if tooBig {
		return nil, errUnzipped()
	}
	p.info.UnzippedSize = int64(declared)
	return p, nil
}

// add puts entry f into the tree. It returns nil, nil for an entry naming the
// root itself ("./"), which only a directory may do.
func (p *pkg) add(f *zip.File) (*node, error) {
	if f.Flags&0x1 != 0 { // encrypted: Lambda cannot read it either
		return nil, errNotZip()
	}
	var k kind
	switch f.Mode().Type() {
	case fs.ModeDir:
		k = kindDir
	case 0:
		k = kindFile
	case fs.ModeSymlink:
		k = kindSymlink
		if f.UncompressedSize64 > maxPathLen {
			return nil, errNotZip()
		}
	default: // device, FIFO, socket, or a symlink whose name ends in "/"
		return nil, errNotZip()
	}
	parts, ok := splitName(f.Name)
	if !ok || len(parts) > maxDepth {
		return nil, errNotZip()
	}
	if len(parts) == 0 {
		if k != kindDir {
			return nil, errNotZip()
		}
		return nil, nil
	}
	dir := p.root
	for _, e := range parts[:len(parts)-1] {
		c := dir.children[e]
		switch {
		case c == nil:
			c = &node{kind: kindDir}
			dir.put(e, c)
		case c.kind != kindDir: // a file or symlink used as a directory
			return nil, errNotZip()
		}
		dir = c
	}
	name := parts[len(parts)-1]
	if c := dir.children[name]; c != nil {
		if c.kind != kindDir || k != kindDir {
			return nil, errNotZip()
		}
		if c.file == nil { // implied earlier, named now: keep its entry for the times
			c.file = f
		}
		return c, nil
	}
	n := &node{kind: k, file: f, depth: len(parts) - 1}
	if k == kindFile {
		perm, ok := unixPerm(f)
		switch {
		case ok:
			n.perm = perm
		case len(parts) == 1 && name == "bootstrap":
			n.perm = 0o755
		default:
			n.perm = 0o644
		}
		if len(parts) == 1 && name == "bootstrap" {
			p.info.HasBootstrap = true
		}
	}
	dir.put(name, n)
	if k != kindDir {
		p.entries = append(p.entries, n)
	}
	return n, nil
}

func (n *node) put(name string, c *node) {
	if n.children == nil {
		n.children = map[string]*node{}
	}
	n.children[name] = c
}

// splitName returns the elements of an entry name, or false when the name is
// unsafe or cannot be written on Linux.
func splitName(name string) ([]string, bool) {
	if name == "" || len(name) > maxPathLen || name[0] == '/' || strings.ContainsAny(name, "\\\x00") {
		return nil, false
	}
	var parts []string
	for e := range strings.SplitSeq(name, "/") {
		switch {
		case e == "" || e == ".":
			continue
		case e == ".." || len(e) > maxElemLen:
			return nil, false
		}
		parts = append(parts, e)
	}
	return parts, true
}

// unixPerm returns the permission bits of an entry made on Unix or macOS;
// false when the entry has none (all zero counts as none).
func unixPerm(f *zip.File) (fs.FileMode, bool) {
	const creatorUnix, creatorMacOSX = 3, 19
	switch f.CreatorVersion >> 8 {
	case creatorUnix, creatorMacOSX:
	default:
		return 0, false
	}
	perm := fs.FileMode(f.ExternalAttrs>>16) & fs.ModePerm
	return perm, perm != 0
}

// readTarget reads and checks the target of symlink n.
func readTarget(n *node, budget *int64) (string, error) {
	var buf bytes.Buffer
	if err := copyEntry(&buf, n.file, budget); err != nil {
		return "", err
	}
	target := buf.String()
	if !targetInside(target, n.depth) {
		return "", errNotZip()
	}
	return target, nil
}

// targetInside reports whether a symlink target, read from a link depth
// directories below the root, stays inside the root (see the package
// comment for why the ".." elements must all lead).
func targetInside(target string, depth int) bool {
	if target == "" || len(target) > maxPathLen || target[0] == '/' || strings.ContainsAny(target, "\\\x00") {
		return false
	}
	up, descended := 0, false
	for e := range strings.SplitSeq(target, "/") {
		switch {
		case e == "" || e == ".":
		case e == "..":
			if descended {
				return false
			}
			up++
		case len(e) > maxElemLen:
			return false
		default:
			descended = true
		}
	}
	return up <= depth
}

// errWrite marks a failure of the writer, not of the zip.
type errWrite struct{ err error }

func (e errWrite) Error() string { return e.err.Error() }
func (e errWrite) Unwrap() error { return e.err }

// copyEntry copies entry f to w, charging what it reads to budget: the zip
// bomb guard that does not trust the declared sizes. Read failures (bad data,
// checksum or size mismatch, unknown method) mean a broken zip; write
// failures come back wrapped in errWrite.
func copyEntry(w io.Writer, f *zip.File, budget *int64) error {
	rc, err := f.Open()
	if err != nil {
		return errNotZip()
	}
	defer rc.Close()
	r := &readErr{r: rc}
	n, err := io.Copy(w, &io.LimitedReader{R: r, N: max(*budget, 0)})
	*budget -= n
	if err == nil && *budget <= 0 {
		// The budget is spent: one more byte means too much. The probe also
		// reaches EOF, where archive/zip checks the size and CRC.
		var one [1]byte
		if m, _ := io.ReadFull(r, one[:]); m > 0 {
			*budget--
			return errUnzipped()
		}
	}
	switch {
	case r.err != nil:
		return errNotZip()
	case err != nil:
		return errWrite{err}
	case uint64(n) != f.UncompressedSize64: // archive/zip checks this too
		return errNotZip()
	}
	return nil
}

// readErr remembers the reader's own error, to tell it from the writer's.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		r.err = err
	}
	return n, err
}
