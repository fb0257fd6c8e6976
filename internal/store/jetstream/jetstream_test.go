package jetstream_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/lambada-dev/lambada/internal/natsnode"
	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/store"
	"github.com/lambada-dev/lambada/internal/store/jetstream"
	"github.com/lambada-dev/lambada/internal/store/storetest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), storetest.Timeout)
	t.Cleanup(cancel)
	return ctx
}

func startNode(t *testing.T, cfg natsnode.Config) *natsnode.Node {
	t.Helper()
	n := natsnode.New(cfg)
	if err := n.Start(testContext(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(context.Background()); err != nil {
			t.Errorf("close node: %v", err)
		}
	})
	return n
}

var buckets atomic.Int64

// bucket names a fresh bucket, so every test of a suite starts empty while
// sharing one server.
func bucket() string { return fmt.Sprintf("t%d", buckets.Add(1)) }

// runSuites runs the conformance suites on nc, creating everything with
// opts. On a cluster (three copies in this one process) the KV tests get
// four times the suite's bound and the large blob is 4 MiB (32 chunks):
// 20 MiB in three copies outlasts the object store's write bound on a
// loaded machine under the race detector.
func runSuites(t *testing.T, nc *nats.Conn, cluster bool, opts ...jetstream.Option) {
	timeout, large := storetest.Timeout, storetest.LargeBlobSize
	if cluster {
		timeout, large = 4*storetest.Timeout, 4<<20
	}
	t.Run("KV", func(t *testing.T) {
		storetest.RunKVWithin(t, func(t *testing.T) store.KV {
			kv, err := jetstream.OpenKV(testContext(t), nc, bucket(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			return kv
		}, timeout)
	})
	t.Run("Blobs", func(t *testing.T) {
		storetest.RunBlobsLarge(t, func(t *testing.T) store.Blobs {
			b, err := jetstream.OpenBlobs(testContext(t), nc, bucket(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}, large)
	})
	t.Run("Stream", func(t *testing.T) {
		storetest.RunStream(t, func(t *testing.T) (storetest.StreamReader, string) {
			name := bucket()
			s, err := jetstream.OpenStream(testContext(t), nc, jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}, MaxAge: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			return s, name + "."
		})
	})
	t.Run("Queue", func(t *testing.T) {
		storetest.RunQueue(t, func(t *testing.T) (store.Queue, string) {
			name := bucket()
			q, err := jetstream.OpenQueue(testContext(t), nc, jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}}, "workers")
			if err != nil {
				t.Fatal(err)
			}
			return q, name + "."
		})
	})
	runQueueSuite(t, nc, opts...)
}

// A queue's out-of-line body lives exactly as long as its message.
func TestQueueBodyRemovedWithItsMessage(t *testing.T) {
	n := startNode(t, natsnode.Config{URL: natstest.StartServer(t)})
	ctx := testContext(t)
	name := bucket()
	q, err := jetstream.OpenQueue(ctx, n.Conn(), jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}}, "workers")
	if err != nil {
		t.Fatal(err)
	}
	js, _ := natsjs.New(n.Conn())
	obs, err := js.ObjectStore(ctx, jetstream.BodyBucket(name))
	if err != nil {
		t.Fatal(err)
	}
	objects := func() int {
		l, err := obs.List(ctx)
		if errors.Is(err, natsjs.ErrNoObjectsFound) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return len(l)
	}
	// Small messages stay inline.
	if err := q.Publish(ctx, store.Message{Subject: name + ".a", Data: []byte("small")}); err != nil {
		t.Fatal(err)
	}
	if n := objects(); n != 0 {
		t.Fatalf("%d bodies for a small message", n)
	}
	big := bytes.Repeat([]byte("<"), int(n.Conn().MaxPayload()))
	if err := q.Publish(ctx, store.Message{Subject: name + ".a", Data: big}); err != nil {
		t.Fatal(err)
	}
	if n := objects(); n != 1 {
		t.Fatalf("%d bodies for one large message", n)
	}
	cctx, stop := context.WithCancel(ctx)
	acked := make(chan int, 2)
	done := make(chan error, 1)
	go func() {
		done <- q.Consume(cctx, 1, func(d store.Delivery) {
			m, err := d.Message()
			if err != nil {
				t.Error(err)
			}
			_ = d.Ack()
			acked <- len(m.Data)
		})
	}()
	if a, b := <-acked, <-acked; a+b != len(big)+5 {
		t.Fatalf("delivered %d and %d bytes", a, b)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := objects(); n != 0 {
		t.Fatalf("%d bodies left after the Ack", n)
	}
}

func runQueueSuite(t *testing.T, nc *nats.Conn, opts ...jetstream.Option) {
	t.Run("QueueDelivery", func(t *testing.T) {
		storetest.RunQueueDelivery(t, func(t *testing.T) storetest.QueueFixture {
			name := strings.ToUpper(bucket())
			sc := jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}}
			opts := append(opts, jetstream.WithAckWait(storetest.QueueAckWait))
			return storetest.QueueFixture{
				Subject: name + ".m",
				Open: func() store.Queue {
					q, err := jetstream.OpenQueue(testContext(t), nc, sc, "workers", opts...)
					if err != nil {
						t.Fatal(err)
					}
					return q
				},
			}
		})
	})
}

func TestEmbedded(t *testing.T) {
	n := startNode(t, natsnode.Config{DataDir: t.TempDir()})
	runSuites(t, n.Conn(), false)
}

func TestExternal(t *testing.T) {
	n := startNode(t, natsnode.Config{URL: natstest.StartServer(t)})
	runSuites(t, n.Conn(), false)
}

// TestCluster runs the suites on a 3-node JetStream cluster with three
// replicas, reached through every server's URL. KV's
// WatchSlowReaderClosesOnCancel (500 compare-and-sets in a row, each at
// the revision the last one returned) is the one that catches a leader
// answering "a write is in process" (10164) as a conflict.
func TestCluster(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	n := startNode(t, natsnode.Config{URL: c.URLs()})
	runSuites(t, n.Conn(), true, jetstream.WithReplicas(3))
}

// TestRaiseReplicas: what an earlier start created with one replica is
// raised to three when opened with three, keeping its contents, and the
// queue's consumer follows its stream.
func TestRaiseReplicas(t *testing.T) {
	ctx := testContext(t)
	c := natstest.StartCluster(t, 3)
	nc := startNode(t, natsnode.Config{URL: c.URLs()}).Conn()
	sc := jetstream.StreamConfig{Name: "RAISE", Subjects: []string{"raise.>"}}
	kv, err := jetstream.OpenKV(ctx, nc, "raise")
	if err != nil {
		t.Fatal(err)
	}
	rev, err := kv.Create(ctx, "k", []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jetstream.OpenBlobs(ctx, nc, "raise"); err != nil {
		t.Fatal(err)
	}
	q, err := jetstream.OpenQueue(ctx, nc, sc, "workers")
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Publish(ctx, store.Message{Subject: "raise.a", Data: []byte("queued")}); err != nil {
		t.Fatal(err)
	}
	if _, err := jetstream.OpenStream(ctx, nc, jetstream.StreamConfig{Name: "RAISE_LOG", Subjects: []string{"raiselog.>"}}); err != nil {
		t.Fatal(err)
	}

	r3 := jetstream.WithReplicas(3)
	if kv, err = jetstream.OpenKV(ctx, nc, "raise", r3); err != nil {
		t.Fatal(err)
	}
	if _, err := jetstream.OpenBlobs(ctx, nc, "raise", r3); err != nil {
		t.Fatal(err)
	}
	if q, err = jetstream.OpenQueue(ctx, nc, sc, "workers", r3); err != nil {
		t.Fatal(err)
	}
	if _, err := jetstream.OpenStream(ctx, nc, jetstream.StreamConfig{Name: "RAISE_LOG", Subjects: []string{"raiselog.>"}}, r3); err != nil {
		t.Fatal(err)
	}
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"KV_raise", "OBJ_raise", "RAISE", "RAISE_LOG"} {
		st, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if r := st.CachedInfo().Config.Replicas; r != 3 {
			t.Errorf("stream %s has %d replicas after raising, want 3", name, r)
		}
	}
	if e, err := kv.Get(ctx, "k"); err != nil || e.Revision != rev {
		t.Fatalf("after raising, Get = %+v, %v", e, err)
	}
	if n, _, err := q.Depth(ctx); err != nil || n != 1 {
		t.Fatalf("after raising, Depth = %d, %v; want 1", n, err)
	}
	// The consumer is replicated with its stream.
	cons, err := js.Consumer(ctx, "RAISE", "workers")
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != 3 {
		t.Errorf("consumer has %d replicas after raising, want 3", info.Config.Replicas)
	}
}

// TestEmbeddedRestart: what was written before a Close is there after a
// Start on the same directory, and revisions keep increasing.
func TestEmbeddedRestart(t *testing.T) {
	ctx := testContext(t)
	dir := t.TempDir()
	n := natsnode.New(natsnode.Config{DataDir: dir})
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	kv, err := jetstream.OpenKV(ctx, n.Conn(), "functions")
	if err != nil {
		t.Fatal(err)
	}
	rev, err := kv.Create(ctx, "fn/a", []byte("config"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(ctx, "fn/b", []byte("gone")); err != nil {
		t.Fatal(err)
	}
	delRev, err := kv.Delete(ctx, "fn/b", 0)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := jetstream.OpenBlobs(ctx, n.Conn(), "code")
	if err != nil {
		t.Fatal(err)
	}
	zip := []byte("PK\x03\x04 not really a zip")
	sum := storetest.Sum(zip)
	if err := blobs.Put(ctx, sum, strings.NewReader(string(zip))); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}

	n = startNode(t, natsnode.Config{DataDir: dir})
	kv, err = jetstream.OpenKV(ctx, n.Conn(), "functions")
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, "fn/a")
	if err != nil || string(e.Value) != "config" || e.Revision != rev {
		t.Fatalf("after restart Get = %+v, %v; want config at %d", e, err, rev)
	}
	if _, err := kv.Get(ctx, "fn/b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted key came back: %v", err)
	}
	rev2, err := kv.Update(ctx, "fn/a", []byte("config2"), rev)
	if err != nil {
		t.Fatal(err)
	}
	if rev2 <= delRev {
		t.Fatalf("revision %d after restart not after %d", rev2, delRev)
	}
	blobs, err = jetstream.OpenBlobs(ctx, n.Conn(), "code")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := blobs.Get(ctx, sum)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || string(got) != string(zip) {
		t.Fatalf("blob after restart = %q, %v", got, err)
	}
}

// TestOpenBindsExisting: a second Open (another node, a restart) binds the
// same bucket instead of failing or recreating it.
func TestOpenBindsExisting(t *testing.T) {
	ctx := testContext(t)
	nc := startNode(t, natsnode.Config{URL: natstest.StartServer(t)}).Conn()
	kv1, err := jetstream.OpenKV(ctx, nc, "shared")
	if err != nil {
		t.Fatal(err)
	}
	rev, err := kv1.Create(ctx, "k", []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	// An existing bucket cannot be raised beyond the servers there are.
	if _, err := jetstream.OpenKV(ctx, nc, "shared", jetstream.WithReplicas(3)); err == nil || !strings.Contains(err.Error(), "raise replicas") {
		t.Fatalf("raising a bucket to 3 replicas on one server: err = %v", err)
	}
	kv2, err := jetstream.OpenKV(ctx, nc, "shared")
	if err != nil {
		t.Fatal(err)
	}
	if e, err := kv2.Get(ctx, "k"); err != nil || e.Revision != rev {
		t.Fatalf("second OpenKV sees %+v, %v", e, err)
	}
	b1, err := jetstream.OpenBlobs(ctx, nc, "shared")
	if err != nil {
		t.Fatal(err)
	}
	sum := storetest.Sum([]byte("x"))
	if err := b1.Put(ctx, sum, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	b2, err := jetstream.OpenBlobs(ctx, nc, "shared")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := b2.Get(ctx, sum)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
}

// TestReplicasBeyondCluster: asking a single server for three replicas
// fails at Open with the server's reason, not later.
func TestReplicasBeyondCluster(t *testing.T) {
	ctx := testContext(t)
	nc := startNode(t, natsnode.Config{URL: natstest.StartServer(t)}).Conn()
	if _, err := jetstream.OpenKV(ctx, nc, "r3", jetstream.WithReplicas(3)); err == nil {
		t.Fatal("OpenKV with 3 replicas on one server succeeded")
	}
	if _, err := jetstream.OpenBlobs(ctx, nc, "r3", jetstream.WithReplicas(3)); err == nil {
		t.Fatal("OpenBlobs with 3 replicas on one server succeeded")
	}
}

// TestClosedConnection: after the node closes, operations fail with
// store.ErrClosed and a watch's channel closes.
func TestClosedConnection(t *testing.T) {
	ctx := testContext(t)
	n := natsnode.New(natsnode.Config{DataDir: t.TempDir()})
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	kv, err := jetstream.OpenKV(ctx, n.Conn(), "k")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := kv.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(ctx, "a", []byte("v")); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Create after close: err = %v, want ErrClosed", err)
	}
	deadline := time.After(storetest.Timeout)
	for open := true; open; {
		select {
		case _, open = <-ch:
		case <-deadline:
			t.Fatal("watch channel not closed after the connection closed")
		}
	}
}

// TestWatchStopsItsGoroutines: a watch whose reader stopped reading, once
// its context ends, leaves no goroutine behind (nats.go's delivery
// goroutine included, which blocks while its own buffer is full).
func TestWatchStopsItsGoroutines(t *testing.T) {
	ctx := testContext(t)
	n := startNode(t, natsnode.Config{DataDir: t.TempDir()})
	kv, err := jetstream.OpenKV(ctx, n.Conn(), "leak")
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()

	wctx, cancel := context.WithCancel(ctx)
	ch, err := kv.Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	// Far more changes than the buffers hold, of distinct keys so that
	// none is superseded before delivery.
	for i := range 1000 {
		if _, err := kv.Create(ctx, fmt.Sprint("k", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	for range ch {
	}
	if err := waitfor.Until(storetest.Timeout, func() error {
		if n := runtime.NumGoroutine(); n > before {
			return fmt.Errorf("%d goroutines after the watch ended, %d before", n, before)
		}
		return nil
	}); err != nil {
		buf := make([]byte, 1<<20)
		t.Fatalf("%v:\n%s", err, buf[:runtime.Stack(buf, true)])
	}
}

// TestPutMismatchError: a content that does not hash to its sum is
// reported as ErrSumMismatch.
func TestPutMismatchError(t *testing.T) {
	ctx := testContext(t)
	n := startNode(t, natsnode.Config{DataDir: t.TempDir()})
	b, err := jetstream.OpenBlobs(ctx, n.Conn(), "code")
	if err != nil {
		t.Fatal(err)
	}
	err = b.Put(ctx, storetest.Sum([]byte("a")), strings.NewReader("b"))
	if !errors.Is(err, jetstream.ErrSumMismatch) {
		t.Fatalf("err = %v, want ErrSumMismatch", err)
	}
}

// TestClusterQueueAfterLeaderLoss: the queue's stream and consumer leaders
// die and come back (twice) while a consumer runs, and a consumer bound
// afterwards too: every message published before, between and after is
// delivered, within seconds of the leaders' return.
func TestClusterQueueAfterLeaderLoss(t *testing.T) {
	ctx := testContext(t)
	c := natstest.StartCluster(t, 3)
	nc := startNode(t, natsnode.Config{URL: c.URLs()}).Conn()
	name := strings.ToUpper(bucket())
	sc := jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}}
	opts := []jetstream.Option{jetstream.WithReplicas(3), jetstream.WithAckWait(storetest.QueueAckWait)}
	open := func() store.Queue {
		q, err := jetstream.OpenQueue(ctx, nc, sc, "workers", opts...)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	got := make(chan string, 16)
	consume := func(q store.Queue) (stop func()) {
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			// As internal/async does: bind again when a consumption ends.
			for cctx.Err() == nil {
				if err := q.Consume(cctx, 4, func(d store.Delivery) {
					m, err := d.Message()
					if err == nil && d.Ack() == nil {
						got <- string(m.Data)
					}
				}); err != nil {
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
		return func() { cancel(); <-done }
	}
	publish := func(q store.Queue, data string) {
		t.Helper()
		waitfor.Eventually(t, 30*time.Second, func() error {
			pctx, cancel := context.WithTimeout(ctx, jetstream.OpTimeout)
			defer cancel()
			return q.Publish(pctx, store.Message{Subject: name + ".m", Data: []byte(data)})
		})
	}
	// At least once: a message whose acknowledgement went with a dying
	// leader comes again (the full suite saw "while-down-1" twice); any
	// other message out of turn fails.
	delivered := map[string]bool{}
	want := func(data string) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case g := <-got:
				if g == data {
					delivered[g] = true
					return
				}
				if !delivered[g] {
					t.Fatalf("delivered %q, want %q", g, data)
				}
				t.Logf("%q delivered again (at least once)", g)
			case <-deadline:
				t.Fatalf("%q not delivered after 30 s", data)
			}
		}
	}
	q := open()
	stop := consume(q)
	publish(q, "first")
	want("first")
	for round := range 2 {
		// The server back from round 0 has caught up before round 1.
		c.WaitStreamsCurrent()
		// Round 0 kills the stream's leader, round 1 the consumer's.
		leader := c.StreamLeader(name)
		if round == 1 {
			leader = c.ConsumerLeader(name, "workers")
		}
		c.Kill(leader)
		killed := time.Now()
		publish(q, fmt.Sprintf("while-down-%d", round))
		want(fmt.Sprintf("while-down-%d", round))
		t.Logf("round %d: delivered %s after the kill", round, time.Since(killed).Round(time.Millisecond))
		c.Restart(leader)
		publish(q, fmt.Sprintf("after-%d", round))
		want(fmt.Sprintf("after-%d", round))
	}
	stop()
	// A consumer bound now (a node starting after the losses).
	q = open()
	publish(q, "late")
	stop = consume(q)
	defer stop()
	want("late")
}

// TestClusterWatchAfterServerLoss: the server holding a watch's consumer
// (one copy, on one of the stream's servers) dies; the watch goes on with
// the next change, missing none and repeating none, and again once the
// server is back.
func TestClusterWatchAfterServerLoss(t *testing.T) {
	// Each step has its own bound: the whole runs longer than one.
	ctx := t.Context()
	c := natstest.StartCluster(t, 3)
	nc := startNode(t, natsnode.Config{URL: c.URLs()}).Conn()
	name := bucket()
	kv, err := jetstream.OpenKV(testContext(t), nc, name, jetstream.WithReplicas(3))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(testContext(t), "before", []byte("0")); err != nil {
		t.Fatal(err)
	}
	ch, err := kv.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next := func() store.WatchMsg {
		t.Helper()
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatal("the watch ended")
			}
			return m
		case <-time.After(storetest.Timeout):
			t.Fatalf("nothing from the watch after %s", storetest.Timeout)
		}
		return store.WatchMsg{}
	}
	if m := next(); m.Key != "before" {
		t.Fatalf("first message %+v, want the entry of %q", m, "before")
	}
	if m := next(); !m.Ready {
		t.Fatalf("second message %+v, want Ready", m)
	}
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	host := func() int {
		var idx int
		waitfor.Eventually(t, storetest.Timeout, func() error {
			ctx, cancel := context.WithTimeout(ctx, jetstream.OpTimeout)
			defer cancel()
			st, err := js.Stream(ctx, "KV_"+name)
			if err != nil {
				return err
			}
			names := st.ListConsumers(ctx)
			var hosts []int
			for ci := range names.Info() {
				if ci.Cluster != nil {
					hosts = append(hosts, c.Index(ci.Cluster.Leader))
				}
			}
			if len(hosts) != 1 || hosts[0] < 0 {
				return fmt.Errorf("the watch's consumer is on servers %v, want one: %v", hosts, names.Err())
			}
			idx = hosts[0]
			return nil
		})
		return idx
	}
	write := func(key string) uint64 {
		t.Helper()
		var rev uint64
		waitfor.Eventually(t, 4*storetest.Timeout, func() (err error) {
			wctx, cancel := context.WithTimeout(ctx, jetstream.OpTimeout)
			defer cancel()
			rev, err = kv.Create(wctx, key, []byte(key))
			if errors.Is(err, store.ErrExists) {
				// An earlier try was stored but its answer lost.
				var e store.Entry
				e, err = kv.Get(wctx, key)
				rev = e.Revision
			}
			return err
		})
		return rev
	}
	for round := range 2 {
		c.WaitStreamsCurrent()
		dead := host()
		c.Kill(dead)
		for _, key := range []string{fmt.Sprint("down-", round), fmt.Sprint("down-", round, "-2")} {
			rev := write(key)
			if m := next(); m.Key != key || m.Revision != rev {
				t.Fatalf("round %d: after the death of the watch's server: %+v, want %q at revision %d", round, m, key, rev)
			}
		}
		c.Restart(dead)
		key := fmt.Sprint("back-", round)
		rev := write(key)
		if m := next(); m.Key != key || m.Revision != rev {
			t.Fatalf("round %d: after the server's return: %+v, want %q at revision %d", round, m, key, rev)
		}
	}
}
