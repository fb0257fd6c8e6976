// Package jetstream implements lambada's store interfaces on NATS JetStream
// with the nats.go jetstream API: the KV on a KV bucket (a stream whose
// sequence is the revision), the blobs on an object store bucket. It takes
// a connection and never starts a server; natsnode decides which NATS that
// is.
package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/lambada-dev/lambada/internal/store"
)

// DefaultReplicas is one copy: right for the embedded single node.
const DefaultReplicas = 1

// OpTimeout bounds a KV operation or a publish whose context has no
// deadline: while the storage is unreachable or has no quorum, callers
// get an error in seconds instead of waiting for it to come back.
const OpTimeout = 5 * time.Second

// bound applies OpTimeout to a context without a deadline.
func bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, OpTimeout)
}

// Option tunes how a bucket, stream or queue is opened.
type Option func(*options)

type options struct {
	replicas int
	ackWait  time.Duration
	ttl      time.Duration
}

// WithTTL makes a KV bucket created by OpenKV forget every entry ttl after
// it was written (JetStream's MaxAge); 0 keeps entries.
func WithTTL(ttl time.Duration) Option {
	return func(o *options) { o.ttl = ttl }
}

// WithReplicas sets how many servers of a JetStream cluster keep a copy of
// what Open* opens. One created by an earlier start with fewer replicas is
// raised to n (never lowered); more replicas than the cluster has servers
// fails the Open with the server's reason.
func WithReplicas(n int) Option {
	return func(o *options) { o.replicas = n }
}

// WithAckWait sets how long a queue's delivery may stay unsettled before
// it goes to another consumer (QueueAckWait when unset).
func WithAckWait(d time.Duration) Option {
	return func(o *options) { o.ackWait = d }
}

func buildOptions(opts []Option) options {
	o := options{replicas: DefaultReplicas, ackWait: QueueAckWait}
	for _, opt := range opts {
		opt(&o)
	}
	if o.replicas < 1 {
		o.replicas = DefaultReplicas
	}
	if o.ackWait <= 0 {
		o.ackWait = QueueAckWait
	}
	return o
}

// settle makes the stream behind an opened bucket, queue or stream ready
// for use: its replicas raised to want when it has fewer, reads served by
// its leader only (a replica's direct get can answer from before a write
// that was already acknowledged, which a compare-and-set must never see),
// then probe retried while the cluster has no responder for the stream yet
// (a replicated stream answers only once a leader is elected and its
// peers joined), until ctx ends. rebind is called before probe, so that
// handles see the configuration settled.
func settle(ctx context.Context, js natsjs.JetStream, stream string, want int, rebind, probe func(context.Context) error) error {
	var st natsjs.Stream
	err := retryAPI(ctx, func(ctx context.Context) (err error) {
		st, err = js.Stream(ctx, stream)
		if errors.Is(err, natsjs.ErrStreamNotFound) {
			// Just opened: a cluster where several nodes created it at
			// once may not show it to every server yet.
			err = nats.ErrNoResponders
		}
		return err
	})
	if err != nil {
		return err
	}
	cfg := st.CachedInfo().Config
	if cfg.Replicas < want || cfg.AllowDirect {
		had := cfg.Replicas
		cfg.Replicas = max(cfg.Replicas, want)
		cfg.AllowDirect = false
		// Nodes starting together all raise the stream just created; a
		// request the cluster leaves unanswered is asked again.
		if err := retryAPI(ctx, func(ctx context.Context) error {
			_, err := js.UpdateStream(ctx, cfg)
			return err
		}); err != nil {
			return fmt.Errorf("raise replicas of %s from %d to %d: %w", stream, had, cfg.Replicas, err)
		}
	}
	// Always: the handle was bound before this read, possibly before
	// another node starting at the same time turned direct gets off; a
	// handle that still sends them would hear no responder for ever.
	if err := retryAPI(ctx, rebind); err != nil {
		return err
	}
	for {
		// Each round bounded: a request sent while the stream elects its
		// leader can go unanswered or be answered 503 (see retryAPI).
		attempt, cancel := context.WithTimeout(ctx, apiAttempt)
		err := probe(attempt)
		if err == nil && want > 1 {
			// The meta leader applies a raise after answering it, and
			// the new peers join the stream's group as they catch up.
			var info *natsjs.StreamInfo
			if info, err = st.Info(attempt); err == nil && (info.Config.Replicas < want ||
				info.Cluster == nil || len(info.Cluster.Replicas)+1 < want) {
				err = nats.ErrNoResponders
			}
		}
		cancel()
		if !unanswered(err) && !unavailable(err) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stream %s never answered: %w", stream, err)
		case <-time.After(settleRetry):
		}
	}
}

// apiAttempt bounds one JetStream API request made while opening storage.
// A request sent while a cluster elects its meta leader can go unanswered
// (nothing tells the caller); asking again reaches the new leader, where
// waiting on the first request would use up the caller's whole deadline.
// So does a create of a stream that another node is creating at the same
// moment (nodes starting together): the first attempt is therefore short
// (firstAPIAttempt), each next one twice as long up to apiAttempt. Asking
// again is harmless: every request made here creates or binds what exists.
// An answer 503 ("JetStream system temporarily unavailable": a cluster
// restarting whole, its meta group not yet settled) is asked again too.
const (
	apiAttempt      = 5 * time.Second
	firstAPIAttempt = time.Second
)

// retryAPI runs try with a deadline of firstAPIAttempt, then twice as long
// each time up to apiAttempt, until it succeeds, fails for another reason,
// or ctx ends.
func retryAPI(ctx context.Context, try func(context.Context) error) error {
	for wait := firstAPIAttempt; ; wait = min(2*wait, apiAttempt) {
		attempt, cancel := context.WithTimeout(ctx, wait)
		err := try(attempt)
		cancel()
		if err == nil || !(unanswered(err) || unavailable(err) || placementPending(err)) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(settleRetry):
		}
	}
}

// unanswered reports a JetStream API request no one answered (in time).
func unanswered(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrTimeout)
}

// unheard reports a publish nobody listened to: no server had an interest
// in its subject (a stream just created whose interest has not reached
// this client's server yet, or one whose servers are all gone). nats.go
// asks twice more within half a second, then answers ErrNoStreamResponse.
// Nothing was stored: sending it again is always safe.
func unheard(err error) bool {
	return errors.Is(err, natsjs.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders)
}

// placementPending reports a create refused because the meta leader counts
// servers offline that it has not heard from yet ("no suitable peers for
// placement, peer offline", 10005): a cluster that has just started, or
// has just elected a new meta leader, learns within seconds that its
// servers are up. Asked again until the caller's deadline (a server really
// down fails the start then, as it did at once before). Too many copies
// for the cluster's size is the same code without "peer offline", and is
// not asked again.
func placementPending(err error) bool {
	var apiErr *natsjs.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeClusterNoPeers && strings.Contains(apiErr.Description, "peer offline")
}

// errCodeClusterNoPeers is JetStream's "no suitable peers for placement"
// (nats.go names no constant for it).
const errCodeClusterNoPeers natsjs.ErrorCode = 10005

// settleRetry is how often settle asks again.
const settleRetry = 50 * time.Millisecond

// isWrongLastSeq reports a failed compare-and-set: the server's "wrong
// last sequence" error, 10071.
func isWrongLastSeq(err error) bool {
	var apiErr *natsjs.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == natsjs.JSErrCodeStreamWrongLastSequence
}

// isInProcess reports 10164: a replicated stream's leader could not check
// a compare-and-set because the key has a write in process (see
// retryInProcess). nats.go maps it to its key-exists and revision-mismatch
// errors like 10071; it is not a conflict.
func isInProcess(err error) bool {
	var apiErr *natsjs.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == natsjs.JSErrCodeStreamWrongLastSequenceConstant
}

// wrap describes a failed operation, adding store.ErrClosed when the
// connection is gone so callers can tell shutdown from failure.
func wrap(op string, err error) error {
	if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionDraining) {
		return fmt.Errorf("%s: %w: %w", op, store.ErrClosed, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
