package jetstream_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/lambada-dev/lambada/internal/natsnode"
	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/store/jetstream"
)

// readRest reads what is left of r on another goroutine and returns its
// error, or fails t when the read has not ended after bound (nats.go's
// object reader waited for the whole read's deadline, two minutes).
func readRest(t *testing.T, r io.Reader, bound time.Duration, stop func()) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, r)
		done <- err
	}()
	if stop != nil {
		stop()
	}
	select {
	case err := <-done:
		return err
	case <-time.After(bound):
		t.Fatalf("the read did not end within %s", bound)
		return nil
	}
}

// A blob read on a 3-server cluster whose quorum is lost in the middle of
// the read (two servers die, its consumer's among them: the bucket's
// stream has no leader) ends at
// once when its context is cancelled, and by itself with ErrStalled when
// nothing is heard for BlobStallTimeout; so does one begun then. Once the
// servers are back a read gets the whole content.
func TestBlobReadStalledByLeaderlessStore(t *testing.T) {
	ctx := testContext(t)
	c := natstest.StartCluster(t, 3)
	nc := startNode(t, natsnode.Config{URL: c.URLs()}).Conn()
	name := bucket()
	b, err := jetstream.OpenBlobs(ctx, nc, name, jetstream.WithReplicas(3))
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 5<<20) // 40 chunks: a read fetches 16 at a time
	_, _ = rand.Read(data)
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	if err := b.Put(ctx, sum, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	open := func(ctx context.Context) io.ReadCloser {
		t.Helper()
		r, err := b.Get(ctx, sum)
		if err != nil {
			t.Fatal(err)
		}
		// The first chunks are in; the next are fetched after the loss.
		if _, err := io.ReadFull(r, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		return r
	}
	cctx, cancel := context.WithCancel(ctx)
	cancelled := open(cctx)
	defer cancelled.Close()
	stalled := open(context.Background())
	defer stalled.Close()

	// The servers of the two reads' consumers, and one more if they share
	// one: the one left cannot lead alone, and the reads cannot go on
	// through it (a consumer of one copy left on the surviving server
	// would serve the rest of a read from that server's own copy, no
	// quorum needed — not a stall).
	kill := map[int]bool{}
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, "OBJ_"+name)
	if err != nil {
		t.Fatal(err)
	}
	infos := st.ListConsumers(ctx)
	for info := range infos.Info() {
		if info.Cluster != nil {
			kill[c.Index(info.Cluster.Leader)] = true
		}
	}
	if err := infos.Err(); err != nil || len(kill) == 0 || kill[-1] {
		t.Fatalf("the reads' consumers' servers: %v (%v)", kill, err)
	}
	for i := 0; len(kill) < 2; i++ {
		kill[i] = true
	}
	for i := range kill {
		c.Kill(i)
	}
	t.Logf("servers %v killed (the reads' consumers'): no quorum", kill)
	if err := readRest(t, cancelled, 20*time.Second, cancel); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled read: %v, want context.Canceled", err)
	}
	begun := make(chan error, 1)
	go func() {
		// The object's description may still be read from the surviving
		// server's copy (a direct get needs no leader): the read then
		// stalls on its chunks instead.
		r, err := b.Get(context.Background(), sum)
		if err == nil {
			_, err = io.Copy(io.Discard, r)
			r.Close()
		}
		begun <- err
	}()
	start := time.Now()
	if err := readRest(t, stalled, 3*jetstream.BlobStallTimeout, nil); !errors.Is(err, jetstream.ErrStalled) {
		t.Errorf("stalled read: %v, want ErrStalled", err)
	}
	t.Logf("stalled read failed after %s", time.Since(start).Round(time.Millisecond))
	select {
	case err := <-begun:
		if !errors.Is(err, jetstream.ErrStalled) {
			t.Errorf("read begun without quorum: %v, want ErrStalled", err)
		}
	case <-time.After(3 * jetstream.BlobStallTimeout):
		t.Fatal("a read begun without quorum did not end")
	}

	c.RestartAll()
	c.StreamLeader("OBJ_" + name)
	r, err := b.Get(context.Background(), sum)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read after the restart: %d bytes (%v), want the %d stored", len(got), err, len(data))
	}
}
