package jetstream

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/lambada-dev/lambada/internal/natsnode"
	"github.com/lambada-dev/lambada/internal/store"
)

// A sweep deletes the bodies no queued message points to and keeps the
// others.
func TestSweepDeletesOrphanBodies(t *testing.T) {
	n := natsnode.New(natsnode.Config{DataDir: t.TempDir()})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	q, err := OpenQueue(ctx, n.Conn(), StreamConfig{Name: "SW", Subjects: []string{"sw.>"}}, "w")
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), int(n.Conn().MaxPayload()))
	for _, subj := range []string{"sw.a", "sw.b.c"} {
		if err := q.Publish(ctx, store.Message{Subject: subj, Data: big}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.bodies.obs.PutBytes(ctx, "orphan", []byte("left by a crash")); err != nil {
		t.Fatal(err)
	}
	defer func(g time.Duration) { orphanGrace = g }(orphanGrace)
	orphanGrace = 0
	if err := q.bodies.sweep(ctx, q.js, q.name); err != nil {
		t.Fatal(err)
	}
	objs, err := q.bodies.obs.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 {
		t.Fatalf("%d bodies after the sweep, want the 2 of the queued messages", len(objs))
	}
	for _, o := range objs {
		if o.Name == "orphan" {
			t.Fatal("the orphan survived")
		}
	}
}
