// Package storetest is the conformance suite of the store seam: every
// implementation, in every mode it runs in (embedded node, external server,
// cluster), must pass RunKV and RunBlobs, so the registry and the async
// queue can rely on store.go's documented behaviour and nothing else.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lambada-dev/lambada/internal/store"
)

// Timeout bounds every test of the suite; a deadline, never a sleep.
const Timeout = 30 * time.Second

// RunKV runs the KV conformance suite. open returns an empty KV, used
// only by the test t it is given.
func RunKV(t *testing.T, open func(t *testing.T) store.KV) {
	RunKVWithin(t, open, Timeout)
}

// RunKVWithin is RunKV with every test bounded by timeout instead of
// Timeout: a store keeping three copies in one test process on a loaded
// machine needs longer for the hundreds of sequential compare-and-sets of
// the slow-reader case.
func RunKVWithin(t *testing.T, open func(t *testing.T) store.KV, timeout time.Duration) {
	tests := []struct {
		name string
		fn   func(t *testing.T, ctx context.Context, kv store.KV)
	}{
		{"GetMissing", testGetMissing},
		{"CreateGet", testCreateGet},
		{"CreateExisting", testCreateExisting},
		{"EmptyValue", testEmptyValue},
		{"UpdateRightRevision", testUpdateRightRevision},
		{"UpdateWrongRevision", testUpdateWrongRevision},
		{"UpdateStaleRevision", testUpdateStaleRevision},
		{"UpdateMissing", testUpdateMissing},
		{"UpdateDeleted", testUpdateDeleted},
		{"DeleteWithRevision", testDeleteWithRevision},
		{"DeleteWrongRevision", testDeleteWrongRevision},
		{"DeleteWithoutRevision", testDeleteWithoutRevision},
		{"DeleteMissing", testDeleteMissing},
		{"DeleteDeletedWithRevision", testDeleteDeletedWithRevision},
		{"CreateAfterDelete", testCreateAfterDelete},
		{"RevisionsIncreaseAcrossKeys", testRevisionsIncrease},
		{"WatchEmpty", testWatchEmpty},
		{"WatchInitialReadyLive", testWatchInitialReadyLive},
		{"WatchConverges", testWatchConverges},
		{"WatchClosesOnCancel", testWatchClosesOnCancel},
		{"WatchSlowReaderClosesOnCancel", testWatchSlowReader},
		{"WatchersAreIndependent", testWatchersIndependent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), timeout)
			defer cancel()
			tt.fn(t, ctx, open(t))
		})
	}
}

func mustCreate(t *testing.T, ctx context.Context, kv store.KV, key, value string) uint64 {
	t.Helper()
	rev, err := kv.Create(ctx, key, []byte(value))
	if err != nil {
		t.Fatalf("Create(%q): %v", key, err)
	}
	if rev == 0 {
		t.Fatalf("Create(%q) returned revision 0", key)
	}
	return rev
}

func mustUpdate(t *testing.T, ctx context.Context, kv store.KV, key, value string, rev uint64) uint64 {
	t.Helper()
	newRev, err := kv.Update(ctx, key, []byte(value), rev)
	if err != nil {
		t.Fatalf("Update(%q, %d): %v", key, rev, err)
	}
	return newRev
}

func mustDelete(t *testing.T, ctx context.Context, kv store.KV, key string, rev uint64) uint64 {
	t.Helper()
	delRev, err := kv.Delete(ctx, key, rev)
	if err != nil {
		t.Fatalf("Delete(%q, %d): %v", key, rev, err)
	}
	return delRev
}

// wantEntry checks that key holds value at rev.
func wantEntry(t *testing.T, ctx context.Context, kv store.KV, key, value string, rev uint64) {
	t.Helper()
	e, err := kv.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if e.Key != key || string(e.Value) != value || e.Revision != rev {
		t.Fatalf("Get(%q) = {%q, %q, %d}, want {%q, %q, %d}", key, e.Key, e.Value, e.Revision, key, value, rev)
	}
}

func wantMissing(t *testing.T, ctx context.Context, kv store.KV, key string) {
	t.Helper()
	if e, err := kv.Get(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %+v, %v; want ErrNotFound", key, e, err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func testGetMissing(t *testing.T, ctx context.Context, kv store.KV) {
	wantMissing(t, ctx, kv, "missing")
}

func testCreateGet(t *testing.T, ctx context.Context, kv store.KV) {
	rev := mustCreate(t, ctx, kv, "fn/a", "one")
	wantEntry(t, ctx, kv, "fn/a", "one", rev)
}

func testCreateExisting(t *testing.T, ctx context.Context, kv store.KV) {
	rev := mustCreate(t, ctx, kv, "a", "one")
	_, err := kv.Create(ctx, "a", []byte("two"))
	wantErr(t, "second Create", err, store.ErrExists)
	wantEntry(t, ctx, kv, "a", "one", rev)
}

func testEmptyValue(t *testing.T, ctx context.Context, kv store.KV) {
	rev := mustCreate(t, ctx, kv, "a", "")
	wantEntry(t, ctx, kv, "a", "", rev)
}

func testUpdateRightRevision(t *testing.T, ctx context.Context, kv store.KV) {
	rev := mustCreate(t, ctx, kv, "a", "one")
	rev2 := mustUpdate(t, ctx, kv, "a", "two", rev)
	if rev2 <= rev {
		t.Fatalf("Update revision %d not after %d", rev2, rev)
	}
	wantEntry(t, ctx, kv, "a", "two", rev2)
}

func testUpdateWrongRevision(t *testing.T, ctx context.Context, kv store.KV) {
	rev := mustCreate(t, ctx, kv, "a", "one")
	for _, bad := range []uint64{0, rev + 1, rev + 1000} {
		_, err := kv.Update(ctx, "a", []byte("two"), bad)
		wantErr(t, fmt.Sprintf("Update at revision %d", bad), err, store.ErrConflict)
	}
	wantEntry(t, ctx, kv, "a", "one", rev)
}

func testUpdateStaleRevision(t *testing.T, ctx context.Context, kv store.KV) {
	rev := mustCreate(t, ctx, kv, "a", "one")
	rev2 := mustUpdate(t, ctx, kv, "a", "two", rev)
	_, err := kv.Update(ctx, "a", []byte("three"), rev)
	wantErr(t, "Update with a stale revision", err, store.ErrConflict)
	wantEntry(t, ctx, kv, "a", "two", rev2)
}

func testUpdateMissing(t *testing.T, ctx context.Context, kv store.KV) {
	other := mustCreate(t, ctx, kv, "other", "x")
	for _, rev := range []uint64{0, 1, other} {
		_, err := kv.Update(ctx, "missing", []byte("v"), rev)
		wantErr(t, fmt.Sprintf("Update of a missing key at revision %d", rev), err, store.ErrConflict)
	}
	wantMissing(t, ctx, kv, "missing")
}

func testUpdateDeleted(t *testing.T, ctx context.Context, kv store.KV) {
	rev := mustCreate(t, ctx, kv, "a", "one")
	delRev := mustDelete(t, ctx, kv, "a", 0)
	// Neither the value's revision nor the deletion's revives the key.
	for _, r := range []uint64{0, rev, delRev} {
		_, err := kv.Update(ctx, "a", []byte("two"), r)
		wantErr(t, fmt.Sprintf("Update of a deleted key at revision %d", r), err, store.ErrConflict)
	}
	wantMissing(t, ctx, kv, "a")
}

func testDeleteWithRevision(t *testing.T, ctx context.Context, kv store.KV) {
	rev := mustCreate(t, ctx, kv, "a", "one")
	delRev := mustDelete(t, ctx, kv, "a", rev)
	if delRev <= rev {
		t.Fatalf("Delete revision %d not after %d", delRev, rev)
	}
	wantMissing(t, ctx, kv, "a")
}

func testDeleteWrongRevision(t *testing.T, ctx context.Context, kv store.KV) {
	rev := mustCreate(t, ctx, kv, "a", "one")
	rev2 := mustUpdate(t, ctx, kv, "a", "two", rev)
	for _, bad := range []uint64{rev, rev2 + 1} {
		_, err := kv.Delete(ctx, "a", bad)
		wantErr(t, fmt.Sprintf("Delete at revision %d", bad), err, store.ErrConflict)
	}
	wantEntry(t, ctx, kv, "a", "two", rev2)
}

func testDeleteWithoutRevision(t *testing.T, ctx context.Context, kv store.KV) {
	rev := mustCreate(t, ctx, kv, "a", "one")
	mustUpdate(t, ctx, kv, "a", "two", rev)
	delRev := mustDelete(t, ctx, kv, "a", 0)
	if delRev <= rev {
		t.Fatalf("Delete revision %d not after %d", delRev, rev)
	}
	wantMissing(t, ctx, kv, "a")
}

func testDeleteMissing(t *testing.T, ctx context.Context, kv store.KV) {
	mustDelete(t, ctx, kv, "never", 0)
	wantMissing(t, ctx, kv, "never")
	_, err := kv.Delete(ctx, "never2", 7)
	wantErr(t, "Delete of a missing key at a revision", err, store.ErrConflict)
}

func testDeleteDeletedWithRevision(t *testing.T, ctx context.Context, kv store.KV) {
	rev := mustCreate(t, ctx, kv, "a", "one")
	delRev := mustDelete(t, ctx, kv, "a", rev)
	mustDelete(t, ctx, kv, "a", 0) // deleting again is no error
	for _, r := range []uint64{rev, delRev} {
		_, err := kv.Delete(ctx, "a", r)
		wantErr(t, fmt.Sprintf("Delete of a deleted key at revision %d", r), err, store.ErrConflict)
	}
}

func testCreateAfterDelete(t *testing.T, ctx context.Context, kv store.KV) {
	rev := mustCreate(t, ctx, kv, "a", "one")
	delRev := mustDelete(t, ctx, kv, "a", rev)
	rev2 := mustCreate(t, ctx, kv, "a", "two")
	if rev2 <= delRev {
		t.Fatalf("re-Create revision %d not after deletion %d", rev2, delRev)
	}
	wantEntry(t, ctx, kv, "a", "two", rev2)
	_, err := kv.Create(ctx, "a", []byte("three"))
	wantErr(t, "Create after re-Create", err, store.ErrExists)
	// A deletion without revision counts too.
	mustDelete(t, ctx, kv, "a", 0)
	rev3 := mustCreate(t, ctx, kv, "a", "four")
	wantEntry(t, ctx, kv, "a", "four", rev3)
}

func testRevisionsIncrease(t *testing.T, ctx context.Context, kv store.KV) {
	var revs []uint64
	ra := mustCreate(t, ctx, kv, "a", "1")
	revs = append(revs, ra)
	rb := mustCreate(t, ctx, kv, "b", "1")
	revs = append(revs, rb)
	revs = append(revs, mustUpdate(t, ctx, kv, "a", "2", ra))
	revs = append(revs, mustCreate(t, ctx, kv, "c", "1"))
	revs = append(revs, mustDelete(t, ctx, kv, "b", rb))
	revs = append(revs, mustCreate(t, ctx, kv, "b", "2"))
	for i := 1; i < len(revs); i++ {
		if revs[i] <= revs[i-1] {
			t.Fatalf("revisions %v do not increase across keys", revs)
		}
	}
}

// recv returns the next watch message, failing on timeout or a closed
// channel.
func recv(t *testing.T, ctx context.Context, ch <-chan store.WatchMsg) store.WatchMsg {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed early")
		}
		return m
	case <-ctx.Done():
		t.Fatal("timed out waiting for a watch message")
	}
	panic("unreachable")
}

// initial collects the watch's initial entries up to the Ready marker.
func initial(t *testing.T, ctx context.Context, ch <-chan store.WatchMsg) map[string]store.Event {
	t.Helper()
	got := make(map[string]store.Event)
	for {
		m := recv(t, ctx, ch)
		if m.Ready {
			if m.Key != "" || m.Value != nil || m.Revision != 0 || m.Deleted {
				t.Fatalf("Ready marker carries an event: %+v", m.Event)
			}
			return got
		}
		if m.Deleted {
			t.Fatalf("deletion %+v before Ready: initial values are current entries only", m.Event)
		}
		if _, dup := got[m.Key]; dup {
			t.Fatalf("key %q delivered twice before Ready", m.Key)
		}
		got[m.Key] = m.Event
	}
}

// wantEvent checks the next watch message.
func wantEvent(t *testing.T, ctx context.Context, ch <-chan store.WatchMsg, want store.Event) {
	t.Helper()
	m := recv(t, ctx, ch)
	if m.Ready {
		t.Fatalf("got a second Ready marker, want %+v", want)
	}
	if m.Key != want.Key || m.Revision != want.Revision || m.Deleted != want.Deleted || !bytes.Equal(m.Value, want.Value) {
		t.Fatalf("watch event = {%q %q rev %d deleted %v}, want {%q %q rev %d deleted %v}",
			m.Key, m.Value, m.Revision, m.Deleted, want.Key, want.Value, want.Revision, want.Deleted)
	}
	if want.Deleted && m.Value != nil {
		t.Fatalf("deletion event carries value %q", m.Value)
	}
}

// waitClosed drains ch until it is closed, failing at the deadline.
func waitClosed(t *testing.T, ch <-chan store.WatchMsg) {
	t.Helper()
	deadline := time.After(Timeout)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("watch channel not closed after its context ended")
		}
	}
}

func startWatch(t *testing.T, ctx context.Context, kv store.KV) (<-chan store.WatchMsg, context.CancelFunc) {
	t.Helper()
	wctx, cancel := context.WithCancel(ctx)
	ch, err := kv.Watch(wctx)
	if err != nil {
		cancel()
		t.Fatalf("Watch: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		waitClosed(t, ch)
	})
	return ch, cancel
}

func testWatchEmpty(t *testing.T, ctx context.Context, kv store.KV) {
	ch, _ := startWatch(t, ctx, kv)
	if got := initial(t, ctx, ch); len(got) != 0 {
		t.Fatalf("initial values of an empty KV: %v", got)
	}
	rev := mustCreate(t, ctx, kv, "a", "one")
	wantEvent(t, ctx, ch, store.Event{Key: "a", Value: []byte("one"), Revision: rev})
}

func testWatchInitialReadyLive(t *testing.T, ctx context.Context, kv store.KV) {
	ra := mustCreate(t, ctx, kv, "a", "a1")
	rb := mustCreate(t, ctx, kv, "b", "b1")
	rc := mustCreate(t, ctx, kv, "c", "c1")
	mustDelete(t, ctx, kv, "b", rb)
	rc = mustUpdate(t, ctx, kv, "c", "c2", rc)
	mustDelete(t, ctx, kv, "never", 0)

	ch, _ := startWatch(t, ctx, kv)
	got := initial(t, ctx, ch)
	want := map[string]store.Event{
		"a": {Key: "a", Value: []byte("a1"), Revision: ra},
		"c": {Key: "c", Value: []byte("c2"), Revision: rc},
	}
	if len(got) != len(want) {
		t.Fatalf("initial values = %v, want %v", got, want)
	}
	for k, w := range want {
		g := got[k]
		if g.Key != w.Key || g.Revision != w.Revision || !bytes.Equal(g.Value, w.Value) || g.Deleted {
			t.Fatalf("initial %q = %+v, want %+v", k, g, w)
		}
	}

	// Changes of distinct keys are never skipped and arrive in the order
	// they were made.
	rd := mustCreate(t, ctx, kv, "d", "d1")
	ra2 := mustUpdate(t, ctx, kv, "a", "a2", ra)
	rcDel := mustDelete(t, ctx, kv, "c", rc)
	rb2 := mustCreate(t, ctx, kv, "b", "b2")
	wantEvent(t, ctx, ch, store.Event{Key: "d", Value: []byte("d1"), Revision: rd})
	wantEvent(t, ctx, ch, store.Event{Key: "a", Value: []byte("a2"), Revision: ra2})
	wantEvent(t, ctx, ch, store.Event{Key: "c", Revision: rcDel, Deleted: true})
	wantEvent(t, ctx, ch, store.Event{Key: "b", Value: []byte("b2"), Revision: rb2})
	// A change already delivered is followed by the next one.
	rdDel := mustDelete(t, ctx, kv, "d", 0)
	wantEvent(t, ctx, ch, store.Event{Key: "d", Revision: rdDel, Deleted: true})
	rd2 := mustCreate(t, ctx, kv, "d", "d2")
	wantEvent(t, ctx, ch, store.Event{Key: "d", Value: []byte("d2"), Revision: rd2})
}

// testWatchConverges: under a burst of writes, events come in revision
// order, each carries the value written at its revision, no key written
// once is skipped, and every key's last write arrives (a key's earlier
// values may be skipped when superseded).
func testWatchConverges(t *testing.T, ctx context.Context, kv store.KV) {
	ch, _ := startWatch(t, ctx, kv)
	initial(t, ctx, ch)
	const n = 50
	written := make(map[uint64]store.Event) // by revision
	rev := mustCreate(t, ctx, kv, "hot", "0")
	written[rev] = store.Event{Key: "hot", Value: []byte("0"), Revision: rev}
	var last uint64
	for i := 1; i < n; i++ {
		rev = mustUpdate(t, ctx, kv, "hot", fmt.Sprint(i), rev)
		written[rev] = store.Event{Key: "hot", Value: []byte(fmt.Sprint(i)), Revision: rev}
		key := fmt.Sprintf("once/%d", i)
		last = mustCreate(t, ctx, kv, key, fmt.Sprint(i))
		written[last] = store.Event{Key: key, Value: []byte(fmt.Sprint(i)), Revision: last}
	}
	delRev := mustDelete(t, ctx, kv, "hot", 0)
	written[delRev] = store.Event{Key: "hot", Revision: delRev, Deleted: true}

	seen := make(map[string]bool)
	var prev uint64
	for prev < delRev {
		m := recv(t, ctx, ch)
		if m.Ready || m.Revision <= prev {
			t.Fatalf("event %+v (ready %v) after revision %d: not in revision order", m.Event, m.Ready, prev)
		}
		prev = m.Revision
		w, ok := written[m.Revision]
		if !ok || w.Key != m.Key || w.Deleted != m.Deleted || !bytes.Equal(w.Value, m.Value) {
			t.Fatalf("event %+v does not match the write at its revision %+v", m.Event, w)
		}
		seen[m.Key] = true
	}
	if prev != delRev {
		t.Fatalf("last event at revision %d, last write at %d", prev, delRev)
	}
	for i := 1; i < n; i++ {
		if key := fmt.Sprintf("once/%d", i); !seen[key] {
			t.Fatalf("the only write of %q was skipped", key)
		}
	}
}

func testWatchClosesOnCancel(t *testing.T, ctx context.Context, kv store.KV) {
	mustCreate(t, ctx, kv, "a", "one")
	ch, cancel := startWatch(t, ctx, kv)
	initial(t, ctx, ch)
	cancel()
	waitClosed(t, ch)
}

// testWatchSlowReader: a watcher that stops reading must not keep the
// implementation blocked after its context ends.
func testWatchSlowReader(t *testing.T, ctx context.Context, kv store.KV) {
	ch, cancel := startWatch(t, ctx, kv)
	// More changes than any sane buffer between the store and the reader.
	const n = 500
	rev := mustCreate(t, ctx, kv, "k", "0")
	for i := 1; i < n; i++ {
		rev = mustUpdate(t, ctx, kv, "k", fmt.Sprint(i), rev)
	}
	cancel()
	waitClosed(t, ch)
	// The store still works and a new watch sees the latest value.
	ch2, _ := startWatch(t, ctx, kv)
	got := initial(t, ctx, ch2)
	if e := got["k"]; e.Revision != rev || string(e.Value) != fmt.Sprint(n-1) {
		t.Fatalf("new watch sees %+v, want revision %d", e, rev)
	}
}

func testWatchersIndependent(t *testing.T, ctx context.Context, kv store.KV) {
	ch1, cancel1 := startWatch(t, ctx, kv)
	ch2, _ := startWatch(t, ctx, kv)
	initial(t, ctx, ch1)
	initial(t, ctx, ch2)
	rev := mustCreate(t, ctx, kv, "a", "one")
	wantEvent(t, ctx, ch1, store.Event{Key: "a", Value: []byte("one"), Revision: rev})
	wantEvent(t, ctx, ch2, store.Event{Key: "a", Value: []byte("one"), Revision: rev})
	cancel1()
	waitClosed(t, ch1)
	rev2 := mustUpdate(t, ctx, kv, "a", "two", rev)
	wantEvent(t, ctx, ch2, store.Event{Key: "a", Value: []byte("two"), Revision: rev2})
}
