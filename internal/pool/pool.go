// Package pool keeps environments per function version: it hands out the
// most recently used idle one, starts a new one when all are busy, retires
// environments whose version changed or went away, and reaps idle ones.
//
// The pool does not count concurrency: the invoke service admits an
// invocation before it asks for an environment, so the pool never holds
// more busy environments than the limits allow.
package pool

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/lambada-dev/lambada/internal/logkey"
)

// Env is what the pool needs of an environment.
type Env interface {
	// Close stops the environment and everything it started.
	Close() error
	// Exited reports whether the environment's process has ended. An idle
	// environment can die (killed from outside, a background timer calling
	// exit): it is closed instead of being handed to the next caller,
	// who would otherwise get the dead process's exit error.
	Exited() bool
}

// Key names the configuration an environment runs: a function version at
// one revision. $LATEST gets a new revision on every change, so its old
// environments are never handed out again.
type Key struct {
	Function string
	Version  string
	Revision string
}

// Defaults.
const (
	DefaultIdleTimeout = 10 * time.Minute
)

// Config configures a pool.
type Config struct {
	// IdleTimeout closes environments idle for longer.
	IdleTimeout time.Duration
	// Valid reports whether a key still names a live configuration; idle
	// environments of invalid keys are closed by the reaper. nil = always.
	Valid func(Key) bool
	// Changed, when set, returns a channel closed when Valid's answers may
	// have changed (a function updated or deleted): the reaper runs at
	// once, so retired environments stop when their configuration goes,
	// not at the next invocation or tick.
	Changed func() <-chan struct{}
	Logger  *slog.Logger
	// Now is the clock; nil = time.Now.
	Now func() time.Time
}

// ErrClosed is returned by Acquire after Close began.
var ErrClosed = errors.New("pool: closed")

// Pool holds environments of type E.
type Pool[E Env] struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	idle   map[Key][]*entry[E] // most recently used last
	busy   map[*entry[E]]struct{}
	closed bool
	// finishing counts busy environments that already answered their
	// caller and are only completing (the runtime's next /next, the log);
	// waiting counts Acquires waiting for one of them.
	finishing map[Key]int
	waiting   map[Key]int
	released  chan struct{} // closed and replaced on a release while watched
	watched   bool          // an Acquire waits on released

	stop    chan struct{}
	wg      sync.WaitGroup // the reaper
	closing sync.WaitGroup // environments being closed in the background
}

type entry[E Env] struct {
	env       E
	key       Key
	lastUsed  time.Time
	finishing bool
	lease     uint64 // counts the leases of this environment
}

// Lease is one acquired environment; give it back with Release.
type Lease[E Env] struct {
	Env E
	// Cold is true when the environment was started for this lease.
	Cold bool
	n    uint64 // which lease of e this is
	e    *entry[E]
	p    *Pool[E]
	once sync.Once
}

// New builds a pool; Start runs its reaper.
func New[E Env](cfg Config) *Pool[E] {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Pool[E]{
		cfg: cfg, log: cfg.Logger,
		idle: map[Key][]*entry[E]{}, busy: map[*entry[E]]struct{}{},
		finishing: map[Key]int{}, waiting: map[Key]int{},
		released: make(chan struct{}),
		stop:     make(chan struct{}),
	}
}

// Start runs the reaper until Close.
func (p *Pool[E]) Start() {
	p.wg.Add(1)
	go p.reap(p.changed()) // taken now: no change after Start goes unseen
}

// FinishWait bounds how long Acquire waits for a finishing environment of
// its key before it starts a new one.
const FinishWait = 50 * time.Millisecond

// Acquire returns an idle environment of key, or one made by start. An
// environment that already answered its caller and is only finishing is
// about to be idle: Acquire waits for it (up to FinishWait) rather than
// paying a cold start. Idle environments of the same function version at
// another revision (their configuration changed) and idle ones whose
// process ended are taken out on the way and closed in the background.
func (p *Pool[E]) Acquire(ctx context.Context, key Key, start func(context.Context) (E, error)) (*Lease[E], error) {
	deadline := p.cfg.Now().Add(FinishWait)
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		stale := p.takeStaleLocked(key)
		var dead []*entry[E]
		for list := p.idle[key]; len(list) > 0; list = p.idle[key] {
			e := list[len(list)-1]
			p.idle[key] = list[:len(list)-1]
			if len(p.idle[key]) == 0 {
				delete(p.idle, key)
			}
			if e.env.Exited() {
				dead = append(dead, e)
				continue
			}
			p.busy[e] = struct{}{}
			e.lease++
			n := e.lease
			p.retireLocked(stale, dead)
			p.mu.Unlock()
			return &Lease[E]{Env: e.env, e: e, n: n, p: p}, nil
		}
		wait := time.Until(deadline)
		if p.finishing[key] > p.waiting[key] && wait > 0 {
			p.waiting[key]++
			ch := p.released
			p.watched = true
			p.retireLocked(stale, dead)
			p.mu.Unlock()
			t := time.NewTimer(wait)
			select {
			case <-ch:
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
			p.mu.Lock()
			if p.waiting[key]--; p.waiting[key] == 0 {
				delete(p.waiting, key)
			}
			p.mu.Unlock()
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			continue
		}
		p.retireLocked(stale, dead)
		p.mu.Unlock()
		break
	}

	env, err := start(ctx)
	if err != nil {
		return nil, err
	}
	e := &entry[E]{env: env, key: key, lease: 1}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = env.Close()
		return nil, ErrClosed
	}
	p.busy[e] = struct{}{}
	p.mu.Unlock()
	return &Lease[E]{Env: env, Cold: true, e: e, n: 1, p: p}, nil
}

// retireLocked closes what an Acquire took out of the pool (stale: its
// configuration changed; dead: its process ended) in the background:
// stopping a process and removing its sandbox is no part of the caller's
// latency. p.mu is held, so the closing count is taken before any Close
// can wait for it.
func (p *Pool[E]) retireLocked(stale, dead []*entry[E]) {
	if len(stale)+len(dead) == 0 {
		return
	}
	p.closing.Add(1)
	go func() {
		defer p.closing.Done()
		p.closeAll(stale, "configuration changed")
		p.closeAll(dead, "exited while idle")
	}()
}

// Finishing says the leased environment answered its caller and will be
// released as soon as it is idle again; Acquire prefers waiting for it to
// starting a new one.
func (l *Lease[E]) Finishing() {
	p := l.p
	p.mu.Lock()
	defer p.mu.Unlock()
	// Only while this lease holds the environment: a late call must not
	// mark the environment's next lease.
	if _, busy := p.busy[l.e]; busy && l.e.lease == l.n && !l.e.finishing {
		l.e.finishing = true
		p.finishing[l.e.key]++
	}
}

// takeStaleLocked removes idle environments of key's function version with
// another revision.
func (p *Pool[E]) takeStaleLocked(key Key) []*entry[E] {
	var stale []*entry[E]
	for k, list := range p.idle {
		if k.Function == key.Function && k.Version == key.Version && k.Revision != key.Revision {
			stale = append(stale, list...)
			delete(p.idle, k)
		}
	}
	return stale
}

// Release gives the environment back: reusable unless broken. Releasing
// twice is harmless.
func (l *Lease[E]) Release(broken bool) {
	l.once.Do(func() { l.p.release(l.e, broken) })
}

func (p *Pool[E]) release(e *entry[E], broken bool) {
	p.mu.Lock()
	delete(p.busy, e)
	if e.finishing {
		e.finishing = false
		if p.finishing[e.key]--; p.finishing[e.key] == 0 {
			delete(p.finishing, e.key)
		}
	}
	if p.watched {
		close(p.released)
		p.released = make(chan struct{})
		p.watched = false
	}
	if broken || p.closed {
		p.mu.Unlock()
		p.closeAll([]*entry[E]{e}, "broken or shutting down")
		return
	}
	e.lastUsed = p.cfg.Now()
	p.idle[e.key] = append(p.idle[e.key], e)
	p.mu.Unlock()
}

// Stats counts environments.
type Stats struct{ Idle, Busy int }

// Stats returns the current counts.
func (p *Pool[E]) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Busy: len(p.busy)}
	for _, l := range p.idle {
		s.Idle += len(l)
	}
	return s
}

// reapInterval is how often idle environments are checked.
func (p *Pool[E]) reapInterval() time.Duration {
	return min(max(p.cfg.IdleTimeout/4, 10*time.Millisecond), 5*time.Second)
}

func (p *Pool[E]) reap(changed <-chan struct{}) {
	defer p.wg.Done()
	t := time.NewTicker(p.reapInterval())
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		case <-changed:
		}
		// The next signal is taken before reaping, so a change made while
		// Reap runs wakes the next round.
		changed = p.changed()
		p.Reap()
	}
}

// changed is the channel of the next configuration change, nil without
// a Changed hook.
func (p *Pool[E]) changed() <-chan struct{} {
	if p.cfg.Changed == nil {
		return nil
	}
	return p.cfg.Changed()
}

// Reap closes idle environments past the idle timeout, whose process
// ended, or whose key is no longer valid. The reaper calls it periodically.
func (p *Pool[E]) Reap() {
	now := p.cfg.Now()
	var gone []*entry[E]
	p.mu.Lock()
	for k, list := range p.idle {
		valid := p.cfg.Valid == nil || p.cfg.Valid(k)
		kept := list[:0]
		for _, e := range list {
			if !valid || now.Sub(e.lastUsed) > p.cfg.IdleTimeout || e.env.Exited() {
				gone = append(gone, e)
			} else {
				kept = append(kept, e)
			}
		}
		if len(kept) == 0 {
			delete(p.idle, k)
		} else {
			p.idle[k] = kept
		}
	}
	p.mu.Unlock()
	p.closeAll(gone, "idle, exited or retired")
}

func (p *Pool[E]) closeAll(list []*entry[E], why string) {
	for _, e := range list {
		if err := e.env.Close(); err != nil {
			p.log.Warn("pool: closing environment", logkey.Function, e.key.Function, logkey.Version, e.key.Version, logkey.Err, err)
		} else {
			p.log.Debug("pool: environment closed", logkey.Function, e.key.Function, logkey.Version, e.key.Version, logkey.Why, why)
		}
	}
}

// Close refuses new leases, closes idle environments, and closes busy ones
// as they are released or, when ctx ends first, at once.
func (p *Pool[E]) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	var idle []*entry[E]
	for _, l := range p.idle {
		idle = append(idle, l...)
	}
	p.idle = map[Key][]*entry[E]{}
	p.mu.Unlock()
	close(p.stop)
	p.wg.Wait()
	p.closeAll(idle, "shutdown")
	defer p.closing.Wait()

	for {
		p.mu.Lock()
		n := len(p.busy)
		p.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			p.mu.Lock()
			var busy []*entry[E]
			for e := range p.busy {
				busy = append(busy, e)
			}
			p.mu.Unlock()
			p.closeAll(busy, "shutdown deadline")
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
