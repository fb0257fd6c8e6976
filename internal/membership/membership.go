// Package membership tells the lambada nodes sharing one storage about each
// other: every node announces itself (id, address, version, start time,
// active environments) in a KV bucket and rewrites its entry every
// heartbeat; a node whose entry stops changing for DeadAfter, as timed by
// each observer's own clock (no clock is compared across machines), is
// gone. docs/behaviour/cluster.md §2.
package membership

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lambada-dev/lambada/internal/logkey"
	"github.com/lambada-dev/lambada/internal/store"
)

const (
	// DefaultHeartbeat is how often a node rewrites its entry.
	DefaultHeartbeat = time.Second
	// DefaultDeadAfter is how long an entry may stay unchanged before its
	// node counts as gone.
	DefaultDeadAfter = 5 * time.Second
	// DefaultForgetAfter is how long a dead node's entry stays in the
	// bucket before a live node deletes it.
	DefaultForgetAfter = time.Minute

	keyPrefix = "node."
)

// Node is what a node announces.
type Node struct {
	ID           string    `json:"id"`
	Address      string    `json:"address"`
	Version      string    `json:"version"`
	Started      time.Time `json:"started"`
	Environments int       `json:"environments"`
}

// Config describes this node.
type Config struct {
	// ID names the node; "" = hostname plus a random suffix.
	ID      string
	Address string
	Version string
	// Environments counts this node's active environments at each
	// heartbeat; nil = 0.
	Environments func() int
	Heartbeat    time.Duration
	DeadAfter    time.Duration
	ForgetAfter  time.Duration
	Logger       *slog.Logger
}

// Members announces this node and follows the others.
type Members struct {
	cfg  Config
	kv   store.KV
	log  *slog.Logger
	self Node

	stop context.CancelFunc
	wg   sync.WaitGroup

	mu    sync.Mutex
	peers map[string]peer // by id, this node included
}

type peer struct {
	node Node
	rev  uint64
	seen time.Time // local time the entry last changed
	gone bool      // logged as gone
}

// New prepares membership on kv; nothing happens until Start.
func New(cfg Config, kv store.KV) *Members {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.DeadAfter <= 0 {
		cfg.DeadAfter = DefaultDeadAfter
	}
	if cfg.ForgetAfter <= 0 {
		cfg.ForgetAfter = DefaultForgetAfter
	}
	if cfg.ID == "" {
		cfg.ID = newID()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Members{
		cfg: cfg, kv: kv, log: log, peers: map[string]peer{},
		self: Node{ID: cfg.ID, Address: cfg.Address, Version: cfg.Version, Started: time.Now().UTC().Truncate(time.Millisecond)},
	}
}

var unsafeID = regexp.MustCompile(`[^-_a-zA-Z0-9]`)

func newID() string {
	host, _ := os.Hostname()
	host = strings.Trim(unsafeID.ReplaceAllString(host, "-"), "-")
	if host == "" {
		host = "node"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

// ID is this node's id.
func (m *Members) ID() string { return m.self.ID }

// Start announces this node and begins following the bucket; it returns
// once the announcement is stored and the current entries are read.
func (m *Members) Start(ctx context.Context) error {
	rev, err := m.announce(ctx, 0)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(context.Background())
	ch, err := m.kv.Watch(wctx)
	if err != nil {
		cancel()
		return err
	}
	m.stop = cancel
	ready := make(chan struct{})
	m.wg.Add(2)
	go m.follow(ch, ready)
	go m.beat(wctx, rev)
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// announce writes this node's entry over the revision it last wrote (0:
// whatever is there) and returns the new revision.
func (m *Members) announce(ctx context.Context, rev uint64) (uint64, error) {
	n := m.self
	if m.cfg.Environments != nil {
		n.Environments = m.cfg.Environments()
	}
	b, _ := json.Marshal(n)
	key := keyPrefix + n.ID
	if rev > 0 {
		if r, err := m.kv.Update(ctx, key, b, rev); err == nil {
			return r, nil
		}
	}
	e, err := m.kv.Get(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return m.kv.Create(ctx, key, b)
	case err != nil:
		return 0, err
	}
	return m.kv.Update(ctx, key, b, e.Revision)
}

func (m *Members) beat(ctx context.Context, rev uint64) {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.Heartbeat)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		bctx, cancel := context.WithTimeout(ctx, m.cfg.Heartbeat*2)
		r, err := m.announce(bctx, rev)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if !failing {
				m.log.Warn("membership: heartbeat failed; other nodes will count this one gone", logkey.Err, err)
			}
			failing = true
			continue
		}
		if failing {
			m.log.Info("membership: heartbeat written again")
		}
		failing, rev = false, r
		m.sweep(ctx)
	}
}

// sweep logs nodes gone since the last heartbeat and deletes entries of
// nodes gone for ForgetAfter.
func (m *Members) sweep(ctx context.Context) {
	now := time.Now()
	m.mu.Lock()
	var forget []peer
	for id, p := range m.peers {
		if id == m.self.ID {
			continue
		}
		age := now.Sub(p.seen)
		if age > m.cfg.DeadAfter && !p.gone {
			m.log.Info("membership: node gone", logkey.Node, id, logkey.Silent, age.Round(time.Millisecond))
			p.gone = true
			m.peers[id] = p
		}
		if age > m.cfg.ForgetAfter {
			forget = append(forget, p)
		}
	}
	m.mu.Unlock()
	for _, p := range forget {
		_, _ = m.kv.Delete(ctx, keyPrefix+p.node.ID, p.rev)
	}
}

func (m *Members) follow(ch <-chan store.WatchMsg, ready chan struct{}) {
	defer m.wg.Done()
	for msg := range ch {
		if msg.Ready {
			close(ready)
			continue
		}
		id, ok := strings.CutPrefix(msg.Key, keyPrefix)
		if !ok {
			continue
		}
		m.mu.Lock()
		if msg.Deleted {
			delete(m.peers, id)
		} else {
			var n Node
			if json.Unmarshal(msg.Value, &n) == nil {
				if _, known := m.peers[id]; !known && id != m.self.ID {
					m.log.Info("membership: node joined", logkey.Node, id, logkey.Address, n.Address)
				}
				m.peers[id] = peer{node: n, rev: msg.Revision, seen: time.Now()}
			}
		}
		m.mu.Unlock()
	}
}

// Live returns the nodes heard from within DeadAfter, this one always
// included, sorted by id.
func (m *Members) Live() []Node {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []Node{}
	self := false
	for id, p := range m.peers {
		if id == m.self.ID || now.Sub(p.seen) <= m.cfg.DeadAfter {
			out = append(out, p.node)
			self = self || id == m.self.ID
		}
	}
	if !self {
		out = append(out, m.self)
	}
	slices.SortFunc(out, func(a, b Node) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// LiveIDs is the set of ids of Live.
func (m *Members) LiveIDs() map[string]bool {
	ids := map[string]bool{}
	for _, n := range m.Live() {
		ids[n.ID] = true
	}
	return ids
}

// Close stops heartbeating and removes this node's entry (bounded by ctx
// and DeadAfter: the others notice a node gone after that anyway), so the
// others see it leave at once.
func (m *Members) Close(ctx context.Context) error {
	if m.stop == nil {
		return nil
	}
	m.stop()
	m.wg.Wait()
	m.stop = nil
	ctx, cancel := context.WithTimeout(ctx, m.cfg.DeadAfter)
	defer cancel()
	_, err := m.kv.Delete(ctx, keyPrefix+m.self.ID, 0)
	return err
}
