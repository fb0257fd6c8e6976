// Package store is the storage seam of lambada: the small interfaces the
// registry and the async queue need, and the errors every implementation
// returns. store/jetstream implements them on NATS JetStream; the
// conformance suite in store/storetest holds every implementation to the
// same behaviour.
package store

import (
	"context"
	"errors"
	"io"
	"time"
)

var (
	// ErrNotFound: the key or blob does not exist (or was deleted).
	ErrNotFound = errors.New("store: not found")
	// ErrExists: Create found the key already present.
	ErrExists = errors.New("store: already exists")
	// ErrConflict: a compare-and-set saw another revision than expected.
	ErrConflict = errors.New("store: revision conflict")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
)

// Entry is one key's current value and the revision that wrote it.
// Revisions increase across the whole KV, not per key: every write gets a
// revision above all earlier ones (KV.Watch says what a watcher sees).
type Entry struct {
	Key      string
	Value    []byte
	Revision uint64
}

// Event is one change seen by a watch.
type Event struct {
	Key      string
	Value    []byte // nil when Deleted
	Revision uint64
	Deleted  bool
}

// KV is a key-value map with revisions, compare-and-set and a watch.
// Keys are made of [-/_=.a-zA-Z0-9] and must not start or end with '.'.
type KV interface {
	// Get returns the current entry of key or ErrNotFound.
	Get(ctx context.Context, key string) (Entry, error)
	// Create writes key only when it does not exist (or was deleted):
	// ErrExists otherwise.
	Create(ctx context.Context, key string, value []byte) (uint64, error)
	// Update writes key only when its current revision is rev: ErrConflict
	// otherwise (also when the key was deleted since).
	Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error)
	// Delete removes key. With rev > 0 only when its current revision is
	// rev (ErrConflict otherwise); deleting a missing key with rev 0 is no
	// error. It returns the revision of the deletion.
	Delete(ctx context.Context, key string, rev uint64) (uint64, error)
	// Watch calls the returned channel with every current entry, then a
	// WatchReady marker, then every later change in revision order, until
	// ctx ends (the channel is then closed). A watch keeps only the latest
	// value of a key, as the store does: a change superseded by a later
	// change of the same key before it was delivered may be skipped. A
	// watcher thus converges on every key's latest value; one waiting for
	// its own write of key k at revision r waits for k at a revision >= r
	// (not for any event >= r: k's newer change may come just after it).
	Watch(ctx context.Context) (<-chan WatchMsg, error)
}

// WatchMsg is one message of a watch: an Event, or Ready (Event zero) once
// the initial values have all been delivered.
type WatchMsg struct {
	Event
	Ready bool
}

// Blobs holds immutable content-addressed byte objects (code zips), named by
// the lower-case hex SHA-256 of their content.
type Blobs interface {
	// Put stores r's bytes under sum unless sum is already stored (then it
	// does nothing). It fails when the bytes do not hash to sum.
	Put(ctx context.Context, sum string, r io.Reader) error
	// Get opens the blob or returns ErrNotFound.
	Get(ctx context.Context, sum string) (io.ReadCloser, error)
	// Delete removes the blob; a missing blob is no error.
	Delete(ctx context.Context, sum string) error
}

// Message is one durable message: its body and headers.
type Message struct {
	Subject string
	Data    []byte
	Header  map[string]string
}

// Stream appends messages durably: Publish returns only after the store
// acknowledged the write. A message may be of any size (a body too large
// for the store's messages is kept aside and read back transparently).
type Stream interface {
	Publish(ctx context.Context, m Message) error
}

// StoredMessage is a message read back from a stream with its position.
type StoredMessage struct {
	Message
	Seq    uint64
	Stored time.Time
}

// Reader reads a stream back, one subject at a time.
type Reader interface {
	// Read returns up to max messages of subject stored after sequence
	// after, oldest first; fewer (or none) when the stream has no more.
	Read(ctx context.Context, subject string, after uint64, max int) ([]StoredMessage, error)
}

// Queue is a durable work queue shared by every consumer of it: each
// delivery of a message goes to exactly one consumer, and a message stays
// until it is acknowledged.
type Queue interface {
	Stream
	// Consume hands deliveries to fn, at most inFlight at a time, until ctx
	// ends. fn runs on its own goroutine per delivery and must settle it
	// (Ack or Retry); an unsettled delivery is redelivered after the
	// queue's acknowledgement wait.
	Consume(ctx context.Context, inFlight int, fn func(Delivery)) error
	// Depth reports how many messages wait and when the oldest was stored.
	Depth(ctx context.Context) (n uint64, oldest time.Time, err error)
	// Depths reports how many messages wait per subject and when the
	// oldest of each was stored (subjects with none left out).
	Depths(ctx context.Context) (map[string]SubjectDepth, error)
}

// SubjectDepth is one subject's part of a queue.
type SubjectDepth struct {
	N      uint64
	Oldest time.Time
}

// Delivery is one delivery of a queued message.
type Delivery interface {
	// Message is the message as published; an error wrapping ErrNotFound
	// when its body is lost.
	Message() (Message, error)
	// Stored is when the message was first published.
	Stored() time.Time
	// Deliveries counts deliveries of this message, this one included.
	Deliveries() int
	// Ack removes the message (and anything kept for it) for good.
	Ack() error
	// Retry gives the message back to be delivered again after delay.
	Retry(delay time.Duration) error
	// Extend tells the queue the consumer is still working on it.
	Extend() error
}
