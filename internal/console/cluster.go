package console

import "net/http"

// mountCluster serves the Cluster page (docs/console.md §3).
func mountCluster(c *Console, m pageMux) {
	m.Handle("GET "+Prefix+"cluster", func(w http.ResponseWriter, r *http.Request, s *Session) {
		c.render(w, r, s, "pending.html", "", http.StatusOK, "Cluster")
	})
}
