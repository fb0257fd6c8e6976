//go:build !cgo || !linux

package shim

// CFastPath reports that no C constructor handles the shim: the Go init
// does, and cannot enter a user namespace itself (it is multithreaded).
const CFastPath = false
