package async_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lambada-dev/lambada/internal/async"
	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/servertest"
)

// An attempt that runs again after it ran — here the very message of an
// event that already ran, stored on the queue once more, as an
// acknowledgement lost in a failover leaves it — runs (at least once) and
// is counted once in lambada_async_duplicate_attempts_total; the first run
// is not counted.
func TestDuplicateAttemptIsCounted(t *testing.T) {
	url := natstest.StartServer(t)
	s := servertest.Start(t, servertest.Options{NATSURL: url})
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// Every event published to the queue, as stored.
	published, err := nc.SubscribeSync(async.EventSubjectPrefix + ">")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	sk := newSink(t)
	create(t, s, "dup")
	id := event(t, s, "dup", map[string]any{"op": "record", "url": sk.URL})
	first := sk.wait(t, 1, 30*time.Second)
	if first[0].RequestID != id {
		t.Fatalf("ran %s, want %s", first[0].RequestID, id)
	}
	msg, err := published.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("the queued event was not seen: %v", err)
	}
	metric := fmt.Sprintf("lambada_async_duplicate_attempts_total{function_name=%q}", "dup")
	count := func() string {
		for _, line := range bytes.Split(s.MetricsText(t), []byte("\n")) {
			if f := bytes.Fields(line); len(f) == 2 && string(f[0]) == metric {
				return string(f[1])
			}
		}
		return "0"
	}
	if c := count(); c != "0" {
		t.Fatalf("after the first run %s = %s, want 0", metric, c)
	}

	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	again := nats.NewMsg(msg.Subject)
	again.Data, again.Header = msg.Data, msg.Header
	// Without its message id: JetStream drops a copy with the same id
	// within its duplicate window (lambada's own publish sends one again
	// that way on purpose); this copy stands for one stored anyway (an
	// acknowledgement lost after the window, a redelivery).
	again.Header.Del(jetstream.MsgIDHeader)
	if _, err := js.PublishMsg(ctx, again); err != nil {
		t.Fatal(err)
	}
	hits := sk.wait(t, 2, 30*time.Second)
	if hits[1].RequestID != id {
		t.Fatalf("second run %s, want %s", hits[1].RequestID, id)
	}
	deadline := time.Now().Add(10 * time.Second)
	for count() != "1" {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %s after the attempt ran again, want 1", metric, count())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Counted once: nothing more runs or is counted.
	time.Sleep(200 * time.Millisecond)
	if n, c := sk.count(), count(); n != 2 || c != "1" {
		t.Fatalf("runs %d, %s = %s; want 2 and 1", n, metric, c)
	}
}
