// Package jetstream implements lambada's store interfaces on NATS JetStream
// with the nats.go jetstream API: the KV on a KV bucket (a stream whose
// sequence is the revision), the blobs on an object store bucket. It takes
// a connection and never starts a server; natsnode decides which NATS that
// is.
package jetstream

import (
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/lambada-dev/lambada/internal/store"
)

// DefaultReplicas is one copy: right for the embedded single node.
const DefaultReplicas = 1

// Option tunes how a bucket is created.
type Option func(*options)

type options struct {
	replicas int
}

// WithReplicas sets how many servers of a JetStream cluster keep a copy of
// a bucket created by Open*. A bucket that already exists keeps its own
// configuration (change that with the nats CLI).
func WithReplicas(n int) Option {
	return func(o *options) { o.replicas = n }
}

func buildOptions(opts []Option) options {
	o := options{replicas: DefaultReplicas}
	for _, opt := range opts {
		opt(&o)
	}
	if o.replicas < 1 {
		o.replicas = DefaultReplicas
	}
	return o
}

// isWrongLastSeq reports a failed compare-and-set: the server's "wrong last
// sequence" error, 10071, or 10164 as replicated streams report it.
func isWrongLastSeq(err error) bool {
	var apiErr *natsjs.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == natsjs.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == natsjs.JSErrCodeStreamWrongLastSequenceConstant
}

// wrap describes a failed operation, adding store.ErrClosed when the
// connection is gone so callers can tell shutdown from failure.
func wrap(op string, err error) error {
	if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionDraining) {
		return fmt.Errorf("%s: %w: %w", op, store.ErrClosed, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
