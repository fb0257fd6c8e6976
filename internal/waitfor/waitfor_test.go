package waitfor

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	var n atomic.Int32
	if err := Until(5*time.Second, func() error {
		if n.Add(1) < 4 {
			return errors.New("not yet")
		}
		return nil
	}); err != nil || n.Load() != 4 {
		t.Fatalf("Until = %v after %d calls; want nil after 4", err, n.Load())
	}

	start := time.Now()
	n.Store(0)
	err := Until(30*time.Millisecond, func() error { return fmt.Errorf("try %d", n.Add(1)) })
	if err == nil || err.Error() != fmt.Sprintf("try %d", n.Load()) {
		t.Fatalf("Until = %v; want the last try's error (try %d)", err, n.Load())
	}
	if time.Since(start) < 30*time.Millisecond || n.Load() < 2 {
		t.Fatalf("gave up after %v and %d tries", time.Since(start), n.Load())
	}
}

// recorder is a testing.TB that records Fatalf instead of stopping.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestTrueFailsWithWhat(t *testing.T) {
	r := &recorder{TB: t}
	True(r, 10*time.Millisecond, "the moon to turn blue", func() bool { return false })
	if want := "still not so after 10ms: the moon to turn blue"; r.failed != want {
		t.Fatalf("failure %q; want %q", r.failed, want)
	}
	r.failed = ""
	True(r, time.Second, "true", func() bool { return true })
	if r.failed != "" {
		t.Fatalf("a true condition failed: %s", r.failed)
	}
}
