// Package registry is lambada's control plane: functions, versions,
// aliases and their settings, with validation, ARNs and revision ids.
//
// Every function is one JSON document in the store's KV, changed only by
// compare-and-set. Reads come from an in-memory view that a store watch
// keeps current, so the invoke path never waits on storage; a writer waits
// until its own write is in the view before it answers (read-your-writes),
// and other nodes sharing the store see it as soon as their watch does.
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/lambada-dev/lambada/internal/awserr"
	"github.com/lambada-dev/lambada/internal/function"
	"github.com/lambada-dev/lambada/internal/logkey"
	"github.com/lambada-dev/lambada/internal/store"
)

// keyPrefix namespaces function documents in the KV.
const keyPrefix = "fn."

// maxCASRetries bounds the read-modify-write loop of one change.
const maxCASRetries = 16

// Config is the registry's own configuration.
type Config struct {
	Region    string
	AccountID string
	// AccountConcurrency is the account's concurrency limit (--max-concurrency).
	AccountConcurrency int
	// HotReloadBucket is the S3Bucket value that marks Code as a host
	// folder (docs/behaviour/dev-loop.md §1); "" turns the marker off.
	HotReloadBucket string
	// HostCode allows code from host folders; when false the marker is
	// refused (docs/behaviour/dev-loop.md §2).
	HostCode bool
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Registry owns the function documents.
type Registry struct {
	cfg   Config
	kv    store.KV
	blobs store.Blobs
	log   *slog.Logger

	mu     sync.RWMutex
	funcs  map[string]*function.Function
	layers map[string]*function.Layer
	// revs is the revision of each key's newest event in the view (by
	// store key),
	// deletions included. A watch may skip a value that a later write of
	// the same key superseded, so a writer waits for its key to reach its
	// revision, not for the watch as a whole to pass it.
	revs  map[string]uint64
	moved chan struct{} // closed and replaced whenever the view changes
	// reserved is the sum of all reservations in the view, kept as
	// documents come and go so the invoke path reads it in O(1).
	reserved int
	// urls indexes function URL ids to their function and qualifier.
	urls map[string]urlEntry

	ready chan struct{}
	wg    sync.WaitGroup
	stop  context.CancelFunc
}

// New builds a registry; it does nothing until Start.
func New(cfg Config, kv store.KV, blobs store.Blobs) *Registry {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AccountConcurrency == 0 {
		cfg.AccountConcurrency = function.DefaultAccountLimit
	}
	return &Registry{
		cfg: cfg, kv: kv, blobs: blobs, log: cfg.Logger,
		funcs: map[string]*function.Function{}, layers: map[string]*function.Layer{},
		revs:  map[string]uint64{},
		urls:  map[string]urlEntry{},
		moved: make(chan struct{}),
		ready: make(chan struct{}),
	}
}

// Start begins following the store and returns once the view holds every
// stored function.
func (r *Registry) Start(ctx context.Context) error {
	wctx, cancel := context.WithCancel(context.Background())
	ch, err := r.kv.Watch(wctx)
	if err != nil {
		cancel()
		return fmt.Errorf("watching the registry: %w", err)
	}
	r.stop = cancel
	r.wg.Add(1)
	go r.follow(ch)
	select {
	case <-r.ready:
		return nil
	case <-ctx.Done():
		cancel()
		r.wg.Wait()
		return fmt.Errorf("loading the registry: %w", ctx.Err())
	}
}

// Close stops following the store.
func (r *Registry) Close(ctx context.Context) error {
	if r.stop != nil {
		r.stop()
	}
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Changed returns a channel closed at the view's next change (any
// function's document written or deleted, on any node).
func (r *Registry) Changed() <-chan struct{} {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.moved
}

// Ready is closed once the view is loaded.
func (r *Registry) Ready() <-chan struct{} { return r.ready }

func (r *Registry) follow(ch <-chan store.WatchMsg) {
	defer r.wg.Done()
	readyOnce := sync.OnceFunc(func() { close(r.ready) })
	for m := range ch {
		if m.Ready {
			readyOnce()
			continue
		}
		r.apply(m.Event)
	}
}

func (r *Registry) apply(ev store.Event) {
	if name, ok := strings.CutPrefix(ev.Key, layerPrefix); ok {
		r.applyLayer(ev, name)
		return
	}
	name, ok := strings.CutPrefix(ev.Key, keyPrefix)
	if !ok {
		return
	}
	var f *function.Function
	if !ev.Deleted {
		f = new(function.Function)
		if err := json.Unmarshal(ev.Value, f); err != nil {
			r.log.Error("registry: undecodable function document", logkey.Key, ev.Key, logkey.Err, err)
			return
		}
	}
	r.mu.Lock()
	if r.stale(ev) {
		r.mu.Unlock()
		return
	}
	old, ok := r.funcs[name]
	if ok && old.ReservedConcurrency != nil {
		r.reserved -= *old.ReservedConcurrency
	}
	// The URL id index follows the documents (function URLs are found by
	// id on the data plane).
	r.indexURLs(old, f)
	if f == nil {
		delete(r.funcs, name)
	} else {
		r.funcs[name] = f
		if f.ReservedConcurrency != nil {
			r.reserved += *f.ReservedConcurrency
		}
	}
	r.moveLocked(ev)
	r.mu.Unlock()
}

// stale reports an event at or below the revision the view holds of its
// key: the node's own write, put into the view when it was acknowledged
// (written), comes back through the watch; a write from another node that
// the watch brings after a newer one of this node's is superseded. r.mu
// is held.
func (r *Registry) stale(ev store.Event) bool {
	return ev.Revision <= r.revs[ev.Key]
}

// written puts a document this node has just stored (or deleted) at rev
// into the view, as the watch will bring it: the caller's next read on
// this node sees its write without waiting for the watch, which may be
// making its consumer again after a NATS server died
// (docs/behaviour/cluster.md §4).
func (r *Registry) written(key string, value []byte, rev uint64, deleted bool) {
	ev := store.Event{Key: key, Value: value, Revision: rev, Deleted: deleted}
	if deleted {
		ev.Value = nil
	}
	r.apply(ev)
}

// moveLocked records ev's revision and wakes the view's waiters; r.mu is
// held.
func (r *Registry) moveLocked(ev store.Event) {
	if ev.Revision > r.revs[ev.Key] {
		r.revs[ev.Key] = ev.Revision
	}
	close(r.moved)
	r.moved = make(chan struct{})
}

// Function returns the view's document of name. The document is shared and
// must not be modified.
func (r *Registry) Function(name string) (*function.Function, bool) {
	r.mu.RLock()
	f, ok := r.funcs[name]
	r.mu.RUnlock()
	return f, ok
}

// ReservedTotal is the sum of every function's reserved concurrency.
func (r *Registry) ReservedTotal() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.reserved
}

// names returns the view's function names, sorted.
func (r *Registry) names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return sortedKeys(r.funcs)
}

// Functions returns the view's documents, sorted by name (the console's
// table). The documents are shared and must not be modified.
func (r *Registry) Functions() []*function.Function {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*function.Function, 0, len(r.funcs))
	for _, n := range sortedKeys(r.funcs) {
		out = append(out, r.funcs[n])
	}
	return out
}

// load reads a function document from the store itself (not the view), for
// a compare-and-set.
func (r *Registry) load(ctx context.Context, name string) (*function.Function, uint64, error) {
	e, err := r.kv.Get(ctx, keyPrefix+name)
	if err != nil {
		return nil, 0, err
	}
	f := new(function.Function)
	if err := json.Unmarshal(e.Value, f); err != nil {
		return nil, 0, fmt.Errorf("decoding function %s: %w", name, err)
	}
	return f, e.Revision, nil
}

// errNoChange lets a change function say "nothing to write".
var errNoChange = errors.New("no change")

// change applies fn to the stored document of name with compare-and-set,
// retrying on concurrent writers, and waits until the view has it. fn gets
// a private copy; returning errNoChange skips the write.
func (r *Registry) change(ctx context.Context, name string, fn func(f *function.Function) error) (*function.Function, error) {
	for range maxCASRetries {
		f, rev, err := r.load(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return nil, r.notFound(name, "")
		}
		if err != nil {
			return nil, awserr.Internal(err)
		}
		if err := fn(f); err != nil {
			if errors.Is(err, errNoChange) {
				return f, nil
			}
			return nil, err
		}
		b, err := json.Marshal(f)
		if err != nil {
			return nil, awserr.Internal(err)
		}
		nrev, err := r.kv.Update(ctx, keyPrefix+name, b, rev)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, awserr.Internal(fmt.Errorf("storing function %s: %w", name, err))
		}
		r.written(keyPrefix+name, b, nrev, false)
		return f, nil
	}
	return nil, awserr.Newf(awserr.ResourceConflict,
		"The operation cannot be performed at this time. An update is in progress for resource: %s", r.arn(name, ""))
}

func (r *Registry) arn(name, qualifier string) string {
	return function.ARN(r.cfg.Region, r.cfg.AccountID, name, qualifier)
}

// ARN formats a function ARN of this registry's region and account.
func (r *Registry) ARN(name, qualifier string) string { return r.arn(name, qualifier) }

func (r *Registry) notFound(name, qualifier string) error {
	return awserr.New(awserr.ResourceNotFound, "Function not found: "+r.arn(name, qualifier))
}

func (r *Registry) now() time.Time { return r.cfg.Now().UTC() }

func newRevision() string { return uuid.NewString() }

// sortVersions keeps f.Versions ascending by number.
func sortVersions(f *function.Function) {
	sort.Slice(f.Versions, func(i, j int) bool {
		return versionNumber(f.Versions[i].Version) < versionNumber(f.Versions[j].Version)
	})
}

func versionNumber(v string) int {
	n := 0
	for _, c := range v {
		n = n*10 + int(c-'0')
	}
	return n
}

// EventInvokeConfig returns the async settings of a function's qualifier
// ("" = $LATEST) from the view; nil when none is set.
func (r *Registry) EventInvokeConfig(name, qualifier string) *function.EventInvokeConfig {
	if qualifier == "" {
		qualifier = function.Latest
	}
	f, ok := r.Function(name)
	if !ok {
		return nil
	}
	return f.EventInvokeConfigs[qualifier]
}
