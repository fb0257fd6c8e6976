package jetstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/lambada-dev/lambada/internal/store"
)

const (
	// kvHistory keeps only the latest value per key: revisions come from
	// the stream sequence, not from history.
	kvHistory = 1
	// watchBuffer decouples a watcher's reader from nats.go's delivery.
	watchBuffer = 64

	// The KV wire layout (NATS ADR-8), needed to publish delete markers
	// ourselves: nats.go's KeyValue.Delete does not return the revision.
	kvSubjectPrefix = "$KV."
	kvOpHeader      = "KV-Operation"
	kvOpDelete      = "DEL"
)

var _ store.KV = (*KV)(nil)

// validKey is store.KV's key rule, which is also JetStream KV's.
var validKey = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)

// KV is a store.KV on a JetStream KV bucket; safe for concurrent use.
// Only the newest value of each key is kept (history 1).
type KV struct {
	js     natsjs.JetStream
	kv     natsjs.KeyValue
	prefix string // subject prefix of the bucket's keys
	stream string // the bucket's stream
	leader *elections
}

// kvStreamPrefix names a KV bucket's stream.
const kvStreamPrefix = "KV_"

// OpenKV binds the KV bucket, creating it (file storage, history 1) when
// it does not exist.
func OpenKV(ctx context.Context, nc *nats.Conn, bucket string, opts ...Option) (*KV, error) {
	o := buildOptions(opts)
	js, err := natsjs.New(nc)
	if err != nil {
		return nil, fmt.Errorf("open KV bucket %q: %w", bucket, err)
	}
	var kv natsjs.KeyValue
	err = retryAPI(ctx, func(ctx context.Context) (err error) {
		kv, err = js.KeyValue(ctx, bucket)
		if errors.Is(err, natsjs.ErrBucketNotFound) {
			kv, err = js.CreateKeyValue(ctx, natsjs.KeyValueConfig{
				Bucket:      bucket,
				Description: "lambada",
				History:     kvHistory,
				TTL:         o.ttl,
				Storage:     natsjs.FileStorage,
				Replicas:    o.replicas,
			})
			if errors.Is(err, natsjs.ErrBucketExists) { // another node won the race
				kv, err = js.KeyValue(ctx, bucket)
			}
		}
		return err
	})
	if err == nil {
		err = settle(ctx, js, kvStreamPrefix+bucket, o.replicas, func(ctx context.Context) (err error) {
			kv, err = js.KeyValue(ctx, bucket)
			return err
		}, func(ctx context.Context) error {
			_, err := kv.Get(ctx, "lambada-probe")
			if errors.Is(err, natsjs.ErrKeyNotFound) {
				return nil
			}
			return err
		})
	}
	if err != nil {
		return nil, wrap(fmt.Sprintf("open KV bucket %q", bucket), err)
	}
	return &KV{js: js, kv: kv, prefix: kvSubjectPrefix + bucket + ".", stream: kvStreamPrefix + bucket,
		leader: followElections(nc, kvStreamPrefix+bucket)}, nil
}

// Get returns the current entry of key or store.ErrNotFound.
func (s *KV) Get(ctx context.Context, key string) (store.Entry, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	e, err := s.read(ctx, key)
	if err != nil {
		if errors.Is(err, natsjs.ErrKeyNotFound) {
			return store.Entry{}, fmt.Errorf("get %q: %w", key, store.ErrNotFound)
		}
		return store.Entry{}, wrap(fmt.Sprintf("get %q", key), err)
	}
	return store.Entry{Key: key, Value: e.Value(), Revision: e.Revision()}, nil
}

// Create writes key when it does not exist or was deleted.
func (s *KV) Create(ctx context.Context, key string, value []byte) (uint64, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	rev, err := s.casWrite(ctx, key, value, 0, func(ctx context.Context) (uint64, error) { return s.kv.Create(ctx, key, value) })
	if err != nil {
		if !isInProcess(err) && (isWrongLastSeq(err) || errors.Is(err, natsjs.ErrKeyExists)) {
			return 0, fmt.Errorf("create %q: %w", key, store.ErrExists)
		}
		return 0, wrap(fmt.Sprintf("create %q", key), err)
	}
	return rev, nil
}

// Update writes key when its current revision is rev.
func (s *KV) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	op := fmt.Sprintf("update %q at revision %d", key, rev)
	if err := s.checkRevision(ctx, key, rev); err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	newRev, err := s.casWrite(ctx, key, value, rev, func(ctx context.Context) (uint64, error) { return s.kv.Update(ctx, key, value, rev) })
	if err != nil {
		if !isInProcess(err) && (isWrongLastSeq(err) || errors.Is(err, natsjs.ErrKeyRevisionMismatch)) {
			return 0, fmt.Errorf("%s: %w (%v)", op, store.ErrConflict, err)
		}
		return 0, wrap(op, err)
	}
	return newRev, nil
}

// Delete writes a delete marker for key, with rev > 0 only when key's
// current revision is rev.
func (s *KV) Delete(ctx context.Context, key string, rev uint64) (uint64, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	op := fmt.Sprintf("delete %q", key)
	if !keyValid(key) {
		return 0, fmt.Errorf("%s: %w", op, natsjs.ErrInvalidKey)
	}
	var pubOpts []natsjs.PublishOpt
	if rev > 0 {
		op = fmt.Sprintf("delete %q at revision %d", key, rev)
		if err := s.checkRevision(ctx, key, rev); err != nil {
			return 0, fmt.Errorf("%s: %w", op, err)
		}
		pubOpts = append(pubOpts, natsjs.WithExpectLastSequencePerSubject(rev))
	}
	m := nats.NewMsg(s.prefix + key)
	m.Header.Set(kvOpHeader, kvOpDelete)
	seq, err := retryInProcess(ctx, func() (uint64, error) {
		ack, err := s.js.PublishMsg(ctx, m, pubOpts...)
		if err != nil {
			return 0, err
		}
		return ack.Sequence, nil
	})
	if err != nil {
		if isWrongLastSeq(err) {
			return 0, fmt.Errorf("%s: %w (%v)", op, store.ErrConflict, err)
		}
		return 0, wrap(op, err)
	}
	return seq, nil
}

// readFirstAttempt bounds the first try of a read; each next try may take
// twice as long, up to readMaxAttempt, until ctx ends, and a try still
// waiting when the stream elects a new leader is sent again at once. A
// read sent to a stream's leader that dies (or while a new one is
// elected) is never answered: asking again reaches the new leader as soon
// as it is there, where waiting for the lost answer took the whole
// OpTimeout. The first
// try is short because a management write begins with a read and a
// leader that stops hands over within a fraction of a second
// (docs/behaviour/cluster.md §4); the cap keeps the wait after an
// election (seconds when a server crashed) under readMaxAttempt, while a
// slow but live server still gets tries of up to that long. Reads are safe to
// repeat; writes are not (a lost answer says nothing about whether the
// write happened) and are not retried this way.
const (
	readFirstAttempt = 250 * time.Millisecond
	readMaxAttempt   = 2 * time.Second
)

func (s *KV) read(ctx context.Context, key string) (natsjs.KeyValueEntry, error) {
	attempt := readFirstAttempt
	for {
		actx, done := s.leader.attempt(ctx, attempt)
		e, err := s.kv.Get(actx, key)
		elected := done()
		lost := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || (elected && errors.Is(err, context.Canceled))
		if err == nil || !lost || ctx.Err() != nil {
			return e, err
		}
		if elected {
			// A new leader: ask it at once.
			attempt = readFirstAttempt
			continue
		}
		attempt = min(2*attempt, readMaxAttempt)
	}
}

// A compare-and-set write's try is bounded like a read's (writeFirstAttempt,
// doubling up to readMaxAttempt) and ended at once when the stream elects a
// new leader: a write sent to a leader that stops or dies is never
// answered. Its answer lost, whether it was stored is not known; the key
// tells: holding the value written at a revision after the one the write
// expected (after), it was (that revision is the answer);
// otherwise the write is sent again, and its compare-and-set decides. A
// conflict after a lost try is checked the same way: the lost try may
// have been stored meanwhile. A try nobody heard (unheard: the bucket's
// stream not listening on this client's server yet) was not stored and
// is simply sent again, until ctx ends.
const writeFirstAttempt = time.Second

func (s *KV) casWrite(ctx context.Context, key string, value []byte, after uint64, write func(context.Context) (uint64, error)) (uint64, error) {
	attempt, lostOne := writeFirstAttempt, false
	for {
		actx, done := s.leader.attempt(ctx, attempt)
		rev, err := retryInProcess(actx, func() (uint64, error) { return write(actx) })
		ended := actx.Err() != nil
		elected := done()
		if err == nil || ctx.Err() != nil {
			return rev, err
		}
		if unheard(err) {
			// Nobody took it, so it was not stored: again, after a pause.
			select {
			case <-ctx.Done():
				return rev, err
			case <-time.After(settleRetry):
			}
			continue
		}
		lost := ended && (unanswered(err) || errors.Is(err, context.Canceled) || isInProcess(err))
		conflict := !isInProcess(err) && (isWrongLastSeq(err) || errors.Is(err, natsjs.ErrKeyExists) || errors.Is(err, natsjs.ErrKeyRevisionMismatch))
		if !lost && !(conflict && lostOne) {
			return rev, err
		}
		if e, rerr := s.read(ctx, key); rerr == nil && e.Revision() > after && e.Operation() == natsjs.KeyValuePut && bytes.Equal(e.Value(), value) {
			return e.Revision(), nil
		}
		if !lost {
			return rev, err // a real conflict
		}
		lostOne = true
		if !elected {
			attempt = min(2*attempt, readMaxAttempt)
		}
	}
}

// checkRevision returns store.ErrConflict unless key exists at rev. The
// compare-and-set that follows it catches any later write, but not this
// case: a delete marker has a revision too, and the server would accept a
// write expecting it, reviving a deleted key through Update.
func (s *KV) checkRevision(ctx context.Context, key string, rev uint64) error {
	if rev == 0 {
		return store.ErrConflict
	}
	e, err := s.read(ctx, key)
	switch {
	case errors.Is(err, natsjs.ErrKeyNotFound):
		return store.ErrConflict
	case err != nil:
		return wrap("read current revision", err)
	case e.Revision() != rev:
		return fmt.Errorf("%w: the key is at revision %d", store.ErrConflict, e.Revision())
	}
	return nil
}

// A replicated stream's leader checks a compare-and-set before proposing
// it, and refuses one on a key that has a write proposed but not yet
// applied with 10164 ("wrong last sequence") instead of deciding. It
// acknowledges a write before it forgets it was in process, so a writer
// that sends its next compare-and-set at the revision it was just given
// can be refused although no one else wrote the key. That is no conflict:
// retryInProcess asks again until the leader decides (success or 10071,
// the real conflict) or ctx ends.
const (
	inProcessFirstWait = 2 * time.Millisecond
	inProcessMaxWait   = 100 * time.Millisecond
)

func retryInProcess(ctx context.Context, write func() (uint64, error)) (uint64, error) {
	wait := inProcessFirstWait
	for {
		rev, err := write()
		if !isInProcess(err) {
			return rev, err
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("the key's previous write is still being applied: %w", err)
		case <-time.After(wait):
		}
		wait = min(2*wait, inProcessMaxWait)
	}
}

func keyValid(key string) bool {
	return validKey.MatchString(key) && !strings.HasPrefix(key, ".") && !strings.HasSuffix(key, ".")
}

// A watch reads the bucket's stream through a consumer of its own: one
// copy, in memory, on one server of the stream's (JetStream picks which).
// When that server dies the consumer dies with it and nothing says so but
// the silence: the server sends a heartbeat every watchHeartbeat while it
// has nothing to deliver, and two missed make the watch create a consumer
// again from the revision after the last one it delivered. nats.go's own
// KV watch waits 10–20 s for the same (its heartbeat is a fixed 5 s),
// during which a node's registry view stood still after a NATS server
// died: a management write that waits for its revision in the view
// (docs/behaviour/cluster.md §4) waited as long.
const (
	watchHeartbeat = 500 * time.Millisecond // nats.go's least
	// watchExpiry is how long one pull request waits on the server for
	// something new; the watch then asks again.
	watchExpiry = 5 * time.Second
	// watchInactive: a consumer left behind (its watch gone with its
	// node) is deleted by the server after this.
	watchInactive = time.Minute
)

// Watch streams every current entry, a Ready marker, then every change,
// until ctx ends.
//
// The stream's last sequence, read before the watch starts, is the last
// initial value (the newest message of the stream is the newest of its
// key, so the watch delivers it): Ready is sent once it was delivered.
func (s *KV) Watch(ctx context.Context) (<-chan store.WatchMsg, error) {
	st, err := s.js.Stream(ctx, s.stream)
	if err != nil {
		return nil, wrap("watch", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, wrap("watch", err)
	}
	w := &watch{kv: s, last: info.State.LastSeq}
	if info.State.Msgs == 0 {
		w.last = 0
	}
	it, err := w.subscribe(ctx)
	if err != nil {
		return nil, wrap("watch", err)
	}
	out := make(chan store.WatchMsg, watchBuffer)
	go w.forward(ctx, it, out)
	return out, nil
}

// watch is one Watch's state, owned by its forward goroutine.
type watch struct {
	kv   *KV
	last uint64 // revision of the last initial value (0: none)
	seen uint64 // highest revision delivered (0: none yet)
	dseq uint64 // the current consumer's last delivery sequence
	cons natsjs.Consumer
}

// subscribe creates the watch's consumer: every key's newest entry at the
// first call, then from the revision after the last one delivered.
func (w *watch) subscribe(ctx context.Context) (natsjs.MessagesContext, error) {
	cfg := natsjs.ConsumerConfig{
		DeliverPolicy:     natsjs.DeliverLastPerSubjectPolicy,
		AckPolicy:         natsjs.AckNonePolicy,
		FilterSubject:     w.kv.prefix + ">",
		MemoryStorage:     true,
		Replicas:          1,
		InactiveThreshold: watchInactive,
	}
	if w.seen > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = natsjs.DeliverByStartSequencePolicy, w.seen+1
	}
	var cons natsjs.Consumer
	err := retryAPI(ctx, func(ctx context.Context) (err error) {
		cons, err = w.kv.js.CreateConsumer(ctx, w.kv.stream, cfg)
		return err
	})
	if err != nil {
		return nil, err
	}
	it, err := cons.Messages(natsjs.PullHeartbeat(watchHeartbeat), natsjs.PullExpiry(watchExpiry))
	if err != nil {
		w.drop(cons)
		return nil, err
	}
	w.cons, w.dseq = cons, 0
	return it, nil
}

// drop deletes a consumer the watch no longer reads, without waiting: it
// may be on a dead server, and the server deletes it after watchInactive
// anyway.
func (w *watch) drop(cons natsjs.Consumer) {
	if cons == nil {
		return
	}
	name := cons.CachedInfo().Name
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), firstAPIAttempt)
		defer cancel()
		_ = w.kv.js.DeleteConsumer(ctx, w.kv.stream, name)
	}()
}

// forward translates the consumer's messages into store.WatchMsgs, making
// the consumer again whenever it goes silent or skips a delivery. It owns
// out and closes it when ctx ends or the connection closes.
func (w *watch) forward(ctx context.Context, it natsjs.MessagesContext, out chan<- store.WatchMsg) {
	defer close(out)
	defer func() {
		if it != nil {
			it.Stop()
		}
		w.drop(w.cons)
	}()

	// Before Ready, the watch also delivers the delete markers of deleted
	// keys: they are not current entries, so they are dropped, unless
	// the key's value was already sent (it was deleted meanwhile).
	sent := make(map[string]bool)
	if w.last == 0 {
		sent = nil
		if !send(ctx, out, store.WatchMsg{Ready: true}) {
			return
		}
	}
	for {
		m, err := it.Next(natsjs.NextContext(ctx))
		if ctx.Err() != nil {
			return
		}
		var md *natsjs.MsgMetadata
		if err == nil {
			md, err = m.Metadata()
		}
		if err == nil && md.Sequence.Consumer != w.dseq+1 {
			err = errors.New("a delivery was skipped")
		}
		if err != nil {
			// Silent (its server died), deleted, skipped a delivery, or
			// the connection closed: make it again after what was seen.
			it.Stop()
			it = nil
			if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionDraining) || w.kv.js.Conn().IsClosed() {
				return
			}
			w.drop(w.cons)
			w.cons = nil
			if it = w.resubscribe(ctx); it == nil {
				return
			}
			continue
		}
		w.dseq = md.Sequence.Consumer
		rev := md.Sequence.Stream
		if rev <= w.seen {
			continue // already delivered by an earlier consumer
		}
		w.seen = rev
		key := strings.TrimPrefix(m.Subject(), w.kv.prefix)
		var msg store.WatchMsg
		switch op := m.Headers().Get(kvOpHeader); {
		case op == "": // a put
			msg.Event = store.Event{Key: key, Value: m.Data(), Revision: rev}
			if sent != nil {
				sent[key] = true
			}
		case sent != nil && !sent[key]: // DEL, PURGE
			// not sent: the key was gone before the watch began
		default:
			if sent != nil {
				delete(sent, key)
			}
			msg.Event = store.Event{Key: key, Revision: rev, Deleted: true}
		}
		if msg.Key != "" && !send(ctx, out, msg) {
			return
		}
		if sent != nil && w.seen >= w.last {
			sent = nil
			if !send(ctx, out, store.WatchMsg{Ready: true}) {
				return
			}
		}
	}
}

// resubscribe makes the watch's consumer again, asking until the cluster
// answers (a new leader may be being elected) or ctx ends; nil when ctx
// ended or the connection closed.
func (w *watch) resubscribe(ctx context.Context) natsjs.MessagesContext {
	for wait := settleRetry; ; wait = min(2*wait, time.Second) {
		it, err := w.subscribe(ctx)
		if err == nil {
			return it
		}
		if w.kv.js.Conn().IsClosed() {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

func send(ctx context.Context, out chan<- store.WatchMsg, msg store.WatchMsg) bool {
	select {
	case out <- msg:
		return true
	case <-ctx.Done():
		return false
	}
}
