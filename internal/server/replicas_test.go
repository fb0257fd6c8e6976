package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
)

// ownedStreams are the streams behind every bucket and stream lambada owns.
var ownedStreams = []string{"KV_lambada_registry", "OBJ_lambada_code", "LAMBADA_EVENTS", "LAMBADA_DESTINATIONS"}

func streamReplicas(t *testing.T, url string) map[string]int {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := map[string]int{}
	for _, name := range ownedStreams {
		st, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		got[name] = st.CachedInfo().Config.Replicas
	}
	return got
}

func healthReplicas(t *testing.T, s *servertest.Server) int {
	t.Helper()
	resp, err := http.Get(s.URL() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h struct{ Replicas int }
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h.Replicas
}

// On a 3-server cluster the server keeps three copies of everything
// without being told; streams an earlier start made with one copy are
// raised to three.
func TestReplicasChosenFromTheCluster(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	dir := t.TempDir()
	one := servertest.Start(t, servertest.Options{NATSURL: c.URLs(), DataDir: dir, Config: func(cfg *server.Config) { cfg.Replicas = 1 }})
	for name, r := range streamReplicas(t, c.URLs()) {
		if r != 1 {
			t.Errorf("--replicas 1: stream %s has %d replicas", name, r)
		}
	}
	one.Stop(t)

	auto := servertest.Start(t, servertest.Options{NATSURL: c.URLs(), DataDir: dir})
	for name, r := range streamReplicas(t, c.URLs()) {
		if r != 3 {
			t.Errorf("automatic replicas on 3 servers: stream %s has %d replicas, want 3", name, r)
		}
	}
	if r := healthReplicas(t, auto); r != 3 {
		t.Errorf("/health replicas = %d, want 3", r)
	}
}

// One external server and the embedded one get one copy; asking either
// for more is a start-up error naming the flag, not a silent R1.
func TestReplicasBeyondTheServers(t *testing.T) {
	url := natstest.StartServer(t)
	if r := healthReplicas(t, servertest.Start(t, servertest.Options{NATSURL: url})); r != 1 {
		t.Errorf("single external server: replicas = %d, want 1", r)
	}
	if r := healthReplicas(t, servertest.Start(t, servertest.Options{})); r != 1 {
		t.Errorf("embedded: replicas = %d, want 1", r)
	}
	for _, natsURL := range []string{"", url} {
		srv, err := server.New(server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), NATSURL: natsURL, Replicas: 3, Isolation: "none"})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = srv.Start(ctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "--replicas 3") {
			t.Errorf("NATS %q, --replicas 3: Start err = %v, want a --replicas error", natsURL, err)
		}
	}
}
