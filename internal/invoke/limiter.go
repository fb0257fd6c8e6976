package invoke

import (
	"sync"

	"github.com/lambada-dev/lambada/internal/awserr"
)

// Throttle reasons (docs/behaviour/invoke.md §10).
const (
	ReasonReserved = "ReservedFunctionConcurrentInvocationLimitExceeded"
	ReasonAccount  = "ConcurrentInvocationLimitExceeded"
)

// limiter counts in-flight invocations per function and in the unreserved
// pool. It is the one place concurrency is admitted: a cluster-wide count
// replaces it when several nodes share one account.
type limiter struct {
	account int

	mu         sync.Mutex
	inflight   map[string]int
	unreserved int // in-flight invocations of functions without a reservation
}

func newLimiter(account int) *limiter {
	return &limiter{account: account, inflight: map[string]int{}}
}

// admit reserves one slot for function fn. reserved is its reservation
// (nil = none), reservedTotal the sum of all reservations. The returned
// release must be called exactly once.
func (l *limiter) admit(fn string, reserved *int, reservedTotal int) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if reserved != nil {
		if l.inflight[fn] >= *reserved {
			return nil, throttled(ReasonReserved)
		}
	} else if l.unreserved >= l.account-reservedTotal {
		return nil, throttled(ReasonAccount)
	}
	l.inflight[fn]++
	if reserved == nil {
		l.unreserved++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.inflight[fn]--; l.inflight[fn] <= 0 {
				delete(l.inflight, fn)
			}
			if reserved == nil {
				l.unreserved--
			}
		})
	}, nil
}

func throttled(reason string) error {
	e := awserr.New(awserr.TooManyRequests, "Rate Exceeded.")
	e.Reason = reason
	return e
}
