package invoke

import (
	"os"
	"sync"
)

// spareTmp is one private /tmp folder for an environment without a
// sandbox root (its TMPDIR on the host), made ahead of need: a cold start
// takes it instead of making one, and the next is made in the background
// (docs/architecture.md §3.1). Making a folder is cheap, but on
// the cold start's path it waited behind the retired environment's
// RemoveAll in the same parent folder (the directory lock): 0.2–0.5 ms
// of a cold start on a loaded host.
type spareTmp struct {
	parent string
	wg     *sync.WaitGroup // the Service's: Close waits for a refill

	mu     sync.Mutex
	dir    string // the spare, "" when none
	making bool
	closed bool
}

// take returns a new empty folder of its own: the spare when there is
// one, otherwise one made now; either way the next spare is made in the
// background.
func (t *spareTmp) take() (string, error) {
	t.mu.Lock()
	dir := t.dir
	t.dir = ""
	refill := !t.making && !t.closed
	if refill {
		t.making = true
		t.wg.Add(1)
	}
	t.mu.Unlock()
	if refill {
		go t.refill()
	}
	if dir != "" {
		return dir, nil
	}
	return os.MkdirTemp(t.parent, "env-")
}

func (t *spareTmp) refill() {
	defer t.wg.Done()
	dir, err := os.MkdirTemp(t.parent, "env-")
	t.mu.Lock()
	t.making = false
	keep := err == nil && !t.closed && t.dir == ""
	if keep {
		t.dir = dir
	}
	t.mu.Unlock()
	if err == nil && !keep {
		_ = os.Remove(dir)
	}
}

// close removes the spare; none is kept afterwards (a refill under way
// removes what it made).
func (t *spareTmp) close() {
	t.mu.Lock()
	t.closed = true
	dir := t.dir
	t.dir = ""
	t.mu.Unlock()
	if dir != "" {
		_ = os.Remove(dir)
	}
}
