package jetstream

import (
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

// DefaultBlobReadTimeout bounds reading a blob whose ctx has no deadline.
// Without it nats.go would allow its 5 s API timeout for the whole read,
// too little for a 50 MB zip over a slow link.
const DefaultBlobReadTimeout = 2 * time.Minute

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
	obs natsjs.ObjectStore
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
	if err == nil {
		err = settle(ctx, js, objStreamPrefix+bucket, o.replicas, func(ctx context.Context) (err error) {
			obs, err = js.ObjectStore(ctx, bucket)
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
	return &Blobs{obs: obs}, nil
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
// content's digest at EOF; it stops when ctx ends.
func (b *Blobs) Get(ctx context.Context, sum string) (io.ReadCloser, error) {
	if !sumValid(sum) {
		return nil, fmt.Errorf("get blob %q: %w", sum, store.ErrNotFound)
	}
	cancel := context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok {
		ctx, cancel = context.WithTimeout(ctx, DefaultBlobReadTimeout)
	}
	res, err := b.obs.Get(ctx, sum)
	if err != nil {
		cancel()
		if errors.Is(err, natsjs.ErrObjectNotFound) {
			return nil, fmt.Errorf("get blob %s: %w", sum, store.ErrNotFound)
		}
		return nil, wrap("get blob "+sum, err)
	}
	return &blobReader{res: res, cancel: cancel}, nil
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

// blobReader releases the read's timeout when closed.
type blobReader struct {
	res    natsjs.ObjectResult
	cancel context.CancelFunc
}

func (r *blobReader) Read(p []byte) (int, error) { return r.res.Read(p) }

func (r *blobReader) Close() error {
	err := r.res.Close()
	r.cancel()
	return err
}
