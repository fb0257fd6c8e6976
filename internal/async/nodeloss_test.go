package async_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// On a 3-node NATS cluster (three replicas of everything), 300 events
// accepted by two lambada nodes all run although the NATS server leading
// the event queue dies while they drain and then one lambada node stops:
// every 202 is a promise kept. Duplicates (at-least-once) are only logged.
func TestDrainSurvivesNodeLoss(t *testing.T) {
	const events = 300
	c := natstest.StartCluster(t, 3)
	cfg := func(cfg *server.Config) {
		cfg.AccessKeyID, cfg.SecretAccessKey = "AKIDCLUSTER", "cluster-secret"
		cfg.AsyncRetryDelay = 200 * time.Millisecond
		cfg.AsyncWorkers = 16
	}
	a := servertest.Start(t, servertest.Options{NATSURL: c.URLs(), Config: cfg})
	b := servertest.Start(t, servertest.Options{NATSURL: c.URLs(), Config: cfg})
	sk := newSink(t)
	create(t, a, "drain")
	ctx := context.Background()
	waitfor.Eventually(t, 10*time.Second, func() error {
		_, err := b.Client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("drain")})
		return err
	})
	payload, _ := json.Marshal(map[string]any{"op": "record", "url": sk.URL})
	accepted := sendEvents(t, []*lambda.Client{a.Client, b.Client}, 6, events, "drain", payload) // 3 senders per node

	// Mid-drain: the queue's leader dies, then a lambada node stops.
	leader := c.StreamLeader("LAMBADA_EVENTS")
	ranBefore := sk.count()
	c.Kill(leader)
	t.Logf("killed NATS server %d (the queue's leader) after %d of %d runs", leader, ranBefore, len(accepted))
	a.Stop(t)
	t.Logf("stopped lambada node a after %d runs", sk.count())

	hits := sk.waitFor(t, accepted, 120*time.Second)
	c.Restart(leader)
	t.Logf("%d events accepted, all ran; %d runs, %d events ran more than once", len(accepted), len(hits), ranTwice(hits))
}

// waitFor returns every hit once each accepted request id has run (or
// fails after timeout, naming how many never ran).
func (s *sink) waitFor(t *testing.T, accepted map[string]bool, timeout time.Duration) []hit {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		ran := map[string]bool{}
		for _, h := range s.hits {
			ran[h.RequestID] = true
		}
		missing := 0
		for id := range accepted {
			if !ran[id] {
				missing++
			}
		}
		if missing == 0 {
			h := append([]hit(nil), s.hits...)
			s.mu.Unlock()
			return h
		}
		s.mu.Unlock()
		select {
		case <-s.more:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%d of %d accepted events never ran after %v", missing, len(accepted), timeout)
		}
	}
}
