package async

import "testing"

// The admission rule on a node of 8 workers (a share is 2): a function
// always gets its share; beyond it only while a share stays free; never
// more than 8 attempts at once, whoever asks.
func TestAdmission(t *testing.T) {
	s := &Service{cfg: Config{InFlight: 8}, running: map[string]int{}, parked: map[string][]*parkedEvent{}}
	take := func(fn string, want bool) {
		t.Helper()
		s.mu.Lock()
		got := s.takeLocked(fn)
		s.mu.Unlock()
		if got != want {
			t.Fatalf("take %s with %v running (%d busy): %v, want %v", fn, s.running, s.busy, got, want)
		}
	}
	for range 6 {
		take("f", true) // alone: three quarters
	}
	take("f", false) // the last quarter stays free
	take("g", true)
	take("g", true) // g's share, although f holds six
	take("g", false)
	take("h", false) // all 8 busy: not even h's share
	s.put("g")
	take("h", true) // h under its share, a worker free
	take("h", false)
	s.put("f")
	take("f", false) // f beyond its share and a share not free
	take("g", true)
	for range 4 {
		s.put("f") // f 1, g 2, h 1: 4 busy
	}
	take("f", true)  // under its share: 5 busy
	take("f", true)  // beyond it, 3 free: 6 busy
	take("f", false) // beyond it, only a share free
	if s.busy != 6 || s.running["f"] != 3 || s.running["g"] != 2 || s.running["h"] != 1 {
		t.Fatalf("%v running, %d busy; want f 3, g 2, h 1: 6", s.running, s.busy)
	}
}
