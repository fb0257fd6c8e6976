package jetstream_test

import (
	"context"
	"testing"
	"time"

	"github.com/lambada-dev/lambada/internal/natsnode"
	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/store"
	"github.com/lambada-dev/lambada/internal/store/jetstream"
)

// Opening storage while the cluster has no meta leader (two of three
// servers down: a whole-cluster restart with one server back first) waits
// for the cluster instead of failing: whatever JetStream answers meanwhile
// (no answer, or 503 "JetStream system temporarily unavailable"), the
// bucket and the stream open once the servers are back, within the
// caller's bound.
func TestOpenWhileClusterLeaderless(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	nc := startNode(t, natsnode.Config{URL: c.URLs()}).Conn()
	c.Kill(0)
	c.Kill(1)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	name := bucket()
	type opened struct {
		what string
		err  error
	}
	done := make(chan opened, 2)
	go func() {
		kv, err := jetstream.OpenKV(ctx, nc, name, jetstream.WithReplicas(3))
		if err == nil {
			_, err = kv.Create(ctx, "k", []byte("v"))
		}
		done <- opened{"KV bucket", err}
	}()
	go func() {
		s, err := jetstream.OpenStream(ctx, nc, jetstream.StreamConfig{Name: "LEADERLESS_" + name, Subjects: []string{name + ".>"}}, jetstream.WithReplicas(3))
		if err == nil {
			err = s.Publish(ctx, store.Message{Subject: name + ".m", Data: []byte("m")})
		}
		done <- opened{"stream", err}
	}()
	select {
	case o := <-done:
		t.Fatalf("%s opened without a meta leader: %v", o.what, o.err)
	case <-time.After(8 * time.Second):
	}
	c.RestartAll()
	for range 2 {
		if o := <-done; o.err != nil {
			t.Errorf("%s once the cluster is back: %v", o.what, o.err)
		}
	}
}
