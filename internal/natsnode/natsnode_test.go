package natsnode_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lambada-dev/lambada/internal/natsnode"
	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// roundTrip proves the node's connection reaches JetStream by writing and
// reading a stream message.
func roundTrip(t *testing.T, ctx context.Context, n *natsnode.Node) {
	t.Helper()
	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}})
	if err != nil {
		t.Fatalf("create stream: %v", err)
	}
	ack, err := js.Publish(ctx, "t.x", []byte("hello"))
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	m, err := s.GetMsg(ctx, ack.Sequence)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if string(m.Data) != "hello" {
		t.Fatalf("got %q", m.Data)
	}
}

func TestEmbedded(t *testing.T) {
	ctx := testContext(t)
	dir := t.TempDir()
	n := natsnode.New(natsnode.Config{DataDir: dir})
	if !n.Embedded() {
		t.Fatal("Embedded() = false with no URL")
	}
	if n.Conn() != nil {
		t.Fatal("Conn() before Start is not nil")
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err == nil {
		t.Fatal("second Start succeeded")
	}
	roundTrip(t, ctx, n)
	if _, err := os.Stat(filepath.Join(dir, natsnode.StoreSubdir, "jetstream")); err != nil {
		t.Fatalf("JetStream files not under the data directory: %v", err)
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n.Conn() != nil {
		t.Fatal("Conn() after Close is not nil")
	}
	if err := n.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestEmbeddedRestartKeepsData(t *testing.T) {
	ctx := testContext(t)
	n := natsnode.New(natsnode.Config{DataDir: t.TempDir()})
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, ctx, n)
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, "T")
	if err != nil {
		t.Fatalf("stream lost across restart: %v", err)
	}
	m, err := s.GetLastMsgForSubject(ctx, "t.x")
	if err != nil || string(m.Data) != "hello" {
		t.Fatalf("message lost across restart: %v", err)
	}
}

func TestEmbeddedNeedsDataDir(t *testing.T) {
	err := natsnode.New(natsnode.Config{}).Start(testContext(t))
	if err == nil || !strings.Contains(err.Error(), "data directory") {
		t.Fatalf("err = %v", err)
	}
}

func TestExternal(t *testing.T) {
	ctx := testContext(t)
	n := natsnode.New(natsnode.Config{URL: natstest.StartServer(t)})
	if n.Embedded() {
		t.Fatal("Embedded() = true with a URL")
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, ctx, n)
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestExternalUnreachable(t *testing.T) {
	// A port that was just free: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	err = natsnode.New(natsnode.Config{URL: "nats://user:secret@" + addr}).Start(testContext(t))
	if err == nil {
		t.Fatal("Start succeeded with nothing listening")
	}
	if !strings.Contains(err.Error(), "connect to") {
		t.Errorf("err = %v, want it to say what failed", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("err = %v leaks the password", err)
	}
}

func TestExternalWithoutJetStream(t *testing.T) {
	err := natsnode.New(natsnode.Config{URL: natstest.StartServerNoJetStream(t)}).Start(testContext(t))
	if err == nil || !strings.Contains(err.Error(), "JetStream is not enabled") {
		t.Fatalf("err = %v, want a JetStream-not-enabled error", err)
	}
}
