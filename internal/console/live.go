package console

import (
	"context"
	"time"

	"github.com/lambada-dev/lambada/internal/logstore"
	"github.com/lambada-dev/lambada/internal/membership"
)

// Live is what the live pages read (Logs, Monitoring, Async, Cluster;
// docs/console.md §5–§8). A nil source leaves its page saying so.
type Live struct {
	// Logs is the function log store (the Logs page's live tail).
	Logs *logstore.Store
	// Cluster describes the storage and the nodes sharing it, as /health
	// does.
	Cluster func() Cluster
}

// Cluster is the Cluster page's model: what /health reports.
type Cluster struct {
	Status   string // ok, starting, degraded
	Storage  string // embedded, external, unavailable
	Replicas int
	Self     string // this node's id
	Nodes    []membership.Node
}

// streams is the context of the console's long answers (the live tail's
// server-sent events): Shutdown ends it, so they do not hold the server's
// graceful stop.
func (c *Console) streams() context.Context {
	c.liveOnce.Do(c.initLive)
	return c.streamCtx
}

func (c *Console) initLive() {
	c.streamCtx, c.streamStop = context.WithCancel(context.Background())
}

// Shutdown ends the console's long answers (register it with the HTTP
// server's RegisterOnShutdown).
func (c *Console) Shutdown() {
	c.liveOnce.Do(c.initLive)
	c.streamStop()
}

// ago formats how long before now t was, coarsely.
func ago(now, t time.Time) string {
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String()
}
