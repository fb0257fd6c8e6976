package invoke

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lambada-dev/lambada/internal/waitfor"
)

// Every environment gets a new empty folder of its own: the first made on
// the spot, the next ones the spare made ahead; closing removes the spare
// and no folder is left behind that nobody owns.
func TestSpareTmp(t *testing.T) {
	parent := t.TempDir()
	var wg sync.WaitGroup
	sp := &spareTmp{parent: parent, wg: &wg}
	spare := func() string {
		sp.mu.Lock()
		defer sp.mu.Unlock()
		return sp.dir
	}
	var got []string
	for range 3 {
		d, err := sp.take()
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(got, d) || filepath.Dir(d) != parent {
			t.Fatalf("folder %s handed out twice or outside %s (%v)", d, parent, got)
		}
		if ents, err := os.ReadDir(d); err != nil || len(ents) != 0 {
			t.Fatalf("folder %s: %v entries, %v", d, ents, err)
		}
		got = append(got, d)
		waitfor.True(t, 10*time.Second, "a spare folder", func() bool { return spare() != "" })
	}
	next := spare()
	sp.close()
	wg.Wait()
	if _, err := os.Stat(next); !os.IsNotExist(err) {
		t.Fatalf("the spare %s survived close: %v", next, err)
	}
	d, err := sp.take() // after close: made on the spot, no refill
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	got = append(got, d)
	ents, _ := os.ReadDir(parent)
	var left []string
	for _, e := range ents {
		left = append(left, filepath.Join(parent, e.Name()))
	}
	slices.Sort(left)
	slices.Sort(got)
	if !slices.Equal(left, got) {
		t.Fatalf("folders left %v, handed out %v", left, got)
	}
}
