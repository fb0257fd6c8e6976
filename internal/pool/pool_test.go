package pool

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambada-dev/lambada/internal/waitfor"
)

// testEnv stands for an environment: the pool only asks whether its
// process ended and closes it.
type testEnv struct {
	id     int
	closed atomic.Bool
	exited atomic.Bool
	gate   chan struct{} // when set, Close waits for it: a process slow to stop
}

func (e *testEnv) Close() error {
	if e.gate != nil {
		<-e.gate
	}
	e.closed.Store(true)
	return nil
}
func (e *testEnv) Exited() bool { return e.exited.Load() }

// closedWithin waits up to d until e is closed: the pool closes what it
// retires in the background.
func closedWithin(e *testEnv, d time.Duration) bool {
	return waitfor.Until(d, func() error {
		if !e.closed.Load() {
			return errors.New("not closed")
		}
		return nil
	}) == nil
}

// closedSoon is closedWithin a generous bound, for a loaded machine.
func closedSoon(e *testEnv) bool { return closedWithin(e, 5*time.Second) }

type starter struct{ n atomic.Int32 }

func (s *starter) start(context.Context) (*testEnv, error) {
	return &testEnv{id: int(s.n.Add(1))}, nil
}

func TestReuseMostRecentAndScaleOut(t *testing.T) {
	p := New[*testEnv](Config{})
	defer p.Close(context.Background())
	var s starter
	k := Key{"f", "$LATEST", "r1"}
	ctx := context.Background()
	a, _ := p.Acquire(ctx, k, s.start)
	b, _ := p.Acquire(ctx, k, s.start) // a busy → new one
	if !a.Cold || !b.Cold || a.Env == b.Env {
		t.Fatal("busy environment handed out twice")
	}
	a.Release(false)
	b.Release(false)
	c, _ := p.Acquire(ctx, k, s.start)
	if c.Cold || c.Env != b.Env {
		t.Fatalf("want the most recently used env %d, got %d cold=%v", b.Env.id, c.Env.id, c.Cold)
	}
	c.Release(false)
	c.Release(false) // twice is harmless
	if st := p.Stats(); st.Idle != 2 || st.Busy != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBrokenIsClosedNotReused(t *testing.T) {
	p := New[*testEnv](Config{})
	defer p.Close(context.Background())
	var s starter
	k := Key{"f", "1", "r"}
	a, _ := p.Acquire(context.Background(), k, s.start)
	a.Release(true)
	if !a.Env.closed.Load() {
		t.Fatal("broken env not closed")
	}
	b, _ := p.Acquire(context.Background(), k, s.start)
	if !b.Cold || b.Env == a.Env {
		t.Fatal("broken env reused")
	}
	b.Release(false)
}

func TestExitedWhileIdleIsClosedNotReused(t *testing.T) {
	p := New[*testEnv](Config{})
	defer p.Close(context.Background())
	var s starter
	k := Key{"f", "1", "r"}
	ctx := context.Background()
	a, _ := p.Acquire(ctx, k, s.start)
	b, _ := p.Acquire(ctx, k, s.start)
	a.Release(false)
	b.Release(false) // idle: a, b (b most recent)
	b.Env.exited.Store(true)
	c, _ := p.Acquire(ctx, k, s.start)
	c.Release(false)
	if c.Cold || c.Env != a.Env || !closedSoon(b.Env) {
		t.Fatalf("got env %d cold=%v, dead env closed=%v; want the live env 1", c.Env.id, c.Cold, b.Env.closed.Load())
	}
	c.Env.exited.Store(true)
	d, _ := p.Acquire(ctx, k, s.start)
	d.Release(false)
	if !d.Cold || !closedSoon(a.Env) {
		t.Fatalf("cold=%v, dead env closed=%v; want a new env when every idle one died", d.Cold, a.Env.closed.Load())
	}

	// The reaper closes a dead idle environment before anyone asks.
	d.Env.exited.Store(true)
	p.Reap()
	if !d.Env.closed.Load() || p.Stats().Idle != 0 {
		t.Fatalf("dead idle env closed=%v, idle=%d", d.Env.closed.Load(), p.Stats().Idle)
	}
}

// Retiring is off the caller's path, but never outlives the pool: Close
// returns only once every environment is closed.
func TestRetiringIsBackgroundButCloseWaitsForIt(t *testing.T) {
	p := New[*testEnv](Config{})
	var s starter
	old, _ := p.Acquire(context.Background(), Key{"f", "$LATEST", "r1"}, s.start)
	old.Env.gate = make(chan struct{})
	old.Release(false)
	// The old environment cannot finish closing until the gate opens:
	// Acquire returning at all shows it did not wait for it.
	n, err := p.Acquire(context.Background(), Key{"f", "$LATEST", "r2"}, s.start)
	if err != nil || !n.Cold {
		t.Fatalf("acquire: %v", err)
	}
	n.Release(false)
	closed := make(chan error, 1)
	go func() { closed <- p.Close(context.Background()) }()
	select {
	case <-closed:
		t.Fatal("Close returned while an environment was still closing")
	case <-time.After(100 * time.Millisecond):
	}
	close(old.Env.gate)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if !old.Env.closed.Load() || !n.Env.closed.Load() {
		t.Fatalf("Close returned before every environment was closed: old %v new %v", old.Env.closed.Load(), n.Env.closed.Load())
	}
}

// A configuration change wakes the reaper: the retired environment stops
// then, not at the next tick (5 s away with this idle timeout).
func TestChangeWakesTheReaper(t *testing.T) {
	var mu sync.Mutex
	changed := make(chan struct{})
	gone := map[string]bool{}
	p := New[*testEnv](Config{
		IdleTimeout: 10 * time.Minute,
		Valid:       func(k Key) bool { mu.Lock(); defer mu.Unlock(); return !gone[k.Function] },
		Changed:     func() <-chan struct{} { mu.Lock(); defer mu.Unlock(); return changed },
	})
	p.Start()
	defer p.Close(context.Background())
	var s starter
	a, _ := p.Acquire(context.Background(), Key{"a", "1", "r"}, s.start)
	b, _ := p.Acquire(context.Background(), Key{"b", "1", "r"}, s.start)
	a.Release(false)
	b.Release(false)
	mu.Lock()
	gone["a"] = true
	close(changed)
	changed = make(chan struct{})
	mu.Unlock()
	if !closedWithin(a.Env, 2*time.Second) {
		t.Fatal("the retired environment still runs 2 s after the change")
	}
	if b.Env.closed.Load() {
		t.Fatal("an environment of an unchanged function was closed")
	}
}

func TestRevisionChangeRetiresOldEnvironments(t *testing.T) {
	p := New[*testEnv](Config{})
	defer p.Close(context.Background())
	var s starter
	old, _ := p.Acquire(context.Background(), Key{"f", "$LATEST", "r1"}, s.start)
	old.Release(false)
	other, _ := p.Acquire(context.Background(), Key{"g", "$LATEST", "r1"}, s.start)
	other.Release(false)
	n, _ := p.Acquire(context.Background(), Key{"f", "$LATEST", "r2"}, s.start)
	n.Release(false)
	if !n.Cold || !closedSoon(old.Env) || other.Env.closed.Load() {
		t.Fatalf("cold=%v oldClosed=%v otherClosed=%v", n.Cold, old.Env.closed.Load(), other.Env.closed.Load())
	}
}

func TestReapIdleAndInvalid(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	var mu sync.Mutex
	dead := map[string]bool{}
	p := New[*testEnv](Config{
		IdleTimeout: time.Minute,
		Now:         func() time.Time { return time.Unix(0, now.Load()) },
		Valid:       func(k Key) bool { mu.Lock(); defer mu.Unlock(); return !dead[k.Function] },
	})
	defer p.Close(context.Background())
	var s starter
	a, _ := p.Acquire(context.Background(), Key{"a", "1", "r"}, s.start)
	b, _ := p.Acquire(context.Background(), Key{"b", "1", "r"}, s.start)
	a.Release(false)
	b.Release(false)
	mu.Lock()
	dead["b"] = true
	mu.Unlock()
	p.Reap()
	if a.Env.closed.Load() || !b.Env.closed.Load() {
		t.Fatal("deleted function's env kept or live one closed")
	}
	now.Add(int64(2 * time.Minute))
	p.Reap()
	if !a.Env.closed.Load() {
		t.Fatal("idle env not reaped")
	}
}

func TestCloseWaitsForBusyThenForces(t *testing.T) {
	p := New[*testEnv](Config{})
	p.Start()
	var s starter
	idle, _ := p.Acquire(context.Background(), Key{"f", "1", "r"}, s.start)
	idle.Release(false)
	busy, _ := p.Acquire(context.Background(), Key{"f", "1", "r2"}, s.start)
	go func() { time.Sleep(20 * time.Millisecond); busy.Release(false) }()
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !idle.Env.closed.Load() || !busy.Env.closed.Load() {
		t.Fatal("Close left environments running")
	}
	if _, err := p.Acquire(context.Background(), Key{"f", "1", "r"}, s.start); err != ErrClosed {
		t.Fatalf("acquire after close: %v", err)
	}

	p2 := New[*testEnv](Config{})
	stuck, _ := p2.Acquire(context.Background(), Key{"f", "1", "r"}, s.start)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := p2.Close(ctx); err == nil || !stuck.Env.closed.Load() {
		t.Fatalf("deadline did not force-close: %v", err)
	}
}

func TestAcquireWaitsForFinishingEnvironment(t *testing.T) {
	p := New[*testEnv](Config{})
	defer p.Close(context.Background())
	var s starter
	k := Key{"f", "1", "r"}
	a, _ := p.Acquire(context.Background(), k, s.start)
	a.Finishing()
	go func() { time.Sleep(5 * time.Millisecond); a.Release(false) }()
	b, err := p.Acquire(context.Background(), k, s.start)
	if err != nil || b.Cold || b.Env != a.Env {
		t.Fatalf("did not wait for the finishing env: cold=%v err=%v", b.Cold, err)
	}
	// A finishing env that never comes back costs at most FinishWait.
	b.Finishing()
	t0 := time.Now()
	c, _ := p.Acquire(context.Background(), k, s.start)
	if !c.Cold || time.Since(t0) > 10*FinishWait {
		t.Fatalf("cold=%v after %v", c.Cold, time.Since(t0))
	}
	b.Release(false)
	c.Release(false)
}
