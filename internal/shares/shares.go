// Package shares divides cluster-wide concurrency limits between the
// lambada nodes sharing one storage, so that the warm path needs no storage
// round trip: each node holds shares of a limit (one per invocation it may
// run), takes more from the limit's document in the KV by compare-and-set
// only when all it holds are busy, keeps idle shares for a moment (the next
// invocation reuses them) and then gives them back. Shares of nodes that
// are no longer live are not counted: a dead node's shares are reusable as
// soon as membership declares it gone. docs/behaviour/cluster.md §5.
package shares

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/lambada-dev/lambada/internal/logkey"
	"github.com/lambada-dev/lambada/internal/store"
)

const (
	// DefaultLinger is how long idle shares stay with a node.
	DefaultLinger = time.Second
	// DefaultTimeout bounds one attempt to take shares from the storage.
	DefaultTimeout = 2 * time.Second

	keyPrefix = "limit."
	// casAttempts bounds the compare-and-set retries of one take.
	casAttempts = 8
)

// ErrUnavailable: the storage did not answer; the caller decides what a
// share it cannot count means.
var ErrUnavailable = errors.New("shares: storage unavailable")

// Config configures a Pool.
type Config struct {
	// Node is this node's id, Live the ids of the live nodes (this one
	// included).
	Node string
	Live func() map[string]bool
	// Linger, Timeout: DefaultLinger, DefaultTimeout when 0.
	Linger  time.Duration
	Timeout time.Duration
	Logger  *slog.Logger
}

// Pool is this node's holding of shares of every limit.
type Pool struct {
	cfg Config
	kv  store.KV
	log *slog.Logger

	mu    sync.Mutex
	limit map[string]*holding

	stop context.CancelFunc
	wg   sync.WaitGroup
}

type holding struct {
	held, used int
	idleSince  time.Time // when used last dropped below held
	taking     sync.Mutex
}

// doc is a limit's document: the shares each node holds.
type doc struct {
	Nodes map[string]int `json:"nodes"`
}

// New returns a pool on kv; Start begins giving idle shares back.
func New(cfg Config, kv store.KV) *Pool {
	if cfg.Linger <= 0 {
		cfg.Linger = DefaultLinger
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Pool{cfg: cfg, kv: kv, log: log, limit: map[string]*holding{}}
}

func (p *Pool) holding(key string) *holding {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.limit[key]
	if h == nil {
		h = &holding{}
		p.limit[key] = h
	}
	return h
}

// Take reserves one share of key's limit for this node: one it holds when
// one is idle (no storage involved), otherwise one more taken from the
// limit's document. false: the live nodes together hold limit shares.
func (p *Pool) Take(ctx context.Context, key string, limit int) (bool, error) {
	h := p.holding(key)
	if p.useHeld(h) {
		return true, nil
	}
	// One storage round trip at a time per limit on this node; others
	// wait for it and may find a share freed meanwhile.
	h.taking.Lock()
	defer h.taking.Unlock()
	if p.useHeld(h) {
		return true, nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	ok, err := p.change(ctx, key, func(d *doc, live map[string]bool) bool {
		total := 0
		for n, c := range d.Nodes {
			if live[n] {
				total += c
			}
		}
		if total >= limit {
			return false
		}
		d.Nodes[p.cfg.Node]++
		return true
	})
	if !ok || err != nil {
		return false, err
	}
	p.mu.Lock()
	h.held++
	h.used++
	p.mu.Unlock()
	return true, nil
}

func (p *Pool) useHeld(h *holding) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h.used < h.held {
		h.used++
		return true
	}
	return false
}

// Put returns a share taken by Take to this node's idle shares.
func (p *Pool) Put(key string) {
	h := p.holding(key)
	p.mu.Lock()
	defer p.mu.Unlock()
	if h.used == h.held {
		h.idleSince = time.Now()
	}
	h.used--
}

// change applies fn to key's document by compare-and-set, dropping the
// entries of nodes that are not live; fn false leaves it as it is.
func (p *Pool) change(ctx context.Context, key string, fn func(d *doc, live map[string]bool) bool) (bool, error) {
	k := keyPrefix + key
	for range casAttempts {
		live := p.cfg.Live()
		live[p.cfg.Node] = true
		d := doc{Nodes: map[string]int{}}
		e, err := p.kv.Get(ctx, k)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return false, errors.Join(ErrUnavailable, err)
		default:
			if err := json.Unmarshal(e.Value, &d); err != nil || d.Nodes == nil {
				d.Nodes = map[string]int{}
			}
		}
		for n := range d.Nodes {
			if !live[n] || d.Nodes[n] <= 0 {
				delete(d.Nodes, n)
			}
		}
		if !fn(&d, live) {
			return false, nil
		}
		b, _ := json.Marshal(d)
		if e.Revision == 0 {
			_, err = p.kv.Create(ctx, k, b)
		} else {
			_, err = p.kv.Update(ctx, k, b, e.Revision)
		}
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrExists):
			continue // another node changed it: read again
		default:
			return false, errors.Join(ErrUnavailable, err)
		}
	}
	return false, errors.Join(ErrUnavailable, errors.New("too many concurrent changes"))
}

// Start gives idle shares back every half Linger until Close.
func (p *Pool) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(p.cfg.Linger / 2)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			p.giveBack(ctx, false)
		}
	}()
}

// giveBack returns the shares idle for Linger (all idle ones when all).
func (p *Pool) giveBack(ctx context.Context, all bool) {
	now := time.Now()
	p.mu.Lock()
	var keys []string
	for k, h := range p.limit {
		if h.used < h.held && (all || now.Sub(h.idleSince) >= p.cfg.Linger) {
			keys = append(keys, k)
		}
	}
	p.mu.Unlock()
	for _, k := range keys {
		h := p.holding(k)
		h.taking.Lock()
		p.mu.Lock()
		idle := h.held - h.used
		p.mu.Unlock()
		if idle > 0 {
			cctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
			var keep int
			ok, err := p.change(cctx, k, func(d *doc, _ map[string]bool) bool {
				// Another node may have dropped this one's entry while it
				// was not live: what it holds is what the document says.
				keep = max(d.Nodes[p.cfg.Node]-idle, 0)
				if keep == 0 {
					delete(d.Nodes, p.cfg.Node)
				} else {
					d.Nodes[p.cfg.Node] = keep
				}
				return true
			})
			cancel()
			if ok && err == nil {
				p.mu.Lock()
				h.held -= idle
				p.mu.Unlock()
			} else if err != nil {
				p.log.Debug("shares: giving idle shares back failed; retrying", logkey.Limit, k, logkey.Err, err)
			}
		}
		h.taking.Unlock()
	}
}

// Close stops the background loop and gives every idle share back
// (bounded by ctx).
func (p *Pool) Close(ctx context.Context) {
	if p.stop == nil {
		return
	}
	p.stop()
	p.wg.Wait()
	p.stop = nil
	p.giveBack(ctx, true)
}
