package logstore

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// followPoll is how often Follow looks for a group that does not
	// exist yet.
	followPoll = 500 * time.Millisecond
	// followWait bounds one fetch, so Follow notices its context ending.
	followWait = time.Second
)

// From is where Follow starts: after a position (a follower resuming),
// else with the batches stored from Since on, else with those stored from
// now on.
type From struct {
	Since time.Time
	After Pos
}

// Follow calls fn with the events of each batch of group from from on, in
// store order, and then with every new batch as it is stored, until ctx
// ends (nil) or fn returns an error (that error); fn is called with no
// events when a fetch waited followWait for nothing, so a caller can show
// it is alive. A group that does not exist yet is waited for. One batch is
// what a writer published at once: up to batchLines lines, or flushDelay's
// worth (docs/behaviour/logs.md §2).
func (s *Store) Follow(ctx context.Context, group string, from From, fn func([]Event) error) error {
	// "From now on" is from this call, not from whenever the stream is
	// first looked up: a batch stored in between (the group created by a
	// writer just then) is the follower's too.
	called := time.Now()
	var st jetstream.Stream
	waited := false
	for {
		var err error
		st, err = s.js.Stream(ctx, streamName(group))
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return err
		}
		waited = true
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followPoll):
		}
	}
	cfg := jetstream.OrderedConsumerConfig{InactiveThreshold: time.Minute}
	switch {
	case waited:
		// The group appeared while Follow waited: all of it is new.
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	case from.After.Seq > 0:
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, from.After.Seq
	case !from.Since.IsZero():
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &from.Since
	default:
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &called
	}
	q := Query{After: from.After}
	cons, err := st.OrderedConsumer(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(64, jetstream.FetchMaxWait(followWait))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return err
			}
			var evs []Event
			each(m.Subject(), m.Data(), md.Sequence.Stream, md.Timestamp.UnixMilli(), q, func(e Event) bool {
				evs = append(evs, e)
				return true
			})
			if err := fn(evs); err != nil {
				return err
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			return err
		}
		if got == 0 && ctx.Err() == nil {
			if err := fn(nil); err != nil {
				return err
			}
		}
	}
	return nil
}
