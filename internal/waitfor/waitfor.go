// Package waitfor is how tests wait for something that happens in its own
// time (an environment reaped, an event delivered, a server ready): poll a
// condition until a deadline, never sleep and hope. It depends on the
// standard library only, so a test of any package can use it, including
// the packages servertest is built from.
package waitfor

import (
	"errors"
	"testing"
	"time"
)

// First and longest pause between two polls. Polls start fast, so a
// condition that is nearly true costs little, and back off, so a slow
// one does not eat a loaded machine's CPU.
const (
	firstPause = 5 * time.Millisecond
	maxPause   = 100 * time.Millisecond
)

// Eventually calls cond until it returns nil and fails t (t.Fatalf, so
// call it from the test's goroutine) with cond's last error once timeout
// has passed. cond runs at least once, and once more after the deadline
// if the last try started before it.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	if err := Until(timeout, cond); err != nil {
		t.Fatalf("still not so after %v: %v", timeout, err)
	}
}

// True is Eventually for a condition without an error: what says what
// was awaited, for the failure message.
func True(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	Eventually(t, timeout, func() error {
		if cond() {
			return nil
		}
		return errors.New(what)
	})
}

// Until is Eventually's loop for callers that handle the failure
// themselves: it returns nil as soon as cond does, or cond's last error
// once timeout has passed.
func Until(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	pause := firstPause
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if !time.Now().Before(deadline) {
			return err
		}
		time.Sleep(min(pause, max(time.Until(deadline), time.Millisecond)))
		pause = min(2*pause, maxPause)
	}
}
