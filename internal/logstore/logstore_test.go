package logstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

func open(t *testing.T, cfg Config) (*Store, *nats.Conn) {
	t.Helper()
	nc, err := nats.Connect(natstest.StartServer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	s, err := Open(nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, nc
}

func all(t *testing.T, s *Store, q Query) []Event {
	t.Helper()
	var out []Event
	if err := s.Scan(context.Background(), q, func(e Event) bool { out = append(out, e); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitFor polls until the group holds n events.
func waitFor(t *testing.T, s *Store, q Query, n int) []Event {
	t.Helper()
	var got []Event
	waitfor.Eventually(t, 10*time.Second, func() error {
		got = nil
		err := s.Scan(context.Background(), q, func(e Event) bool { got = append(got, e); return true })
		if err != nil || len(got) < n {
			return fmt.Errorf("%d events, want %d (err %v)", len(got), n, err)
		}
		return nil
	})
	return got
}

func TestWriteScanOrderAndIDs(t *testing.T) {
	s, _ := open(t, Config{})
	ctx := context.Background()
	if err := s.Scan(ctx, Query{Group: "/aws/lambda/none"}, func(Event) bool { return true }); err != ErrNoGroup {
		t.Fatalf("missing group: %v", err)
	}
	w1 := s.Writer("/aws/lambda/f", "2026/12/06/[$LATEST]aa")
	w2 := s.Writer("/aws/lambda/f", "2026/12/06/[$LATEST]bb")
	t0 := time.UnixMilli(time.Now().UnixMilli())
	for i := range 5000 {
		w1.Line([]byte(fmt.Sprintf("one %d\n", i)), t0.Add(time.Duration(i)*time.Millisecond))
	}
	w2.Line([]byte("two\n"), t0)
	long := strings.Repeat("x", MaxEventBytes+10) + "\n"
	w2.Line([]byte(long), t0)
	w1.Close()
	w2.Close()
	q := Query{Group: "/aws/lambda/f"}
	got := waitFor(t, s, q, 5003)
	if len(got) != 5003 {
		t.Fatalf("%d events", len(got))
	}
	ids := map[string]bool{}
	n := 0
	for i, e := range got {
		if ids[e.Pos.ID()] {
			t.Fatalf("id %s twice", e.Pos.ID())
		}
		ids[e.Pos.ID()] = true
		if i > 0 && !got[i-1].Pos.Less(e.Pos) {
			t.Fatalf("not in store order at %d", i)
		}
		if e.Ingestion < e.Timestamp-int64(5000) || e.Ingestion == 0 {
			t.Fatalf("ingestion %d timestamp %d", e.Ingestion, e.Timestamp)
		}
		if e.Stream == "2026/12/06/[$LATEST]aa" {
			if want := fmt.Sprintf("one %d\n", n); e.Message != want || e.Timestamp != t0.UnixMilli()+int64(n) {
				t.Fatalf("event %d: %q at %d", n, e.Message, e.Timestamp)
			}
			n++
		}
	}
	// A long line is split at MaxEventBytes.
	two := all(t, s, Query{Group: "/aws/lambda/f", Streams: []string{"2026/12/06/[$LATEST]bb"}})
	if len(two) != 3 || two[0].Message != "two\n" || len(two[1].Message) != MaxEventBytes || two[2].Message != "xxxxxxxxxx\n" {
		t.Fatalf("stream bb: %d events", len(two))
	}
	// Time bounds are inclusive; After resumes after a position.
	mid := all(t, s, Query{Group: "/aws/lambda/f", Streams: []string{"2026/12/06/[$LATEST]aa"}, Start: t0.UnixMilli() + 10, End: t0.UnixMilli() + 19})
	if len(mid) != 10 || mid[0].Message != "one 10\n" || mid[9].Message != "one 19\n" {
		t.Fatalf("time range: %d events", len(mid))
	}
	rest := all(t, s, Query{Group: "/aws/lambda/f", After: got[4000].Pos})
	if len(rest) != 1002 || rest[0].Pos != got[4001].Pos {
		t.Fatalf("after: %d events", len(rest))
	}
	before := all(t, s, Query{Group: "/aws/lambda/f", Before: got[10].Pos})
	if len(before) != 10 {
		t.Fatalf("before: %d events", len(before))
	}

	groups, err := s.Groups(ctx)
	if err != nil || len(groups) != 1 || groups[0].Name != "/aws/lambda/f" || groups[0].StoredBytes == 0 || groups[0].RetentionDays != 0 {
		t.Fatalf("groups %+v %v", groups, err)
	}
	streams, err := s.Streams(ctx, "/aws/lambda/f")
	if err != nil || len(streams) != 2 || streams[0].Name != "2026/12/06/[$LATEST]aa" ||
		streams[0].FirstEvent != t0.UnixMilli() || streams[0].LastEvent != t0.UnixMilli()+4999 || streams[0].LastIngestion == 0 {
		t.Fatalf("streams %+v %v", streams, err)
	}
	if err := s.SetRetention(ctx, "/aws/lambda/f", 3); err != nil {
		t.Fatal(err)
	}
	if g, _ := s.Group(ctx, "/aws/lambda/f"); g.RetentionDays != 3 {
		t.Fatalf("retention %+v", g)
	}
	if err := s.DeleteGroup(ctx, "/aws/lambda/f"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Group(ctx, "/aws/lambda/f"); err != ErrNoGroup {
		t.Fatalf("deleted group: %v", err)
	}
	// Writing again creates it again.
	w := s.Writer("/aws/lambda/f", "s")
	w.Line([]byte("again\n"), time.Now())
	w.Close()
	waitFor(t, s, Query{Group: "/aws/lambda/f"}, 1)
	s.Close()
}

// The store's limits are JetStream's: the size cap drops the oldest
// events, retention is MaxAge.
func TestLimits(t *testing.T) {
	s, _ := open(t, Config{MaxBytes: 256 << 10, Retention: time.Second})
	w := s.Writer("g", "s")
	line := []byte(strings.Repeat("y", 999) + "\n")
	for range 2000 { // 2 MB
		w.Line(line, time.Now())
	}
	w.Close()
	waitFor(t, s, Query{Group: "g"}, 1)
	g, err := s.Group(context.Background(), "g")
	if err != nil || g.StoredBytes > 256<<10 || g.StoredBytes == 0 {
		t.Fatalf("%+v %v", g, err)
	}
	waitfor.True(t, 10*time.Second, "the events to go with the retention", func() bool {
		return len(all(t, s, Query{Group: "g"})) == 0
	})
	s.Close()
}

// Follow waits for a group that does not exist yet, then hands over each
// batch as it is stored, in order; a later follower from a past time gets
// the earlier batches first.
func TestFollow(t *testing.T) {
	s, _ := open(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var lastPos Pos
	follow := func(from From) (<-chan []string, <-chan error) {
		ch, done := make(chan []string, 100), make(chan error, 1)
		go func() {
			done <- s.Follow(ctx, "/aws/lambda/fo", from, func(evs []Event) error {
				if len(evs) == 0 {
					return nil // idle
				}
				var l []string
				for _, e := range evs {
					l = append(l, e.Message)
				}
				ch <- l
				return nil
			})
		}()
		return ch, done
	}
	start := time.Now()
	live, liveDone := follow(From{})
	collect := func(ch <-chan []string, n int) []string {
		var all []string
		deadline := time.After(10 * time.Second)
		for len(all) < n {
			select {
			case l := <-ch:
				all = append(all, l...)
			case <-deadline:
				t.Fatalf("%d of %d lines: %v", len(all), n, all)
			}
		}
		return all
	}
	w := s.Writer("/aws/lambda/fo", "s1")
	w.Line([]byte("a\n"), time.Now())
	w.Line([]byte("b\n"), time.Now())
	w.Flush()
	if got := collect(live, 2); strings.Join(got, "") != "a\nb\n" {
		t.Fatalf("live = %q", got)
	}
	w.Line([]byte("c\n"), time.Now())
	w.Flush()
	if got := collect(live, 1); strings.Join(got, "") != "c\n" {
		t.Fatalf("live = %q", got)
	}
	past, pastDone := follow(From{Since: start.Add(-time.Second)})
	if got := collect(past, 3); strings.Join(got, "") != "a\nb\nc\n" {
		t.Fatalf("from the past = %q", got)
	}
	// Resuming after the position of "a" (the first batch's first event).
	all := waitFor(t, s, Query{Group: "/aws/lambda/fo"}, 3)
	lastPos = all[0].Pos
	resumed, resumedDone := follow(From{After: lastPos})
	if got := collect(resumed, 2); strings.Join(got, "") != "b\nc\n" {
		t.Fatalf("resumed after a = %q", got)
	}
	cancel()
	for _, done := range []<-chan error{liveDone, pastDone, resumedDone} {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Follow = %v after its context ended", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Follow did not return after its context ended")
		}
	}
	w.Close()
}

// A group deleted by another node while a writer still knows its stream:
// the batch that finds no stream is sent again once the group is created
// again, as a line written after the delete is.
func TestBatchAfterDeleteByAnotherNode(t *testing.T) {
	s, nc := open(t, Config{})
	t.Cleanup(s.Close)
	other, err := Open(nc, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	const group = "/aws/lambda/deleted"
	w := s.Writer(group, "s")
	w.Line([]byte("before\n"), time.Now())
	w.Flush()
	waitFor(t, s, Query{Group: group}, 1)
	if err := other.DeleteGroup(context.Background(), group); err != nil {
		t.Fatal(err)
	}
	w.Line([]byte("after\n"), time.Now())
	w.Close()
	got := waitFor(t, s, Query{Group: group}, 1)
	if len(got) != 1 || got[0].Message != "after\n" {
		t.Fatalf("events %+v, want only the line written after the delete", got)
	}
}
