package console

import (
	"net/http"
	"time"
)

// mountCluster serves the Cluster page (docs/console.md §8).
func mountCluster(c *Console, m pageMux) {
	m.Handle("GET "+Prefix+"cluster", c.clusterPage)
	m.Handle("GET "+Prefix+"api/cluster", func(w http.ResponseWriter, r *http.Request, s *Session) {
		writeJSON(w, http.StatusOK, c.cluster())
	})
}

type clusterData struct {
	Cluster
	Known bool
	Now   time.Time
}

func (c *Console) cluster() Cluster {
	if c.cfg.Live.Cluster == nil {
		return Cluster{}
	}
	return c.cfg.Live.Cluster()
}

// clusterPage lists the live lambada nodes sharing this storage and the
// storage's state, as /health reports them.
func (c *Console) clusterPage(w http.ResponseWriter, r *http.Request, s *Session) {
	d := clusterData{Cluster: c.cluster(), Known: c.cfg.Live.Cluster != nil, Now: c.cfg.Now()}
	c.render(w, r, s, "cluster.html", "", http.StatusOK, d)
}
