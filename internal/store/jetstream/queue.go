package jetstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/lambada-dev/lambada/internal/store"
)

var (
	_ store.Queue  = (*Queue)(nil)
	_ store.Stream = (*Stream)(nil)
)

// QueueAckWait is how long a delivery may stay unsettled before JetStream
// hands it to another consumer; long invocations call Extend.
const QueueAckWait = 10 * time.Second

// Stream is a store.Stream on a JetStream stream with limits retention.
// A message too large for one NATS message (the server's max_payload) is
// published as a pointer to its body, kept in the object store bucket
// BodyBucket(name); reads follow the pointer.
type Stream struct {
	js     natsjs.JetStream
	name   string
	leader *elections
	bodies *bodies
}

// Queue is a store.Queue on a JetStream work-queue stream with one durable
// pull consumer that every node shares: JetStream hands each delivery to
// one of them.
type Queue struct {
	Stream
	consumer string
}

// StreamConfig describes a stream to open.
type StreamConfig struct {
	Name     string
	Subjects []string
	// MaxAge bounds how long messages are kept (0 = forever); ignored for
	// queues, which keep a message until it is acknowledged.
	MaxAge time.Duration
}

func openStream(ctx context.Context, nc *nats.Conn, sc StreamConfig, retention natsjs.RetentionPolicy, o options) (natsjs.JetStream, error) {
	js, err := natsjs.New(nc)
	if err != nil {
		return nil, err
	}
	cfg := natsjs.StreamConfig{
		Name: sc.Name, Description: "lambada", Subjects: sc.Subjects,
		Retention: retention, Storage: natsjs.FileStorage, Replicas: o.replicas,
		MaxAge: sc.MaxAge,
	}
	if retention == natsjs.WorkQueuePolicy {
		cfg.MaxAge = 0
	}
	err = retryAPI(ctx, func(ctx context.Context) error {
		_, err := js.Stream(ctx, sc.Name)
		if errors.Is(err, natsjs.ErrStreamNotFound) {
			_, err = js.CreateStream(ctx, cfg)
			if errors.Is(err, natsjs.ErrStreamNameAlreadyInUse) {
				_, err = js.Stream(ctx, sc.Name)
			}
		}
		return err
	})
	if err == nil {
		err = settle(ctx, js, sc.Name, o.replicas, func(context.Context) error { return nil }, func(ctx context.Context) error {
			_, err := js.Stream(ctx, sc.Name)
			return err
		})
	}
	if err != nil {
		return nil, wrap(fmt.Sprintf("open stream %q", sc.Name), err)
	}
	return js, nil
}

// OpenStream binds (or creates) a limits stream.
func OpenStream(ctx context.Context, nc *nats.Conn, sc StreamConfig, opts ...Option) (*Stream, error) {
	o := buildOptions(opts)
	js, err := openStream(ctx, nc, sc, natsjs.LimitsPolicy, o)
	if err != nil {
		return nil, err
	}
	// Bodies outlive their messages a little: a body is stored first.
	ttl := sc.MaxAge
	if ttl > 0 {
		ttl += time.Hour
	}
	b, err := openBodies(ctx, nc, js, sc.Name, ttl, o)
	if err != nil {
		return nil, err
	}
	return &Stream{js: js, name: sc.Name, bodies: b, leader: followElections(nc, sc.Name)}, nil
}

// OpenQueue binds (or creates) a work-queue stream and its shared durable
// consumer.
func OpenQueue(ctx context.Context, nc *nats.Conn, sc StreamConfig, consumer string, opts ...Option) (*Queue, error) {
	o := buildOptions(opts)
	js, err := openStream(ctx, nc, sc, natsjs.WorkQueuePolicy, o)
	if err != nil {
		return nil, err
	}
	b, err := openBodies(ctx, nc, js, sc.Name, 0, o)
	if err != nil {
		return nil, err
	}
	err = retryAPI(ctx, func(ctx context.Context) error {
		_, err := js.CreateOrUpdateConsumer(ctx, sc.Name, natsjs.ConsumerConfig{
			Durable:       consumer,
			AckPolicy:     natsjs.AckExplicitPolicy,
			AckWait:       o.ackWait,
			MaxDeliver:    -1,
			MaxAckPending: 100_000,
			// As many copies as the stream: a consumer on one server would
			// stop the queue with that server.
			Replicas: o.replicas,
		})
		return err
	})
	if err != nil {
		return nil, wrap(fmt.Sprintf("open consumer %q", consumer), err)
	}
	return &Queue{Stream: Stream{js: js, name: sc.Name, bodies: b, leader: followElections(nc, sc.Name)}, consumer: consumer}, nil
}

// Publish stores m and returns once JetStream acknowledged it. A body too
// large for one NATS message is stored out of line first.
func (s *Stream) Publish(ctx context.Context, m store.Message) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	msg := nats.NewMsg(m.Subject)
	msg.Data = m.Data
	for k, v := range m.Header {
		msg.Header.Set(k, v)
	}
	if !s.bodies.fits(msg.Header, msg.Data) {
		if err := s.bodies.put(ctx, msg); err != nil {
			return fmt.Errorf("publish to %s: %w", s.name, err)
		}
	}
	// Always a new id: a message made from a delivered one (its headers
	// copied) is a new message, not a copy to be dropped as a duplicate.
	msg.Header.Set(nats.MsgIdHdr, nuid.Next())
	if err := publishAgain(ctx, s.js, s.leader, msg); err != nil {
		_ = s.bodies.drop(store.Message{Header: map[string]string{BodyObjectHeader: msg.Header.Get(BodyObjectHeader)}})
		return wrap("publish to "+s.name, err)
	}
	return nil
}

// publishFirstAttempt bounds the first try of a publish; each next try may
// take twice as long, up to publishMaxAttempt, until ctx ends. A publish
// sent to a stream leader as it stops or dies is never acknowledged;
// waiting for that lost answer took the whole OpTimeout (an Event invoke
// answered 500 after 5 s although a new leader was there within 0.1 s). A
// try still waiting when the stream elects a new leader is sent again at
// once.
// Sending it again is safe because every publish carries a message id:
// the stream stores a message id once within its duplicate window (two
// minutes), and a copy that was stored after all is acknowledged as a
// duplicate, not stored twice.
const (
	publishFirstAttempt = 500 * time.Millisecond
	publishMaxAttempt   = 2 * time.Second
)

func publishAgain(ctx context.Context, js natsjs.JetStream, leader *elections, msg *nats.Msg) error {
	attempt := publishFirstAttempt
	for {
		actx, done := leader.attempt(ctx, attempt)
		_, err := js.PublishMsg(actx, msg)
		elected := done()
		if err == nil || !(unanswered(err) || unheard(err) || elected && errors.Is(err, context.Canceled)) || ctx.Err() != nil {
			return err
		}
		if elected {
			// A new leader: send it at once.
			attempt = publishFirstAttempt
			continue
		}
		if unheard(err) {
			// Nobody listens yet (a leader being elected): not at once.
			select {
			case <-ctx.Done():
				return err
			case <-time.After(settleRetry):
			}
		}
		attempt = min(2*attempt, publishMaxAttempt)
	}
}

// headerMessage is the store.Message of msg as it was published.
func headerMessage(msg natsjs.Msg) store.Message {
	h := map[string]string{}
	for k := range msg.Headers() {
		h[k] = msg.Headers().Get(k)
	}
	return store.Message{Subject: msg.Subject(), Data: msg.Data(), Header: h}
}

// A pull request lives queuePullExpiry and is answered by a heartbeat
// every queuePullHeartbeat while nothing is delivered. A consumer whose
// leader dies takes its pending pull requests with it, and nothing says
// so: nats.go notices after two missed heartbeats and asks again, which
// reaches the new leader. With nats.go's defaults (30 s, 15 s) the queue
// stood still for 30 s after a NATS server holding its consumer's leader
// died; now for at most 2 s after the new leader's election.
const (
	queuePullExpiry    = 5 * time.Second
	queuePullHeartbeat = time.Second
)

// Consume implements store.Queue.
func (q *Queue) Consume(ctx context.Context, inFlight int, fn func(store.Delivery)) error {
	cons, err := q.js.Consumer(ctx, q.name, q.consumer)
	if err != nil {
		return wrap("bind consumer", err)
	}
	if inFlight < 1 {
		inFlight = 1
	}
	sem := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	// Bodies a crash left without their message; a failed sweep is tried
	// again at the next Consume.
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = q.bodies.sweep(ctx, q.js, q.name)
	}()
	cc, err := cons.Consume(func(m natsjs.Msg) {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			_ = m.Nak()
			return
		}
		// Once ctx ended, Consume is on its way to wg.Wait: no new Add.
		if ctx.Err() != nil {
			<-sem
			_ = m.Nak()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(&delivery{m: m, bodies: q.bodies})
		}()
	}, natsjs.PullMaxMessages(inFlight), natsjs.PullExpiry(queuePullExpiry), natsjs.PullHeartbeat(queuePullHeartbeat))
	if err != nil {
		return wrap("consume", err)
	}
	<-ctx.Done()
	// Stop only asks; Closed is closed once the callback has returned for
	// good, so no wg.Add can race with the Wait below.
	cc.Stop()
	<-cc.Closed()
	wg.Wait()
	return nil
}

// Depth implements store.Queue.
func (q *Queue) Depth(ctx context.Context) (uint64, time.Time, error) {
	st, err := q.js.Stream(ctx, q.name)
	if err != nil {
		return 0, time.Time{}, wrap("stream info", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, time.Time{}, wrap("stream info", err)
	}
	if info.State.Msgs == 0 {
		return 0, time.Time{}, nil
	}
	return info.State.Msgs, info.State.FirstTime, nil
}

// Depths asks the stream for its message count per subject, and for the
// first message of each subject that has any.
func (q *Queue) Depths(ctx context.Context) (map[string]store.SubjectDepth, error) {
	st, err := q.js.Stream(ctx, q.name)
	if err != nil {
		return nil, wrap("stream info", err)
	}
	info, err := st.Info(ctx, natsjs.WithSubjectFilter(">"))
	if err != nil {
		return nil, wrap("stream info", err)
	}
	out := make(map[string]store.SubjectDepth, len(info.State.Subjects))
	for subj, n := range info.State.Subjects {
		if n == 0 {
			continue
		}
		d := store.SubjectDepth{N: n}
		// The first message of the subject at or after the stream's first.
		if m, err := st.GetMsg(ctx, info.State.FirstSeq, natsjs.WithGetMsgSubject(subj)); err == nil {
			d.Oldest = m.Time
		} else if !errors.Is(err, natsjs.ErrMsgNotFound) {
			return nil, wrap("get first message", err)
		}
		out[subj] = d
	}
	return out, nil
}

type delivery struct {
	m      natsjs.Msg
	bodies *bodies
}

func (d *delivery) Message() (store.Message, error) {
	return d.bodies.get(context.Background(), headerMessage(d.m))
}

func (d *delivery) Stored() time.Time {
	md, err := d.m.Metadata()
	if err != nil {
		return time.Time{}
	}
	return md.Timestamp
}

func (d *delivery) Deliveries() int {
	md, err := d.m.Metadata()
	if err != nil {
		return 1
	}
	return int(md.NumDelivered)
}

// Ack removes the message, then its out-of-line body (a crash in between
// leaves the body to the next sweep).
func (d *delivery) Ack() error {
	if err := d.m.DoubleAck(context.Background()); err != nil {
		return err
	}
	_ = d.bodies.drop(headerMessage(d.m))
	return nil
}

func (d *delivery) Retry(delay time.Duration) error { return d.m.NakWithDelay(delay) }
func (d *delivery) Extend() error                   { return d.m.InProgress() }

var _ store.Reader = (*Stream)(nil)

// readWait is how long Read waits for messages that are not there.
const readWait = 200 * time.Millisecond

// Read implements store.Reader with an ordered consumer starting after the
// given sequence.
func (s *Stream) Read(ctx context.Context, subject string, after uint64, max int) ([]store.StoredMessage, error) {
	if max < 1 {
		max = 1
	}
	cons, err := s.js.OrderedConsumer(ctx, s.name, natsjs.OrderedConsumerConfig{
		FilterSubjects: []string{subject},
		DeliverPolicy:  natsjs.DeliverByStartSequencePolicy,
		OptStartSeq:    after + 1,
	})
	if err != nil {
		return nil, wrap("read "+s.name, err)
	}
	batch, err := cons.Fetch(max, natsjs.FetchMaxWait(readWait))
	if err != nil {
		return nil, wrap("read "+s.name, err)
	}
	var out []store.StoredMessage
	for m := range batch.Messages() {
		md, err := m.Metadata()
		if err != nil {
			continue
		}
		// A body that expired or was deleted leaves the message without
		// data; its headers still say which body it was.
		msg, err := s.bodies.get(ctx, headerMessage(m))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("read %s: %w", s.name, err)
		}
		out = append(out, store.StoredMessage{Message: msg, Seq: md.Sequence.Stream, Stored: md.Timestamp})
	}
	if err := batch.Error(); err != nil && !errors.Is(err, natsjs.ErrNoMessages) && len(out) == 0 {
		return nil, wrap("read "+s.name, err)
	}
	return out, nil
}
