package server

import (
	"github.com/lambada-dev/lambada/internal/async"
	webconsole "github.com/lambada-dev/lambada/internal/console"
)

// Async is the server's async service (the console's Async page reads
// its queue and records and redrives failed events through it).
func (s *Server) Async() *async.Service { return s.async }

// consoleLive feeds the console's live pages: the log store for the
// tail, and the cluster as /health describes it.
func (s *Server) consoleLive() webconsole.Live {
	return webconsole.Live{Logs: s.logs, Cluster: s.consoleCluster}
}

func (s *Server) consoleCluster() webconsole.Cluster {
	c := webconsole.Cluster{Status: "ok", Storage: s.storageMode(), Replicas: s.replicas, Nodes: s.liveNodes()}
	if s.members != nil {
		c.Self = s.members.ID()
	}
	switch {
	case !s.ready.Load():
		c.Status = "starting"
	case !s.node.Available():
		c.Status, c.Storage = "degraded", "unavailable"
	}
	return c
}
