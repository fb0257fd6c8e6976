package jetstream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/lambada-dev/lambada/internal/store"
)

// DefaultBlobReadTimeout bounds reading a blob whose ctx has no deadline:
// a 50 MB zip over a slow link takes long, but not for ever.
const DefaultBlobReadTimeout = 2 * time.Minute

// BlobStallTimeout bounds how long a blob read waits for the storage's next
// answer (the object's description or its next chunk): a read that hears
// nothing for that long — the bucket's stream has no leader, or no quorum —
// fails with ErrStalled instead of holding its caller (an invocation's cold
// start, a node's Close waiting for it) for DefaultBlobReadTimeout
// (docs/behaviour/cluster.md §3). Unanswered requests are asked again
// meanwhile (a new leader answers within seconds).
const BlobStallTimeout = 10 * time.Second

// ErrStalled: a blob read heard nothing from the storage for
// BlobStallTimeout.
var ErrStalled = errors.New("storage did not answer")

// BlobWriteTimeout bounds waiting for the storage to acknowledge an
// object's chunks.
const BlobWriteTimeout = 30 * time.Second

// ErrSumMismatch: the bytes given to Put do not hash to the sum they were
// stored under.
var ErrSumMismatch = errors.New("content does not match its SHA-256")

var _ store.Blobs = (*Blobs)(nil)

// Blobs is a store.Blobs on a JetStream object store bucket, each blob
// named by its hex SHA-256; safe for concurrent use.
type Blobs struct {
	obs    natsjs.ObjectStore
	stream natsjs.Stream // the bucket's: chunks are read from its leader
	bucket string
}

// objStreamPrefix names an object store bucket's stream.
const objStreamPrefix = "OBJ_"

// OpenBlobs binds the object store bucket, creating it (file storage) when
// it does not exist.
func OpenBlobs(ctx context.Context, nc *nats.Conn, bucket string, opts ...Option) (*Blobs, error) {
	o := buildOptions(opts)
	// nats.go waits its API default (5 s) for the acknowledgement of an
	// object's chunks; a replicated upload of tens of MB on a busy
	// machine takes longer.
	js, err := natsjs.New(nc, natsjs.WithDefaultTimeout(BlobWriteTimeout))
	if err != nil {
		return nil, fmt.Errorf("open object store %q: %w", bucket, err)
	}
	var obs natsjs.ObjectStore
	err = retryAPI(ctx, func(ctx context.Context) (err error) {
		obs, err = js.ObjectStore(ctx, bucket)
		if errors.Is(err, natsjs.ErrBucketNotFound) {
			obs, err = js.CreateObjectStore(ctx, natsjs.ObjectStoreConfig{
				Bucket:      bucket,
				Description: "lambada",
				Storage:     natsjs.FileStorage,
				Replicas:    o.replicas,
			})
			if errors.Is(err, natsjs.ErrBucketExists) || errors.Is(err, natsjs.ErrStreamNameAlreadyInUse) {
				obs, err = js.ObjectStore(ctx, bucket)
			}
		}
		return err
	})
	var stream natsjs.Stream
	if err == nil {
		err = settle(ctx, js, objStreamPrefix+bucket, o.replicas, func(ctx context.Context) (err error) {
			if obs, err = js.ObjectStore(ctx, bucket); err != nil {
				return err
			}
			stream, err = js.Stream(ctx, objStreamPrefix+bucket)
			return err
		}, func(ctx context.Context) error {
			_, err := obs.GetInfo(ctx, "lambada-probe")
			if errors.Is(err, natsjs.ErrObjectNotFound) {
				return nil
			}
			return err
		})
	}
	if err != nil {
		return nil, wrap(fmt.Sprintf("open object store %q", bucket), err)
	}
	return &Blobs{obs: obs, stream: stream, bucket: bucket}, nil
}

// Put stores r's bytes under sum unless it is already stored. The bytes
// are hashed as they stream; on a mismatch the upload is aborted before the
// object's metadata is written, so no reader ever sees the wrong content.
func (b *Blobs) Put(ctx context.Context, sum string, r io.Reader) error {
	op := "put blob " + sum
	if !sumValid(sum) {
		return fmt.Errorf("put blob %q: not a lower-case hex SHA-256", sum)
	}
	ictx, cancel := bound(ctx)
	_, err := b.obs.GetInfo(ictx, sum)
	cancel()
	if err == nil {
		return nil
	}
	if !errors.Is(err, natsjs.ErrObjectNotFound) {
		return wrap(op, err)
	}
	vr := &verifyingReader{r: r, h: sha256.New(), want: sum}
	if _, err := b.obs.Put(ctx, natsjs.ObjectMeta{Name: sum}, vr); err != nil {
		return wrap(op, err)
	}
	return nil
}

// Get opens the blob or returns store.ErrNotFound. The reader checks the
// content's digest at EOF; it stops when ctx ends (at once, also in the
// middle of a chunk's wait), and fails with ErrStalled when the storage
// does not answer for BlobStallTimeout.
//
// The chunks are fetched here rather than through nats.go's object reader:
// that one waits for its next chunk holding a lock that its Close needs
// too, until the whole read's deadline, so a read whose stream leader died
// could be neither stopped nor bounded below DefaultBlobReadTimeout.
func (b *Blobs) Get(ctx context.Context, sum string) (io.ReadCloser, error) {
	if !sumValid(sum) {
		return nil, fmt.Errorf("get blob %q: %w", sum, store.ErrNotFound)
	}
	cancel := context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok {
		ctx, cancel = context.WithTimeout(ctx, DefaultBlobReadTimeout)
	}
	var info *natsjs.ObjectInfo
	err := patient(ctx, func(ctx context.Context) (err error) {
		info, err = b.obs.GetInfo(ctx, sum)
		return err
	})
	if err == nil && (info.NUID == "" || info.Opts != nil && info.Opts.Link != nil) {
		err = fmt.Errorf("not a stored object: %+v", info.ObjectMeta)
	}
	var digest []byte
	if err == nil {
		digest, err = natsjs.DecodeObjectDigest(info.Digest)
	}
	if err != nil {
		cancel()
		if errors.Is(err, natsjs.ErrObjectNotFound) {
			return nil, fmt.Errorf("get blob %s: %w", sum, store.ErrNotFound)
		}
		return nil, wrap("get blob "+sum, err)
	}
	return &blobReader{
		ctx: ctx, cancel: cancel, stream: b.stream, sum: sum,
		subject: fmt.Sprintf("$O.%s.C.%s", b.bucket, info.NUID), next: 1,
		left: info.Chunks, size: info.Size, want: digest, h: sha256.New(),
	}, nil
}

// patient runs read, asking again while it goes unanswered (a request sent
// to a leader that died is never answered; the new one answers a new
// request), is answered 503 (no leader yet) or lost its consumer: after
// 1 s, then twice as long each time, until it succeeds, fails otherwise,
// ctx ends, or BlobStallTimeout passed without an answer: then ErrStalled.
func patient(ctx context.Context, read func(context.Context) error) error {
	stall, cancel := context.WithTimeout(ctx, BlobStallTimeout)
	defer cancel()
	for wait := readFirstAttempt; ; wait *= 2 {
		attempt, acancel := context.WithTimeout(stall, wait)
		began := time.Now()
		err := read(attempt)
		acancel()
		if err == nil || !unanswered(err) && !unavailable(err) && !consumerGone(err) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		if stall.Err() != nil {
			return fmt.Errorf("%w for %s: %w", ErrStalled, BlobStallTimeout, err)
		}
		// No responders is answered at once: no busy loop.
		if rest := settleRetry - time.Since(began); rest > 0 {
			select {
			case <-stall.Done():
			case <-time.After(rest):
			}
		}
	}
}

// Delete removes the blob; a missing blob is no error.
func (b *Blobs) Delete(ctx context.Context, sum string) error {
	if !sumValid(sum) {
		return nil // nothing can be stored under it
	}
	err := b.obs.Delete(ctx, sum)
	if err != nil && !errors.Is(err, natsjs.ErrObjectNotFound) {
		return wrap("delete blob "+sum, err)
	}
	return nil
}

func sumValid(sum string) bool {
	if len(sum) != 2*sha256.Size {
		return false
	}
	for _, c := range []byte(sum) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// verifyingReader hashes what it reads and turns the final io.EOF into
// ErrSumMismatch when the hash is not want, which makes the object store
// abort the upload and purge the chunks it wrote.
type verifyingReader struct {
	r    io.Reader
	h    hash.Hash
	want string
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	if err == io.EOF {
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			return n, fmt.Errorf("%w: got %s", ErrSumMismatch, got)
		}
	}
	return n, err
}

// unavailable reports JetStream's 503: the stream or the cluster has no
// leader now.
func unavailable(err error) bool {
	var apiErr *natsjs.APIError
	return errors.As(err, &apiErr) && apiErr.Code == 503
}

// fetchChunks is how many chunks (128 KiB each) one request fetches.
const fetchChunks = 16

// consumerGone reports a read's consumer lost (with its stream's leader,
// or idle too long): the next try makes a new one.
func consumerGone(err error) bool {
	return errors.Is(err, natsjs.ErrConsumerDeleted) || errors.Is(err, natsjs.ErrConsumerNotFound)
}

// blobReader reads an object's chunks in order through an ephemeral
// consumer, fetchChunks a request; a fetch that brings nothing (the
// consumer went with its stream's leader) makes a new consumer from the
// next chunk on, within patient's bounds.
type blobReader struct {
	ctx     context.Context // the whole read's
	cancel  context.CancelFunc
	stream  natsjs.Stream
	cons    natsjs.Consumer
	sum     string
	subject string // the object's chunks
	next    uint64 // the stream sequence to read from
	left    uint32 // chunks not fetched yet
	size    uint64 // the object's size
	got     uint64
	want    []byte // the object's SHA-256
	h       hash.Hash
	chunks  [][]byte // fetched, not read yet
	err     error
}

func (r *blobReader) Read(p []byte) (int, error) {
	for len(r.chunks) == 0 && r.err == nil {
		if r.left == 0 {
			r.err = io.EOF
			if r.got != r.size || !bytes.Equal(r.h.Sum(nil), r.want) {
				r.err = fmt.Errorf("read blob %s: %w", r.sum, natsjs.ErrDigestMismatch)
			}
			break
		}
		if err := patient(r.ctx, r.fetch); err != nil {
			r.err = wrap("read blob "+r.sum, err)
		}
	}
	if len(r.chunks) == 0 {
		return 0, r.err
	}
	n := copy(p, r.chunks[0])
	if r.chunks[0] = r.chunks[0][n:]; len(r.chunks[0]) == 0 {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

// fetch asks for the next chunks; nil once at least one came.
func (r *blobReader) fetch(ctx context.Context) error {
	if r.cons == nil {
		cons, err := r.stream.CreateConsumer(ctx, natsjs.ConsumerConfig{
			FilterSubject: r.subject, DeliverPolicy: natsjs.DeliverByStartSequencePolicy, OptStartSeq: r.next,
			AckPolicy: natsjs.AckNonePolicy, MemoryStorage: true, Replicas: 1, InactiveThreshold: 5 * time.Minute,
		})
		if err != nil {
			return err
		}
		r.cons = cons
	}
	batch, err := r.cons.Fetch(int(min(r.left, fetchChunks)), natsjs.FetchContext(ctx))
	if err != nil {
		r.drop()
		return err
	}
	n := 0
	for m := range batch.Messages() {
		md, err := m.Metadata()
		if err != nil || md.Sequence.Stream < r.next {
			continue
		}
		r.next, r.left = md.Sequence.Stream+1, r.left-1
		r.got += uint64(len(m.Data()))
		r.h.Write(m.Data())
		r.chunks = append(r.chunks, m.Data())
		n++
		if r.left == 0 {
			break
		}
	}
	if n > 0 {
		return nil
	}
	// Nothing came: the consumer may be gone with its stream's leader.
	err = batch.Error()
	if consumerGone(err) {
		r.cons = nil
	}
	r.drop()
	if err != nil {
		return err
	}
	return context.DeadlineExceeded
}

// drop deletes the consumer, briefly: one left behind goes by itself
// after its InactiveThreshold.
func (r *blobReader) drop() {
	if r.cons == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), readFirstAttempt)
	defer cancel()
	_ = r.stream.DeleteConsumer(ctx, r.cons.CachedInfo().Name)
	r.cons = nil
}

// Close ends the read and releases its consumer and its timeout.
func (r *blobReader) Close() error {
	if r.err == nil || r.err == io.EOF {
		r.drop()
	}
	r.cancel()
	return nil
}
