// Package shim is the sandbox's init shim. Go cannot run code between
// clone and exec, so a box starts this very binary (/proc/self/exe) with
// Env set, inside the new namespaces; the shim's init notices and, before
// the rest of the program initialises, builds the box's root, applies its
// limits, drops privileges and execs the runtime. Any binary that links
// package sandbox (lambada, every test binary of a package that starts
// environments) can therefore start boxes.
//
// The package depends on the standard library only: Go initialises
// packages in dependency and import-path order, so a package with few
// dependencies runs its init about a millisecond after process start
// instead of after every heavy package of the binary (several ms).
package shim
