package jetstream

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// leaderElectedSubject is where JetStream announces, in the stream's own
// account, that a stream has a new leader.
const leaderElectedSubject = "$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED."

// elections follows one stream's leader elections. A request sent to a
// leader that died is never answered; the moment a new one is elected
// the request can be sent again and be answered, where waiting for the
// try's own bound only added to the outage (docs/behaviour/cluster.md §4).
type elections struct {
	mu     sync.Mutex
	next   context.Context // done at the next election
	cancel context.CancelFunc
}

// followElections subscribes to stream's election advisories on nc. The
// subscription lives as long as the connection. Without it (the server
// refused it), tries just run out their own bound.
func followElections(nc *nats.Conn, stream string) *elections {
	e := &elections{}
	e.next, e.cancel = context.WithCancel(context.Background())
	_, _ = nc.Subscribe(leaderElectedSubject+stream, func(*nats.Msg) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.cancel()
		e.next, e.cancel = context.WithCancel(context.Background())
	})
	return e
}

// attempt derives from ctx a context for one try, ended after d or at
// the stream's next leader election, whichever comes first; elected
// reports (after the try) whether an election ended it.
func (e *elections) attempt(ctx context.Context, d time.Duration) (actx context.Context, done func() (elected bool)) {
	actx, cancel := context.WithTimeout(ctx, d)
	if e == nil {
		return actx, func() bool { cancel(); return false }
	}
	e.mu.Lock()
	next := e.next
	e.mu.Unlock()
	stop := context.AfterFunc(next, cancel)
	return actx, func() bool {
		stop()
		cancel()
		return next.Err() != nil && ctx.Err() == nil
	}
}
