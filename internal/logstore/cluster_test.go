package logstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/syncbuf"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// onCluster connects to c (reconnecting for ever, quickly) and opens a
// store keeping three copies whose log goes to the returned buffer; the
// connection is closed when the test ends, the store is the caller's.
func onCluster(t *testing.T, c *natstest.Cluster) (*nats.Conn, *Store, *syncbuf.Buffer) {
	t.Helper()
	nc, err := nats.Connect(c.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	logs := &syncbuf.Buffer{}
	s, err := Open(nc, Config{Replicas: 3, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return nc, s, logs
}

// copies waits until group's stream has want copies, all current.
func copies(t *testing.T, js jetstream.JetStream, group string, want int) {
	t.Helper()
	waitfor.Eventually(t, 60*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := js.Stream(ctx, streamName(group))
		if err != nil {
			return err
		}
		info := st.CachedInfo()
		if info.Config.Replicas != want || info.Cluster == nil || len(info.Cluster.Replicas)+1 != want {
			return fmt.Errorf("%s: %d copies configured, cluster %+v; want %d", group, info.Config.Replicas, info.Cluster, want)
		}
		for _, r := range info.Cluster.Replicas {
			if !r.Current {
				return fmt.Errorf("%s: copy on %s not current", group, r.Name)
			}
		}
		return nil
	})
}

// A log group first written while one of three NATS servers is down and
// unknown to the others (its stream cannot get three copies then) keeps every line written during
// the outage, and has its three copies once the server is back; so does a
// group created empty (CreateLogGroup) during the outage.
func TestGroupCreatedWhileAServerIsDown(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	nc, s, logs := onCluster(t, c)
	t.Cleanup(s.Close)
	js, _ := jetstream.New(nc)

	killed := c.KillForgotten()
	const group, empty = "/aws/lambda/during", "/custom/empty"
	w := s.Writer(group, "2026/12/07/[$LATEST]aa")
	t0 := time.UnixMilli(time.Now().UnixMilli())
	for i := range 100 {
		w.Line([]byte(fmt.Sprintf("during %d\n", i)), t0.Add(time.Duration(i)*time.Millisecond))
	}
	w.Close()
	ctx := context.Background()
	if err := s.CreateGroup(ctx, empty); err != nil {
		t.Fatalf("CreateGroup with a server down: %v", err)
	}
	got := waitFor(t, s, Query{Group: group}, 100)
	if len(got) != 100 || got[0].Message != "during 0\n" || got[99].Message != "during 99\n" {
		t.Fatalf("%d events during the outage, want 100 in order", len(got))
	}
	copies(t, js, group, 2)
	copies(t, js, empty, 2)
	for _, g := range []string{group, empty} {
		if !strings.Contains(logs.String(), "group="+g+" replicas=2 wanted=3") {
			t.Errorf("no warning naming %s and its copies in the log:\n%s", g, logs.String())
		}
	}

	c.Restart(killed)
	copies(t, js, group, 3)
	copies(t, js, empty, 3)
	if got := all(t, s, Query{Group: group}); len(got) != 100 {
		t.Fatalf("%d events after the server came back, want 100", len(got))
	}
	if err := s.CreateGroup(ctx, empty); err != ErrGroupExists {
		t.Fatalf("CreateGroup again: %v, want ErrGroupExists", err)
	}
}

// A group left with fewer copies by an earlier run (or another node) is
// raised by a store opened later, without being written to.
func TestGroupWithFewCopiesRaisedAtOpen(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	nc, err := nats.Connect(c.URLs(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	one, err := Open(nc, Config{Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := one.CreateGroup(context.Background(), "/aws/lambda/old"); err != nil {
		t.Fatal(err)
	}
	one.Close()
	js, _ := jetstream.New(nc)
	copies(t, js, "/aws/lambda/old", 1)
	s, err := Open(nc, Config{Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	copies(t, js, "/aws/lambda/old", 3)
}

// Lines written continuously while the log group's stream loses its leader
// (its server stops) are all stored, each once, in the order written: a
// batch whose acknowledgement is lost is sent again with the same message
// id, and a writer's next batch waits for it. The writer writes 2,000
// lines a second: a writer that outruns its 4 batches while one is
// retried waits and, after 5 s, drops (docs/behaviour/logs.md §7).
func TestLinesKeptWhileTheStreamLeaderStops(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	nc, s, logs := onCluster(t, c)
	t.Cleanup(s.Close)
	const group = "/aws/lambda/leader"
	if err := s.CreateGroup(context.Background(), group); err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	copies(t, js, group, 3)
	leader := c.StreamLeader(streamName(group))

	w := s.Writer(group, "2026/12/07/[$LATEST]cc")
	t0 := time.UnixMilli(time.Now().UnixMilli())
	n := 0
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	write := func(k int) {
		for range k {
			w.Line([]byte(fmt.Sprintf("line %d\n", n)), t0.Add(time.Duration(n)*time.Millisecond))
			n++
			if n%20 == 0 {
				w.Flush() // many small batches, one in flight at the kill
				<-tick.C
			}
		}
	}
	write(200)
	before := n
	stopped := make(chan struct{})
	go func() { defer close(stopped); c.Kill(leader) }()
	for done := false; !done; {
		write(20)
		select {
		case <-stopped:
			done = true
		default:
		}
	}
	// Lines written after the new leader was elected are stored too.
	newLeader := c.StreamLeader(streamName(group))
	if newLeader == leader {
		t.Fatalf("server %d still leads", leader)
	}
	write(200)
	w.Close()
	if n-before < 220 {
		t.Fatalf("only %d lines written around the stop", n-before)
	}
	var got []Event
	waitfor.Eventually(t, 30*time.Second, func() error {
		got = nil
		if err := s.Scan(context.Background(), Query{Group: group}, func(e Event) bool { got = append(got, e); return true }); err != nil {
			return err
		}
		if len(got) < n {
			return fmt.Errorf("%d events stored, want %d; store's log:\n%s", len(got), n, logs.String())
		}
		return nil
	})
	if len(got) != n {
		t.Fatalf("%d events stored, want %d: some twice; store's log:\n%s", len(got), n, logs.String())
	}
	for i, e := range got {
		if want := fmt.Sprintf("line %d\n", i); e.Message != want {
			t.Fatalf("event %d is %q, want %q (lost, twice or out of order)", i, e.Message, want)
		}
	}
}

// A batch that cannot be stored (the cluster has lost its quorum) is
// sent again until Close, which then tries it for at most closeGrace
// more, drops it and says so: Close does not wait the whole retryFor.
func TestCloseBoundedWithoutQuorum(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	_, s, logs := onCluster(t, c)
	const group = "/aws/lambda/noquorum"
	if err := s.CreateGroup(context.Background(), group); err != nil {
		t.Fatal(err)
	}
	c.WaitStreamsCurrent()
	c.Kill(0)
	c.Kill(1)
	w := s.Writer(group, "s")
	w.Line([]byte("lost\n"), time.Now())
	w.Close()
	closed := make(chan struct{})
	go func() { defer close(closed); s.Close() }()
	select {
	case <-closed:
	case <-time.After(retryFor):
		t.Fatalf("Close still waiting after %v", retryFor)
	}
	if !strings.Contains(logs.String(), "storing log events failed: events dropped") || !strings.Contains(logs.String(), "events=1") {
		t.Fatalf("no warning with the dropped count:\n%s", logs.String())
	}
}
