package async

import (
	"testing"
	"time"
)

// The throttle and system-error backoff grows with that attempt's own
// failures on the node — 1 s, 2 s, 4 s … 5 min — whatever else happened
// to the event (its deliveries are not counted), separately for each
// event and attempt; an attempt that ran starts again at 1 s; counts of
// events settled elsewhere are dropped once stale.
func TestBackoffCountsAnAttemptsOwnFailures(t *testing.T) {
	s := &Service{failures: map[failKey]failCount{}}
	a0, a1, b0 := failKey{"a", 0}, failKey{"a", 1}, failKey{"b", 0}
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		if got := s.backoffFor(a0); got != want {
			t.Fatalf("failure %d of a: %v, want %v", i+1, got, want)
		}
	}
	if got := s.backoffFor(b0); got != time.Second {
		t.Fatalf("b's first failure after a's third: %v", got)
	}
	if got := s.backoffFor(a1); got != time.Second {
		t.Fatalf("a's next attempt's first failure: %v", got)
	}
	s.forget(a0)
	if got := s.backoffFor(a0); got != time.Second {
		t.Fatalf("a failed again after its attempt ran: %v", got)
	}
	for range 12 {
		s.backoffFor(b0)
	}
	if got := s.backoffFor(b0); got != maxBackoff {
		t.Fatalf("b's 14th failure: %v, want %v", got, maxBackoff)
	}

	// Stale counts go once the map is large; fresh ones stay.
	stale := time.Now().Add(-3 * maxBackoff)
	for i := range pruneFloor {
		s.failures[failKey{"old", i}] = failCount{n: 5, last: stale}
	}
	s.backoffFor(failKey{"new", 0})
	if _, ok := s.failures[failKey{"old", 0}]; ok || len(s.failures) != 4 {
		t.Fatalf("after pruning %d counts are kept, want the 4 fresh ones (a0, a1, b0, new)", len(s.failures))
	}
	if got := s.backoffFor(a0); got != 2*time.Second {
		t.Fatalf("a's count did not survive the pruning: %v", got)
	}
}
