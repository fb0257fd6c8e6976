package invoke

import (
	"context"
	"sync"

	"github.com/lambada-dev/lambada/internal/awserr"
)

// Throttle reasons (docs/behaviour/invoke.md §10).
const (
	ReasonReserved = "ReservedFunctionConcurrentInvocationLimitExceeded"
	ReasonAccount  = "ConcurrentInvocationLimitExceeded"
)

// Shares counts concurrency across the nodes sharing a cluster
// (shares.Pool): Take reserves one of limit for key, false when the
// cluster is full, an error when it cannot tell; Put gives it back.
type Shares interface {
	Take(ctx context.Context, key string, limit int) (bool, error)
	Put(key string)
}

// limiter counts in-flight invocations per function and in the unreserved
// pool. It is the one place concurrency is admitted: with shares, the
// limits hold across every node of a cluster (docs/behaviour/cluster.md §5).
type limiter struct {
	account int
	shares  Shares // nil: this node's count only

	mu         sync.Mutex
	inflight   map[string]int
	unreserved int // in-flight invocations of functions without a reservation
}

func newLimiter(account int, shares Shares) *limiter {
	return &limiter{account: account, shares: shares, inflight: map[string]int{}}
}

// admit reserves one slot for function fn. reserved is its reservation
// (nil = none), reservedTotal the sum of all reservations. The returned
// release must be called exactly once. This node's count comes first;
// then, in a cluster, a share of the cluster-wide limit — from those the
// node holds, without storage, on the warm path. When the storage cannot
// tell, this node's count stands alone (docs/behaviour/cluster.md §5).
func (l *limiter) admit(ctx context.Context, fn string, reserved *int, reservedTotal int) (func(), error) {
	release, err := l.admitLocal(fn, reserved, reservedTotal)
	if err != nil || l.shares == nil {
		return release, err
	}
	key, limit, reason := "account", l.account-reservedTotal, ReasonAccount
	if reserved != nil {
		key, limit, reason = "fn."+fn, *reserved, ReasonReserved
	}
	ok, err := l.shares.Take(ctx, key, limit)
	switch {
	case err != nil:
		return release, nil
	case !ok:
		release()
		return nil, throttled(reason)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			l.shares.Put(key)
			release()
		})
	}, nil
}

func (l *limiter) admitLocal(fn string, reserved *int, reservedTotal int) (func(), error) {
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
