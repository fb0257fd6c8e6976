package async_test

import (
	"context"
	"encoding/json"
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/lambada-dev/lambada/internal/natsnode/natstest"
	"github.com/lambada-dev/lambada/internal/server"
	"github.com/lambada-dev/lambada/internal/servertest"
	"github.com/lambada-dev/lambada/internal/waitfor"
)

// Two servers on one NATS JetStream share one event queue: every event
// runs once, on one of them, and stopping one loses nothing it accepted.
func TestTwoServersShareTheQueue(t *testing.T) {
	url := natstest.StartServer(t)
	cfg := func(c *server.Config) {
		c.AccessKeyID, c.SecretAccessKey = "AKIDSHARED", "shared-secret"
		c.AsyncRetryDelay = 200 * time.Millisecond
	}
	a := servertest.Start(t, servertest.Options{NATSURL: url, Config: cfg})
	b := servertest.Start(t, servertest.Options{NATSURL: url, Config: cfg})
	sk := newSink(t)
	create(t, a, "shared")
	ctx := context.Background()
	// b learns of the function through the registry watch: wait for it.
	waitfor.Eventually(t, 5*time.Second, func() error {
		_, err := b.Client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("shared")})
		return err
	})
	payload, _ := json.Marshal(map[string]any{"op": "record", "url": sk.URL})

	// Both nodes accept while both run; then A stops with events queued.
	accepted := sendEvents(t, []*lambda.Client{a.Client, b.Client}, 2, 120, "shared", payload)
	a.Stop(t)
	maps.Copy(accepted, sendEvents(t, []*lambda.Client{b.Client}, 1, 20, "shared", payload))

	hits := sk.wait(t, len(accepted), 60*time.Second)
	runs := map[string]int{}
	versions := map[string]bool{}
	for _, h := range hits {
		runs[h.RequestID]++
		versions[h.Version] = true
	}
	for id := range accepted {
		if runs[id] == 0 {
			t.Errorf("accepted event %s never ran", id)
		}
	}
	time.Sleep(500 * time.Millisecond)
	dups := 0
	for _, n := range runs {
		if n > 1 {
			dups++
		}
	}
	// A successful attempt runs on exactly one node; only the events A was
	// running when it stopped may run again on B (at-least-once).
	if dups > 2 {
		t.Fatalf("%d events ran more than once", dups)
	}
	t.Logf("%d events, %d runs, %d duplicates", len(accepted), len(hits), dups)
}
