package membership_test

import (
	"context"
	"testing"
	"time"

	"github.com/lambada-dev/lambada/internal/membership"
	"github.com/lambada-dev/lambada/internal/natsnode"
	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/store/jetstream"
)

func ids(nodes []membership.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.ID)
	}
	return out
}

func waitLive(t *testing.T, m *membership.Members, want ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := ids(m.Live())
		if len(got) == len(want) {
			ok := true
			for i := range got {
				ok = ok && got[i] == want[i]
			}
			if ok {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s sees %v, want %v", m.ID(), got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Nodes on one storage see each other; one that leaves is gone at once,
// one whose heartbeats stop (its connection died) is gone after DeadAfter.
func TestMembership(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url := natstest.StartServer(t)
	start := func(id string) (*membership.Members, *natsnode.Node) {
		n := natsnode.New(natsnode.Config{URL: url})
		if err := n.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = n.Close(context.Background()) })
		kv, err := jetstream.OpenKV(ctx, n.Conn(), "nodes")
		if err != nil {
			t.Fatal(err)
		}
		m := membership.New(membership.Config{
			ID: id, Address: "http://" + id, Version: "test", Environments: func() int { return 2 },
			Heartbeat: 100 * time.Millisecond, DeadAfter: 600 * time.Millisecond,
		}, kv)
		if err := m.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close(context.Background()) })
		return m, n
	}
	a, _ := start("a")
	b, _ := start("b")
	c, cn := start("c")
	waitLive(t, a, "a", "b", "c")
	waitLive(t, c, "a", "b", "c")
	for _, n := range a.Live() {
		if n.Address != "http://"+n.ID || n.Version != "test" || n.Started.IsZero() {
			t.Errorf("announced %+v", n)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for a.Live()[1].Environments != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("b's environments never announced: %+v", a.Live()[1])
		}
		time.Sleep(20 * time.Millisecond)
	}

	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitLive(t, a, "a", "c")

	// c's storage connection dies: it can neither heartbeat nor say
	// goodbye.
	if err := cn.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitLive(t, a, "a")
}
