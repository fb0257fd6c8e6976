// Package logstore keeps function log events on JetStream, the way
// CloudWatch Logs keeps them: per log group, per log stream, with
// timestamp, ingestion time and a stable event id (docs/behaviour/logs.md §2).
// Each log group is one JetStream stream whose limits (MaxAge, MaxBytes)
// are the group's retention; each log stream is one subject in it. Writers
// batch lines and publish asynchronously, off the invocation's path.
package logstore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/lambada-dev/lambada/internal/logkey"
)

// Defaults of the server flags that set the store's limits.
const (
	DefaultRetention = 7 * 24 * time.Hour
	DefaultMaxBytes  = 1 << 30
)

// MaxEventBytes is the largest message one event holds: CloudWatch's
// 256 KB event limit less its 26 bytes of per-event overhead. Longer lines
// are split into events of this size (docs/behaviour/logs.md §2).
const MaxEventBytes = 256<<10 - 26

const (
	subjectPrefix = "lambada.logs."
	streamPrefix  = "LAMBADA_LOGS_"
	metaGroup     = "lambada.log-group"
	metaRetention = "lambada.retention-days"
	// batchBytes and batchLines bound one published message.
	batchBytes = 64 << 10
	batchLines = 4096
	// flushDelay is the longest a line waits in a writer's batch.
	flushDelay = 100 * time.Millisecond
	// writerSlots bounds the batches one writer has queued or in flight:
	// a writer holds at most writerSlots × (batchBytes + one event).
	writerSlots = 4
	// publishTimeout bounds the store's other JetStream requests.
	publishTimeout = 10 * time.Second
	// stallTimeout is how long a writer waits for a free slot before it
	// drops a batch (the store is down or far behind).
	stallTimeout = 5 * time.Second
)

// storeLag bounds how much earlier than its batch's store time an event
// may be stamped (batching, queueing, clock differences): events of a
// batch stored later than End plus this were written after End.
const storeLag = time.Minute

// ErrNoGroup is returned for a log group that does not exist.
var ErrNoGroup = errors.New("log group does not exist")

// Config tunes a store.
type Config struct {
	// Retention is MaxAge of a group without a retention policy.
	Retention time.Duration
	// MaxBytes caps each log group; the oldest events go first.
	MaxBytes int64
	// Replicas of each group's stream in a JetStream cluster.
	Replicas int
	Logger   *slog.Logger
}

// Store is the log store on one NATS connection.
type Store struct {
	js  jetstream.JetStream
	cfg Config
	log *slog.Logger

	wg sync.WaitGroup // raise and the writers' senders

	mu     sync.Mutex
	known  map[string]bool // groups whose stream exists
	low    map[string]bool // groups whose stream has fewer than Replicas copies
	closed bool
	stop   chan struct{} // closed by Close: ends raise

	// grace ends closeGrace after Close began: the senders' last tries.
	grace    context.Context
	endGrace context.CancelFunc
}

// Open binds the store to nc; it creates nothing until the first write.
func Open(nc *nats.Conn, cfg Config) (*Store, error) {
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Replicas < 1 {
		cfg.Replicas = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	s := &Store{js: js, cfg: cfg, log: cfg.Logger, known: map[string]bool{}, low: map[string]bool{}, stop: make(chan struct{})}
	s.grace, s.endGrace = context.WithCancel(context.Background())
	if cfg.Replicas > 1 {
		s.wg.Go(s.raise)
	}
	return s, nil
}

// Close stores what writers handed over so far, trying each batch still
// unacknowledged for at most closeGrace more, and waits for that. Close
// the writers first (the environments): a batch handed over later is
// dropped unless its writer's sender is still at work.
func (s *Store) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.stop)
	s.mu.Unlock()
	t := time.AfterFunc(closeGrace, s.endGrace)
	s.wg.Wait()
	t.Stop()
	s.endGrace()
}

// goSend starts w's sender; false after Close.
func (s *Store) goSend(w *Writer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Go(func() { s.send(w) })
	return true
}

// streamName is the JetStream stream of group.
func streamName(group string) string {
	h := sha256.Sum256([]byte(group))
	return streamPrefix + hex.EncodeToString(h[:16])
}

func groupSubject(group string) string {
	h := sha256.Sum256([]byte(group))
	return subjectPrefix + hex.EncodeToString(h[:16])
}

func streamSubject(group, stream string) string {
	return groupSubject(group) + "." + base64.RawURLEncoding.EncodeToString([]byte(stream))
}

// streamOf decodes a subject's log stream name.
func streamOf(subject string) string {
	i := strings.LastIndexByte(subject, '.')
	b, _ := base64.RawURLEncoding.DecodeString(subject[i+1:])
	return string(b)
}

// Bounds of storing one batch (docs/behaviour/cluster.md §1). A batch
// whose acknowledgement does not come — the stream's leader stopped or
// died, the stream or the cluster's meta group is electing a leader
// (no responders, 503 "JetStream system temporarily unavailable"), the
// connection is reconnecting — is sent again: each try is bounded by
// firstTry, doubling to maxTry, with a pause of retryPause between tries,
// for up to retryFor; after Close, for at most closeGrace more. Sending
// it again is safe because every batch carries a JetStream message id:
// the stream stores one id once within its duplicate window (two
// minutes, longer than retryFor), and a copy stored after all although
// its acknowledgement was lost is acknowledged as a duplicate.
const (
	firstTry   = 500 * time.Millisecond
	maxTry     = 2 * time.Second
	retryPause = 100 * time.Millisecond
	retryFor   = 30 * time.Second
	closeGrace = 5 * time.Second
)

// send stores w's pending batches one after the other, each acknowledged
// (or given up) before the next is sent, so that a log stream's events
// are stored in the order they were written even when a batch is sent
// again (docs/behaviour/logs.md §2); then it ends. Writers send in
// parallel.
func (s *Store) send(w *Writer) {
	for {
		w.mu.Lock()
		if len(w.pend) == 0 {
			w.sending = false
			w.mu.Unlock()
			return
		}
		b := w.pend[0]
		b.sent = true
		w.mu.Unlock()
		if err := s.store(w, b); err != nil {
			s.log.Warn("storing log events failed: events dropped", logkey.LogGroup, w.group, logkey.LogStream, w.stream, logkey.Events, b.n, logkey.Err, err)
		}
		w.mu.Lock()
		w.pend[0] = nil
		w.pend = w.pend[1:]
		w.mu.Unlock()
		<-w.slots
	}
}

// store publishes one batch until it is acknowledged, within the bounds
// above. A try that fails forgets that the group's stream exists, so the
// next try makes sure it does: a group deleted meanwhile
// (DeleteLogGroup) is created again and the batch is stored there, as a
// line written after the delete is.
func (s *Store) store(w *Writer, b *batch) error {
	msg := nats.NewMsg(w.subject)
	msg.Data = b.data
	msg.Header.Set(nats.MsgIdHdr, nuid.Next())
	ctx, cancel := context.WithTimeout(s.grace, retryFor)
	defer cancel()
	for try := firstTry; ; try = min(2*try, maxTry) {
		// Creating a group's stream may take longer than one publish.
		tctx, tcancel := context.WithTimeout(ctx, publishTimeout)
		err := s.ensure(tctx, w.group)
		tcancel()
		if err == nil {
			tctx, tcancel = context.WithTimeout(ctx, try)
			_, err = s.js.PublishMsg(tctx, msg)
			tcancel()
		}
		if err == nil {
			return nil
		}
		if errors.Is(err, nats.ErrConnectionClosed) {
			return err
		}
		s.mu.Lock()
		delete(s.known, w.group)
		s.mu.Unlock()
		pause := time.NewTimer(retryPause)
		select {
		case <-pause.C:
		case <-ctx.Done():
			pause.Stop()
			return err
		}
	}
}

// ensure creates group's stream unless it is known to exist.
func (s *Store) ensure(ctx context.Context, group string) error {
	s.mu.Lock()
	ok := s.known[group]
	s.mu.Unlock()
	if ok {
		return nil
	}
	st, err := s.js.Stream(ctx, streamName(group))
	switch {
	case err == nil:
		// Created with fewer copies while servers were down, possibly by
		// another node or before a restart: raised from here too.
		s.noteCopies(group, st.CachedInfo().Config.Replicas)
	case !errors.Is(err, jetstream.ErrStreamNotFound):
		return err
	default:
		if _, err := s.createGroup(ctx, group); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return err
		}
	}
	s.mu.Lock()
	s.known[group] = true
	s.mu.Unlock()
	return nil
}

// createGroup creates group's stream with Replicas copies or, when the
// cluster has too few servers online for them (a server of the cluster is
// down: JetStream answers "no suitable peers for placement"), with as many
// as it can place now, down to one. Such a group is logged and raised to
// Replicas copies once the servers are back (docs/behaviour/cluster.md §1):
// its lines are kept meanwhile instead of being lost until then.
func (s *Store) createGroup(ctx context.Context, group string) (jetstream.Stream, error) {
	for n := s.cfg.Replicas; ; n-- {
		st, err := s.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        streamName(group),
			Description: "lambada log group " + group,
			Subjects:    []string{groupSubject(group) + ".*"},
			Retention:   jetstream.LimitsPolicy,
			Discard:     jetstream.DiscardOld,
			MaxAge:      s.cfg.Retention,
			MaxBytes:    s.cfg.MaxBytes,
			Storage:     jetstream.FileStorage,
			Replicas:    n,
			Metadata:    map[string]string{metaGroup: group},
		})
		if err == nil {
			if n < s.cfg.Replicas {
				s.log.Warn("log group created with fewer copies than --replicas: too few NATS servers online; raised when they are back",
					logkey.LogGroup, group, logkey.Replicas, n, logkey.Wanted, s.cfg.Replicas)
			}
			s.noteCopies(group, n)
			return st, nil
		}
		if n == 1 || !noPeers(err) {
			return nil, err
		}
	}
}

// noPeersCode is JetStream's "no suitable peers for placement" (10005):
// fewer servers online than the copies asked for.
const noPeersCode = 10005

func noPeers(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == noPeersCode
}

// noteCopies remembers group for raise when its stream has fewer than
// Replicas copies.
func (s *Store) noteCopies(group string, copies int) {
	if copies >= s.cfg.Replicas {
		return
	}
	s.mu.Lock()
	s.low[group] = true
	s.mu.Unlock()
}

// raiseEvery is how often raise tries to give the groups created with
// fewer copies their Replicas copies.
const raiseEvery = 2 * time.Second

// raise gives every log group with fewer than Replicas copies its missing
// copies as soon as the cluster can place them, until Close: first the
// groups found at start (created so by an earlier run or another node),
// then those noted since.
func (s *Store) raise() {
	t := time.NewTicker(raiseEvery)
	defer t.Stop()
	listed := false
	lastErr := map[string]string{}
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
		if !listed {
			listed = s.listLow(ctx)
		}
		s.mu.Lock()
		groups := make([]string, 0, len(s.low))
		for g := range s.low {
			groups = append(groups, g)
		}
		s.mu.Unlock()
		for _, g := range groups {
			err := s.raiseGroup(ctx, g)
			if err == nil {
				s.mu.Lock()
				delete(s.low, g)
				s.mu.Unlock()
				delete(lastErr, g)
				continue
			}
			// Logged once per distinct reason: a server stays down for
			// a while.
			if lastErr[g] != err.Error() {
				lastErr[g] = err.Error()
				s.log.Warn("raising a log group's copies failed; trying again", logkey.LogGroup, g, logkey.Wanted, s.cfg.Replicas, logkey.Err, err)
			}
		}
		cancel()
	}
}

// listLow notes every log group whose stream has fewer than Replicas
// copies; false when the listing failed (tried again next round).
func (s *Store) listLow(ctx context.Context) bool {
	l := s.js.ListStreams(ctx, jetstream.WithStreamListSubject(subjectPrefix+">"))
	for si := range l.Info() {
		if g, ok := si.Config.Metadata[metaGroup]; ok {
			s.noteCopies(g, si.Config.Replicas)
		}
	}
	return l.Err() == nil
}

// raiseGroup sets group's stream to Replicas copies (never lowers them);
// a deleted group needs nothing.
func (s *Store) raiseGroup(ctx context.Context, group string) error {
	st, err := s.js.Stream(ctx, streamName(group))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	cfg := st.CachedInfo().Config
	if cfg.Replicas >= s.cfg.Replicas {
		return nil
	}
	had := cfg.Replicas
	cfg.Replicas = s.cfg.Replicas
	if _, err := s.js.UpdateStream(ctx, cfg); err != nil {
		return err
	}
	s.log.Info("log group raised to its copies", logkey.LogGroup, group, logkey.Replicas, cfg.Replicas, logkey.Was, had)
	return nil
}

// CreateGroup creates an empty log group; ErrGroupExists if it exists.
func (s *Store) CreateGroup(ctx context.Context, group string) error {
	// JetStream accepts creating an identical stream again.
	if _, err := s.js.Stream(ctx, streamName(group)); err == nil {
		return ErrGroupExists
	} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return err
	}
	_, err := s.createGroup(ctx, group)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return ErrGroupExists
	}
	return err
}

// ErrGroupExists is CreateGroup's answer for an existing group.
var ErrGroupExists = errors.New("log group exists")

// Writer batches the lines of one log stream. Line may block while the
// writer's slots are all taken (a flooding function waits for the store),
// at most stallTimeout per batch; then the batch is dropped and counted.
type Writer struct {
	s                      *Store
	group, stream, subject string
	slots                  chan struct{} // one per pending batch

	sendMu  sync.Mutex // orders batches; taken before mu
	mu      sync.Mutex
	buf     []byte
	n       int
	timer   *time.Timer
	closed  bool
	pend    []*batch // handed over, not yet stored: the first is sent
	sending bool     // a sender (Store.send) works on pend

	dropped int
}

// batch is one message of a writer's events.
type batch struct {
	data []byte
	n    int
	sent bool // tried at least once: no longer grows
}

// Writer returns a writer for one log stream of group. Close it when the
// stream ends (the environment closes).
func (s *Store) Writer(group, stream string) *Writer {
	return &Writer{s: s, group: group, stream: stream, subject: streamSubject(group, stream), slots: make(chan struct{}, writerSlots)}
}

// Line adds one event per MaxEventBytes of line, stamped at.
func (w *Writer) Line(line []byte, at time.Time) {
	if len(line) == 0 {
		return
	}
	ms := at.UnixMilli()
	for len(line) > 0 {
		part := line[:min(len(line), MaxEventBytes)]
		line = line[len(part):]
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return
		}
		w.buf = binary.AppendUvarint(w.buf, uint64(ms))
		w.buf = binary.AppendUvarint(w.buf, uint64(len(part)))
		w.buf = append(w.buf, part...)
		w.n++
		full := len(w.buf) >= batchBytes || w.n >= batchLines
		if !full && w.timer == nil {
			w.timer = time.AfterFunc(flushDelay, w.Flush)
		}
		w.mu.Unlock()
		if full {
			w.Flush()
		}
	}
}

// Flush hands the batch to the store now.
func (w *Writer) Flush() {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	w.mu.Lock()
	data, n := w.buf, w.n
	w.buf, w.n = nil, 0
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	w.mu.Unlock()
	if n == 0 {
		return
	}
	// While a batch is being stored (sent again while a stream elects a
	// leader), the lines written meanwhile gather in the last batch
	// handed over, up to a full batch, instead of taking a slot each.
	w.mu.Lock()
	if k := len(w.pend); k > 0 {
		last := w.pend[k-1]
		if !last.sent && len(last.data)+len(data) <= batchBytes && last.n+n <= batchLines {
			last.data = append(last.data, data...)
			last.n += n
			w.mu.Unlock()
			return
		}
	}
	w.mu.Unlock()
	select {
	case w.slots <- struct{}{}:
	default:
		t := time.NewTimer(stallTimeout)
		defer t.Stop()
		select {
		case w.slots <- struct{}{}:
		case <-t.C:
			w.dropped += n
			w.s.log.Warn("log store is not keeping up: events dropped", logkey.LogGroup, w.group, logkey.LogStream, w.stream, logkey.Events, n, logkey.DroppedTotal, w.dropped)
			return
		}
	}
	w.mu.Lock()
	w.pend = append(w.pend, &batch{data: data, n: n})
	start := !w.sending
	w.sending = true
	w.mu.Unlock()
	if start && !w.s.goSend(w) {
		w.mu.Lock()
		dropped := 0
		for _, b := range w.pend {
			dropped += b.n
			<-w.slots
		}
		w.pend, w.sending = nil, false
		w.mu.Unlock()
		w.s.log.Warn("log store closed: events dropped", logkey.LogGroup, w.group, logkey.LogStream, w.stream, logkey.Events, dropped)
	}
}

// Close flushes what is left; later lines are dropped.
func (w *Writer) Close() {
	w.Flush()
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

// Event is one stored log event.
type Event struct {
	Stream    string
	Timestamp int64 // ms
	Ingestion int64 // ms
	Message   string
	Pos       Pos
}

// Pos is where an event is in its group: the JetStream sequence of its
// batch and its index there. Positions order the group's events in store
// order.
type Pos struct {
	Seq uint64
	Idx int
}

// Less orders positions.
func (p Pos) Less(q Pos) bool { return p.Seq < q.Seq || p.Seq == q.Seq && p.Idx < q.Idx }

// ID is the event's id: stable, unique in its group, decimal.
func (p Pos) ID() string { return fmt.Sprintf("%020d%06d", p.Seq, p.Idx) }

// String and ParsePos encode a position for tokens.
func (p Pos) String() string { return strconv.FormatUint(p.Seq, 10) + "-" + strconv.Itoa(p.Idx) }

// ParsePos reads a position written by String.
func ParsePos(s string) (Pos, bool) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return Pos{}, false
	}
	seq, err1 := strconv.ParseUint(a, 10, 64)
	idx, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || idx < 0 {
		return Pos{}, false
	}
	return Pos{seq, idx}, true
}

// Query selects events of one group.
type Query struct {
	Group string
	// Streams, when set, are the only log streams read.
	Streams []string
	// Start and End bound the timestamp (ms, inclusive; 0 = unbounded).
	Start, End int64
	// After skips events up to and including this position.
	After Pos
	// Before stops before this position (zero = no bound).
	Before Pos
}

// Scan calls fn with the query's events in store order until fn returns
// false. ErrNoGroup when the group does not exist.
func (s *Store) Scan(ctx context.Context, q Query, fn func(Event) bool) error {
	st, err := s.js.Stream(ctx, streamName(q.Group))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return ErrNoGroup
	}
	if err != nil {
		return err
	}
	cc := jetstream.ConsumerConfig{
		AckPolicy: jetstream.AckNonePolicy, MemoryStorage: true, InactiveThreshold: time.Minute,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	switch {
	case q.After.Seq > 0:
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, q.After.Seq
	case q.Start > 0:
		// A batch is stored after all of its events were written, so
		// nothing at or after Start is in a batch stored before it; the
		// margin covers clock differences with a NATS server elsewhere.
		t := time.UnixMilli(q.Start).Add(-storeLag)
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &t
	}
	for _, name := range q.Streams {
		cc.FilterSubjects = append(cc.FilterSubjects, streamSubject(q.Group, name))
	}
	cons, err := st.CreateConsumer(ctx, cc)
	if err != nil {
		return err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = st.DeleteConsumer(dctx, cons.CachedInfo().Name)
	}()
	left := cons.CachedInfo().NumPending
	for left > 0 {
		// Batches are up to 64 KB: 16 of them are about a 1 MB page.
		batch, err := cons.Fetch(int(min(left, 16)), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			left--
			md, err := m.Metadata()
			if err != nil {
				return err
			}
			if q.Before.Seq > 0 && md.Sequence.Stream > q.Before.Seq {
				return nil
			}
			if q.End > 0 && md.Timestamp.After(time.UnixMilli(q.End).Add(storeLag)) {
				return nil
			}
			if !each(m.Subject(), m.Data(), md.Sequence.Stream, md.Timestamp.UnixMilli(), q, fn) {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return err
		}
		if got == 0 {
			return nil // expired meanwhile
		}
	}
	return ctx.Err()
}

// each decodes one batch and calls fn for its events that q selects.
func each(subject string, data []byte, seq uint64, ingested int64, q Query, fn func(Event) bool) bool {
	stream := streamOf(subject)
	for idx := 0; len(data) > 0; idx++ {
		ts, n := binary.Uvarint(data)
		if n <= 0 {
			return true
		}
		data = data[n:]
		size, n := binary.Uvarint(data)
		if n <= 0 || uint64(len(data)-n) < size {
			return true
		}
		msg := data[n : n+int(size)]
		data = data[n+int(size):]
		p := Pos{seq, idx}
		if q.After.Seq > 0 && !q.After.Less(p) {
			continue
		}
		if q.Before.Seq > 0 && !p.Less(q.Before) {
			return false
		}
		if q.Start > 0 && int64(ts) < q.Start || q.End > 0 && int64(ts) > q.End {
			continue
		}
		if !fn(Event{Stream: stream, Timestamp: int64(ts), Ingestion: ingested, Message: string(msg), Pos: p}) {
			return false
		}
	}
	return true
}

// GroupInfo describes one log group.
type GroupInfo struct {
	Name          string
	Created       time.Time
	RetentionDays int // 0 = none set (the server's retention applies)
	StoredBytes   uint64
}

// Groups lists every log group, ordered by name.
func (s *Store) Groups(ctx context.Context) ([]GroupInfo, error) {
	var out []GroupInfo
	l := s.js.ListStreams(ctx, jetstream.WithStreamListSubject(subjectPrefix+">"))
	for si := range l.Info() {
		if g, ok := groupInfo(si); ok {
			out = append(out, g)
		}
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func groupInfo(si *jetstream.StreamInfo) (GroupInfo, bool) {
	name, ok := si.Config.Metadata[metaGroup]
	if !ok {
		return GroupInfo{}, false
	}
	days, _ := strconv.Atoi(si.Config.Metadata[metaRetention])
	return GroupInfo{Name: name, Created: si.Created, RetentionDays: days, StoredBytes: si.State.Bytes}, true
}

// Group describes one log group; ErrNoGroup when it does not exist.
func (s *Store) Group(ctx context.Context, group string) (GroupInfo, error) {
	st, err := s.js.Stream(ctx, streamName(group))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return GroupInfo{}, ErrNoGroup
	}
	if err != nil {
		return GroupInfo{}, err
	}
	g, _ := groupInfo(st.CachedInfo())
	return g, nil
}

// DeleteGroup deletes a group and all its events.
func (s *Store) DeleteGroup(ctx context.Context, group string) error {
	err := s.js.DeleteStream(ctx, streamName(group))
	s.mu.Lock()
	delete(s.known, group)
	s.mu.Unlock()
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return ErrNoGroup
	}
	return err
}

// SetRetention makes the group keep events days days (0: the server's
// retention again).
func (s *Store) SetRetention(ctx context.Context, group string, days int) error {
	st, err := s.js.Stream(ctx, streamName(group))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return ErrNoGroup
	}
	if err != nil {
		return err
	}
	cfg := st.CachedInfo().Config
	cfg.Metadata = map[string]string{metaGroup: group}
	cfg.MaxAge = s.cfg.Retention
	if days > 0 {
		cfg.Metadata[metaRetention] = strconv.Itoa(days)
		cfg.MaxAge = time.Duration(days) * 24 * time.Hour
	}
	_, err = s.js.UpdateStream(ctx, cfg)
	return err
}

// StreamInfo describes one log stream.
type StreamInfo struct {
	Name                  string
	FirstEvent, LastEvent int64 // ms
	LastIngestion         int64 // ms
}

// Streams lists the log streams of group that hold events.
func (s *Store) Streams(ctx context.Context, group string) ([]StreamInfo, error) {
	st, err := s.js.Stream(ctx, streamName(group))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, ErrNoGroup
	}
	if err != nil {
		return nil, err
	}
	si, err := st.Info(ctx, jetstream.WithSubjectFilter(groupSubject(group)+".*"))
	if err != nil {
		return nil, err
	}
	var out []StreamInfo
	for subj := range si.State.Subjects {
		first, err := st.GetMsg(ctx, si.State.FirstSeq, jetstream.WithGetMsgSubject(subj))
		if err != nil {
			continue // expired meanwhile
		}
		last, err := st.GetLastMsgForSubject(ctx, subj)
		if err != nil {
			continue
		}
		info := StreamInfo{Name: streamOf(subj), LastIngestion: last.Time.UnixMilli()}
		each(subj, first.Data, first.Sequence, 0, Query{}, func(e Event) bool { info.FirstEvent = e.Timestamp; return false })
		each(subj, last.Data, last.Sequence, 0, Query{}, func(e Event) bool { info.LastEvent = e.Timestamp; return true })
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
