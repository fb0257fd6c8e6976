// Package syncbuf is a byte buffer safe for concurrent writers: tests give
// it to a server's logger (whose goroutines write while the test reads).
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer behind a mutex. The zero value is ready.
type Buffer struct {
	// Limit, when set, is how much it keeps: later writes are dropped
	// (and reported written), so a flood keeps its beginning.
	Limit int

	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p, up to Limit.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Limit > 0 && l.b.Len() >= l.Limit {
		return len(p), nil
	}
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
