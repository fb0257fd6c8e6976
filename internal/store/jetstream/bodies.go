package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/lambada-dev/lambada/internal/store"
)

// Headers of a message whose body is kept out of line
// (docs/behaviour/async-storage.md §3): the message itself carries no data,
// the body is the object BodyObjectHeader names in the stream's body bucket
// (BodyBucket), BodySizeHeader bytes long.
const (
	BodyObjectHeader = "Lambada-Body-Object"
	BodySizeHeader   = "Lambada-Body-Size"
)

// bodyMargin is room left under the server's max_payload for what NATS adds
// to a message besides its headers and data (the JetStream publish reply
// subject and message-id travel outside the payload; this is slack).
const bodyMargin = 256

// orphanGrace is how old an out-of-line body of a queue must be before a
// sweep may delete it for lack of a message: a body is stored just before
// its message is published (a variable for tests).
var orphanGrace = 10 * time.Minute

// bodyTimeout bounds a body's read or write when ctx has no deadline.
const bodyTimeout = 2 * time.Minute

// BodyBucket is the object store bucket that holds the out-of-line bodies
// of the stream named stream.
func BodyBucket(stream string) string { return strings.ToLower(stream) + "_bodies" }

// bodies keeps message bodies too large for one NATS message in an object
// store bucket, one object per message under a unique name.
type bodies struct {
	nc  *nats.Conn
	obs natsjs.ObjectStore
}

func openBodies(ctx context.Context, nc *nats.Conn, js natsjs.JetStream, stream string, ttl time.Duration, o options) (*bodies, error) {
	bucket := BodyBucket(stream)
	var obs natsjs.ObjectStore
	err := retryAPI(ctx, func(ctx context.Context) (err error) {
		obs, err = js.ObjectStore(ctx, bucket)
		if errors.Is(err, natsjs.ErrBucketNotFound) {
			obs, err = js.CreateObjectStore(ctx, natsjs.ObjectStoreConfig{
				Bucket: bucket, Description: "lambada: bodies of " + stream + " messages too large for one NATS message",
				Storage: natsjs.FileStorage, Replicas: o.replicas, TTL: ttl,
			})
			if errors.Is(err, natsjs.ErrBucketExists) || errors.Is(err, natsjs.ErrStreamNameAlreadyInUse) {
				obs, err = js.ObjectStore(ctx, bucket)
			}
		}
		return err
	})
	if err != nil {
		return nil, wrap(fmt.Sprintf("open body bucket %q", bucket), err)
	}
	return &bodies{nc: nc, obs: obs}, nil
}

// fits reports whether m goes as one NATS message: its encoded headers and
// data within the server's max_payload.
func (b *bodies) fits(h nats.Header, data []byte) bool {
	size := len("NATS/1.0\r\n\r\n") + len(data) + bodyMargin
	for k, vs := range h {
		for _, v := range vs {
			size += len(k) + len(v) + len(": \r\n")
		}
	}
	return int64(size) <= b.nc.MaxPayload()
}

// put stores data as a new object and turns msg into a pointer to it.
func (b *bodies) put(ctx context.Context, msg *nats.Msg) error {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	name := nuid.Next()
	if _, err := b.obs.PutBytes(ctx, name, msg.Data); err != nil {
		return wrap("store out-of-line body", err)
	}
	msg.Header.Set(BodyObjectHeader, name)
	msg.Header.Set(BodySizeHeader, strconv.Itoa(len(msg.Data)))
	msg.Data = nil
	return nil
}

// get reads the body m points to; m is returned unchanged when its body is
// inline. A body that is gone wraps store.ErrNotFound.
func (b *bodies) get(ctx context.Context, m store.Message) (store.Message, error) {
	name := m.Header[BodyObjectHeader]
	if name == "" {
		return m, nil
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	data, err := b.obs.GetBytes(ctx, name)
	if errors.Is(err, natsjs.ErrObjectNotFound) {
		return m, fmt.Errorf("read out-of-line body %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return m, wrap("read out-of-line body "+name, err)
	}
	m.Data = data
	return m, nil
}

// drop deletes the body m points to, if any.
func (b *bodies) drop(m store.Message) error {
	name := m.Header[BodyObjectHeader]
	if name == "" {
		return nil
	}
	ctx, cancel := withDefaultTimeout(context.Background())
	defer cancel()
	if err := b.obs.Delete(ctx, name); err != nil && !errors.Is(err, natsjs.ErrObjectNotFound) {
		return wrap("delete out-of-line body "+name, err)
	}
	return nil
}

// sweep deletes bodies older than orphanGrace that no message of stream
// points to any more: what a crash between storing a body and publishing
// its message, or between acknowledging a message and deleting its body,
// left behind.
func (b *bodies) sweep(ctx context.Context, js natsjs.JetStream, stream string) error {
	objs, err := b.obs.List(ctx)
	if errors.Is(err, natsjs.ErrNoObjectsFound) {
		return nil
	}
	if err != nil {
		return wrap("list out-of-line bodies", err)
	}
	old := map[string]bool{}
	for _, o := range objs {
		if time.Since(o.ModTime) > orphanGrace {
			old[o.Name] = true
		}
	}
	if len(old) == 0 {
		return nil
	}
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return wrap("sweep out-of-line bodies", err)
	}
	for seq := uint64(1); ; {
		m, err := st.GetMsg(ctx, seq, natsjs.WithGetMsgSubject(">"))
		if errors.Is(err, natsjs.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return wrap("sweep out-of-line bodies", err)
		}
		delete(old, m.Header.Get(BodyObjectHeader))
		seq = m.Sequence + 1
	}
	for name := range old {
		if err := b.obs.Delete(ctx, name); err != nil && !errors.Is(err, natsjs.ErrObjectNotFound) {
			return wrap("sweep out-of-line bodies", err)
		}
	}
	return nil
}

func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, bodyTimeout)
}
