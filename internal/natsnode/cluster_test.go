package natsnode_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lambada-dev/lambada/internal/natsnode"
	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
)

// startCluster starts n clustered nodes at once, each with the same
// route list (its own included), and stops them when t ends.
func startCluster(t *testing.T, n int) []*natsnode.Node {
	t.Helper()
	var routes, listens []string
	for range n {
		l := fmt.Sprintf("127.0.0.1:%d", natstest.FreePort(t))
		listens = append(listens, l)
		routes = append(routes, "nats://"+l)
	}
	nodes := make([]*natsnode.Node, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		nodes[i] = natsnode.New(natsnode.Config{DataDir: t.TempDir(), Cluster: &natsnode.Cluster{
			Routes: routes, Listen: listens[i], ClientListen: "127.0.0.1:0", User: "AKID", Password: "se/cr+et",
		}})
		t.Cleanup(func() { _ = nodes[i].Close(context.Background()) })
		wg.Go(func() { errs[i] = nodes[i].Start(testContext(t)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
	return nodes
}

// Three embedded servers given the same route list form one JetStream
// cluster: three copies are chosen, a replicated stream works, the
// client listener lets in only the key pair, and a restarted node comes
// back under the name it chose at its first start.
func TestCluster(t *testing.T) {
	nodes := startCluster(t, 3)
	for i, n := range nodes {
		if !n.Embedded() || !n.Clustered() || !n.Shared() {
			t.Fatalf("node %d: Embedded %v Clustered %v Shared %v, want all true", i, n.Embedded(), n.Clustered(), n.Shared())
		}
		if r, why := n.AutoReplicas(); r != 3 {
			t.Errorf("node %d: AutoReplicas = %d (%s), want 3", i, r, why)
		}
	}
	ctx := testContext(t)
	js, err := jetstream.New(nodes[0].Conn())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "R3", Subjects: []string{"r3.>"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	js2, err := jetstream.New(nodes[2].Conn())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js2.Publish(ctx, "r3.x", []byte("hello")); err != nil {
		t.Fatalf("publish through another node: %v", err)
	}

	url := nodes[1].ClientURL()
	if nc, err := nats.Connect(url); err == nil {
		nc.Close()
		t.Fatalf("client listener %s let in a client without the key pair", url)
	}
	nc, err := nats.Connect(url, nats.UserInfo("AKID", "se/cr+et"))
	if err != nil {
		t.Fatalf("client listener with the key pair: %v", err)
	}
	nc.Close()

	name := nodes[1].ServerName()
	if err := nodes[1].Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := nodes[1].Start(ctx); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if got := nodes[1].ServerName(); got != name {
		t.Errorf("restarted node is %q, was %q", got, name)
	}
	st, err := jetstream.New(nodes[1].Conn())
	if err != nil {
		t.Fatal(err)
	}
	s, err := st.Stream(ctx, "R3")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := s.Info(ctx); err != nil || info.State.Msgs != 1 {
		t.Fatalf("stream after restart: %+v, %v", info, err)
	}
}

// A node alone (the others not started) waits for the cluster's meta
// leader and fails clearly when its deadline ends.
func TestClusterAloneFails(t *testing.T) {
	n := natsnode.New(natsnode.Config{DataDir: t.TempDir(), Cluster: &natsnode.Cluster{
		Routes:       []string{fmt.Sprintf("nats://127.0.0.1:%d", natstest.FreePort(t)), fmt.Sprintf("nats://127.0.0.1:%d", natstest.FreePort(t))},
		Listen:       "127.0.0.1:0",
		ClientListen: "127.0.0.1:0", User: "AKID", Password: "secret",
	}})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	err := n.Start(ctx)
	if err == nil {
		_ = n.Close(context.Background())
		t.Fatal("a lone cluster node started")
	}
	if !strings.Contains(err.Error(), "meta leader") {
		t.Fatalf("err = %v, want one about the meta leader", err)
	}
}

// Bad cluster settings are refused before anything starts.
func TestClusterBadSettings(t *testing.T) {
	for name, c := range map[string]natsnode.Cluster{
		"no routes":   {User: "a", Password: "b"},
		"no key pair": {Routes: []string{"nats://127.0.0.1:6222"}},
		"bad route":   {Routes: []string{"nats://127.0.0.1"}, User: "a", Password: "b"},
		"bad listen":  {Routes: []string{"nats://127.0.0.1:6222"}, Listen: "nowhere", User: "a", Password: "b"},
		"bad port":    {Routes: []string{"nats://127.0.0.1:6222"}, ClientListen: "127.0.0.1:99999", User: "a", Password: "b"},
	} {
		n := natsnode.New(natsnode.Config{DataDir: t.TempDir(), Cluster: &c})
		if err := n.Start(testContext(t)); err == nil {
			_ = n.Close(context.Background())
			t.Errorf("%s: started", name)
		}
	}
}
