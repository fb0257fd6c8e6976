package jetstream_test

import (
	"context"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/lambada-dev/lambada/internal/natsnode"
	"github.com/lambada-dev/lambada/internal/store"
	"github.com/lambada-dev/lambada/internal/store/jetstream"
)

// A write or a publish nobody hears (no server listens on its subject: a
// stream just made whose interest has not reached the client's server, here
// a stream that is gone for a second) was not stored: it is sent again until
// the stream listens, and stored once; with nobody ever listening it fails
// when its context ends, not before.
func TestUnheardWritesAreSentAgain(t *testing.T) {
	nc := startNode(t, natsnode.Config{DataDir: t.TempDir()}).Conn()
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	name := bucket()
	kv, err := jetstream.OpenKV(ctx, nc, name)
	if err != nil {
		t.Fatal(err)
	}
	q, err := jetstream.OpenStream(ctx, nc, jetstream.StreamConfig{Name: "UNHEARD_" + name, Subjects: []string{name + ".>"}})
	if err != nil {
		t.Fatal(err)
	}
	gone := func() {
		t.Helper()
		for _, s := range []string{"KV_" + name, "UNHEARD_" + name} {
			if err := js.DeleteStream(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
	}
	back := func() {
		t.Helper()
		if _, err := js.CreateKeyValue(ctx, natsjs.KeyValueConfig{Bucket: name, History: 5}); err != nil {
			t.Fatal(err)
		}
		if _, err := js.CreateStream(ctx, natsjs.StreamConfig{Name: "UNHEARD_" + name, Subjects: []string{name + ".>"}}); err != nil {
			t.Fatal(err)
		}
	}

	gone()
	type answer struct {
		rev uint64
		err error
	}
	wrote, published := make(chan answer, 1), make(chan error, 1)
	go func() {
		rev, err := kv.Create(ctx, "k", []byte("v"))
		wrote <- answer{rev, err}
	}()
	go func() { published <- q.Publish(ctx, store.Message{Subject: name + ".m", Data: []byte("m")}) }()
	time.Sleep(1500 * time.Millisecond) // longer than nats.go's own two retries
	select {
	case a := <-wrote:
		t.Fatalf("a write with nobody listening ended early: %d %v", a.rev, a.err)
	case err := <-published:
		t.Fatalf("a publish with nobody listening ended early: %v", err)
	default:
	}
	back()
	if a := <-wrote; a.err != nil || a.rev != 1 {
		t.Fatalf("write once the stream listens: revision %d, %v; want 1", a.rev, a.err)
	}
	if err := <-published; err != nil {
		t.Fatalf("publish once the stream listens: %v", err)
	}
	e, err := kv.Get(ctx, "k")
	if err != nil || string(e.Value) != "v" || e.Revision != 1 {
		t.Fatalf("the key after the write: %+v %v", e, err)
	}
	if info, err := js.Stream(ctx, "UNHEARD_"+name); err != nil || info.CachedInfo().State.Msgs != 1 {
		t.Fatalf("the stream after the publish: %v, want one message", err)
	}

	// Nobody ever listens: each fails at its context's end.
	gone()
	for what, try := range map[string]func(context.Context) error{
		"write": func(ctx context.Context) error {
			_, err := kv.Create(ctx, "k2", []byte("w"))
			return err
		},
		"publish": func(ctx context.Context) error {
			return q.Publish(ctx, store.Message{Subject: name + ".m", Data: []byte("m")})
		},
	} {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		start := time.Now()
		err := try(cctx)
		cancel()
		if took := time.Since(start); err == nil || took < 1900*time.Millisecond || took > 4*time.Second {
			t.Errorf("%s with nobody listening: %v after %s, want an error after its 2 s", what, err, took.Round(time.Millisecond))
		}
	}
}
